import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from spartan.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MessageType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_TYPE_UNSPECIFIED: _ClassVar[MessageType]
    MESSAGE_TYPE_TEXT: _ClassVar[MessageType]
    MESSAGE_TYPE_CHAT_REQUEST: _ClassVar[MessageType]
    MESSAGE_TYPE_CHAT_ACCEPTED: _ClassVar[MessageType]
    MESSAGE_TYPE_CHAT_DECLINED: _ClassVar[MessageType]
    MESSAGE_TYPE_SYSTEM: _ClassVar[MessageType]
    MESSAGE_TYPE_PRESENCE: _ClassVar[MessageType]
    MESSAGE_TYPE_KEY_PUBLISHED: _ClassVar[MessageType]

class Encryption(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENCRYPTION_UNSPECIFIED: _ClassVar[Encryption]
    ENCRYPTION_PLAINTEXT: _ClassVar[Encryption]

class ConversationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSATION_STATE_UNSPECIFIED: _ClassVar[ConversationState]
    CONVERSATION_STATE_REQUESTED: _ClassVar[ConversationState]
    CONVERSATION_STATE_ACCEPTED: _ClassVar[ConversationState]
    CONVERSATION_STATE_DECLINED: _ClassVar[ConversationState]
MESSAGE_TYPE_UNSPECIFIED: MessageType
MESSAGE_TYPE_TEXT: MessageType
MESSAGE_TYPE_CHAT_REQUEST: MessageType
MESSAGE_TYPE_CHAT_ACCEPTED: MessageType
MESSAGE_TYPE_CHAT_DECLINED: MessageType
MESSAGE_TYPE_SYSTEM: MessageType
MESSAGE_TYPE_PRESENCE: MessageType
MESSAGE_TYPE_KEY_PUBLISHED: MessageType
ENCRYPTION_UNSPECIFIED: Encryption
ENCRYPTION_PLAINTEXT: Encryption
CONVERSATION_STATE_UNSPECIFIED: ConversationState
CONVERSATION_STATE_REQUESTED: ConversationState
CONVERSATION_STATE_ACCEPTED: ConversationState
CONVERSATION_STATE_DECLINED: ConversationState

class Message(_message.Message):
    __slots__ = ("id", "seq", "type", "sender", "receiver", "group", "sent_time", "payload", "encryption", "note", "online", "epoch", "client_msg_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    SENT_TIME_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    seq: int
    type: MessageType
    sender: str
    receiver: str
    group: str
    sent_time: _timestamp_pb2.Timestamp
    payload: bytes
    encryption: Encryption
    note: str
    online: bool
    epoch: str
    client_msg_id: str
    def __init__(self, id: _Optional[str] = ..., seq: _Optional[int] = ..., type: _Optional[_Union[MessageType, str]] = ..., sender: _Optional[str] = ..., receiver: _Optional[str] = ..., group: _Optional[str] = ..., sent_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payload: _Optional[bytes] = ..., encryption: _Optional[_Union[Encryption, str]] = ..., note: _Optional[str] = ..., online: _Optional[bool] = ..., epoch: _Optional[str] = ..., client_msg_id: _Optional[str] = ...) -> None: ...

class LoginRequest(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: str
    def __init__(self, user: _Optional[str] = ...) -> None: ...

class LoginResponse(_message.Message):
    __slots__ = ("user", "others", "max_message_bytes", "chat_requests", "online")
    USER_FIELD_NUMBER: _ClassVar[int]
    OTHERS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHAT_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    user: str
    others: _containers.RepeatedScalarFieldContainer[str]
    max_message_bytes: int
    chat_requests: _containers.RepeatedScalarFieldContainer[str]
    online: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user: _Optional[str] = ..., others: _Optional[_Iterable[str]] = ..., max_message_bytes: _Optional[int] = ..., chat_requests: _Optional[_Iterable[str]] = ..., online: _Optional[_Iterable[str]] = ...) -> None: ...

class ListUsersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListUsersResponse(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, users: _Optional[_Iterable[str]] = ...) -> None: ...

class RequestChatRequest(_message.Message):
    __slots__ = ("user", "peer")
    USER_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    user: str
    peer: str
    def __init__(self, user: _Optional[str] = ..., peer: _Optional[str] = ...) -> None: ...

class RequestChatResponse(_message.Message):
    __slots__ = ("state", "peer_online")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PEER_ONLINE_FIELD_NUMBER: _ClassVar[int]
    state: ConversationState
    peer_online: bool
    def __init__(self, state: _Optional[_Union[ConversationState, str]] = ..., peer_online: _Optional[bool] = ...) -> None: ...

class AnswerChatRequest(_message.Message):
    __slots__ = ("user", "peer", "accept")
    USER_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_FIELD_NUMBER: _ClassVar[int]
    user: str
    peer: str
    accept: bool
    def __init__(self, user: _Optional[str] = ..., peer: _Optional[str] = ..., accept: _Optional[bool] = ...) -> None: ...

class AnswerChatResponse(_message.Message):
    __slots__ = ("state", "released")
    STATE_FIELD_NUMBER: _ClassVar[int]
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    state: ConversationState
    released: int
    def __init__(self, state: _Optional[_Union[ConversationState, str]] = ..., released: _Optional[int] = ...) -> None: ...

class SendMsgRequest(_message.Message):
    __slots__ = ("user", "receiver", "payload", "encryption", "client_msg_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    user: str
    receiver: str
    payload: bytes
    encryption: Encryption
    client_msg_id: str
    def __init__(self, user: _Optional[str] = ..., receiver: _Optional[str] = ..., payload: _Optional[bytes] = ..., encryption: _Optional[_Union[Encryption, str]] = ..., client_msg_id: _Optional[str] = ...) -> None: ...

class SendMsgResponse(_message.Message):
    __slots__ = ("id", "sent_time", "pending")
    ID_FIELD_NUMBER: _ClassVar[int]
    SENT_TIME_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    id: str
    sent_time: _timestamp_pb2.Timestamp
    pending: bool
    def __init__(self, id: _Optional[str] = ..., sent_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pending: _Optional[bool] = ...) -> None: ...

class AckRequest(_message.Message):
    __slots__ = ("user", "seq", "epoch")
    USER_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    user: str
    seq: int
    epoch: str
    def __init__(self, user: _Optional[str] = ..., seq: _Optional[int] = ..., epoch: _Optional[str] = ...) -> None: ...

class AckResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HistoryRequest(_message.Message):
    __slots__ = ("user", "peer", "before_seq", "page_size")
    USER_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_SEQ_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    user: str
    peer: str
    before_seq: int
    page_size: int
    def __init__(self, user: _Optional[str] = ..., peer: _Optional[str] = ..., before_seq: _Optional[int] = ..., page_size: _Optional[int] = ...) -> None: ...

class HistoryResponse(_message.Message):
    __slots__ = ("messages", "next_before_seq")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_BEFORE_SEQ_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    next_before_seq: int
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., next_before_seq: _Optional[int] = ...) -> None: ...

class PublishKeyRequest(_message.Message):
    __slots__ = ("user", "public_key")
    USER_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    user: str
    public_key: bytes
    def __init__(self, user: _Optional[str] = ..., public_key: _Optional[bytes] = ...) -> None: ...

class PublishKeyResponse(_message.Message):
    __slots__ = ("changed",)
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    changed: bool
    def __init__(self, changed: _Optional[bool] = ...) -> None: ...

class GetKeyRequest(_message.Message):
    __slots__ = ("user", "peer")
    USER_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    user: str
    peer: str
    def __init__(self, user: _Optional[str] = ..., peer: _Optional[str] = ...) -> None: ...

class GetKeyResponse(_message.Message):
    __slots__ = ("public_key",)
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    public_key: bytes
    def __init__(self, public_key: _Optional[bytes] = ...) -> None: ...
