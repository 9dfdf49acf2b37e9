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
    MESSAGE_TYPE_GROUP_CHANGED: _ClassVar[MessageType]
    MESSAGE_TYPE_GROUP_KEY: _ClassVar[MessageType]

class Encryption(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENCRYPTION_UNSPECIFIED: _ClassVar[Encryption]
    ENCRYPTION_PLAINTEXT: _ClassVar[Encryption]
    ENCRYPTION_E2E: _ClassVar[Encryption]

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
MESSAGE_TYPE_GROUP_CHANGED: MessageType
MESSAGE_TYPE_GROUP_KEY: MessageType
ENCRYPTION_UNSPECIFIED: Encryption
ENCRYPTION_PLAINTEXT: Encryption
ENCRYPTION_E2E: Encryption
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
    __slots__ = ("user", "others", "max_message_bytes", "chat_requests", "online", "groups")
    USER_FIELD_NUMBER: _ClassVar[int]
    OTHERS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHAT_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    user: str
    others: _containers.RepeatedScalarFieldContainer[str]
    max_message_bytes: int
    chat_requests: _containers.RepeatedScalarFieldContainer[str]
    online: _containers.RepeatedScalarFieldContainer[str]
    groups: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user: _Optional[str] = ..., others: _Optional[_Iterable[str]] = ..., max_message_bytes: _Optional[int] = ..., chat_requests: _Optional[_Iterable[str]] = ..., online: _Optional[_Iterable[str]] = ..., groups: _Optional[_Iterable[str]] = ...) -> None: ...

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
    __slots__ = ("user", "receiver", "payload", "encryption", "client_msg_id", "group")
    USER_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    user: str
    receiver: str
    payload: bytes
    encryption: Encryption
    client_msg_id: str
    group: str
    def __init__(self, user: _Optional[str] = ..., receiver: _Optional[str] = ..., payload: _Optional[bytes] = ..., encryption: _Optional[_Union[Encryption, str]] = ..., client_msg_id: _Optional[str] = ..., group: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("user", "peer", "before_seq", "page_size", "group")
    USER_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_SEQ_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    user: str
    peer: str
    before_seq: int
    page_size: int
    group: str
    def __init__(self, user: _Optional[str] = ..., peer: _Optional[str] = ..., before_seq: _Optional[int] = ..., page_size: _Optional[int] = ..., group: _Optional[str] = ...) -> None: ...

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

class GetKeysRequest(_message.Message):
    __slots__ = ("user", "peers")
    USER_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    user: str
    peers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user: _Optional[str] = ..., peers: _Optional[_Iterable[str]] = ...) -> None: ...

class GetKeysResponse(_message.Message):
    __slots__ = ("keys",)
    class KeysEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.ScalarMap[str, bytes]
    def __init__(self, keys: _Optional[_Mapping[str, bytes]] = ...) -> None: ...

class GetKeyResponse(_message.Message):
    __slots__ = ("public_key",)
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    public_key: bytes
    def __init__(self, public_key: _Optional[bytes] = ...) -> None: ...

class Group(_message.Message):
    __slots__ = ("name", "members", "configured")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    name: str
    members: _containers.RepeatedScalarFieldContainer[str]
    configured: bool
    def __init__(self, name: _Optional[str] = ..., members: _Optional[_Iterable[str]] = ..., configured: _Optional[bool] = ...) -> None: ...

class CreateGroupRequest(_message.Message):
    __slots__ = ("user", "group", "members")
    USER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    user: str
    group: str
    members: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user: _Optional[str] = ..., group: _Optional[str] = ..., members: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class AddMemberRequest(_message.Message):
    __slots__ = ("user", "group", "member")
    USER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    user: str
    group: str
    member: str
    def __init__(self, user: _Optional[str] = ..., group: _Optional[str] = ..., member: _Optional[str] = ...) -> None: ...

class AddMemberResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class LeaveGroupRequest(_message.Message):
    __slots__ = ("user", "group")
    USER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    user: str
    group: str
    def __init__(self, user: _Optional[str] = ..., group: _Optional[str] = ...) -> None: ...

class LeaveGroupResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListGroupsRequest(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: str
    def __init__(self, user: _Optional[str] = ...) -> None: ...

class ListGroupsResponse(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[Group]
    def __init__(self, groups: _Optional[_Iterable[_Union[Group, _Mapping]]] = ...) -> None: ...

class GetGroupRequest(_message.Message):
    __slots__ = ("user", "group")
    USER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    user: str
    group: str
    def __init__(self, user: _Optional[str] = ..., group: _Optional[str] = ...) -> None: ...

class GetGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class ShareGroupKeyRequest(_message.Message):
    __slots__ = ("user", "group", "keys")
    USER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    user: str
    group: str
    keys: _containers.RepeatedCompositeFieldContainer[SealedKey]
    def __init__(self, user: _Optional[str] = ..., group: _Optional[str] = ..., keys: _Optional[_Iterable[_Union[SealedKey, _Mapping]]] = ...) -> None: ...

class SealedKey(_message.Message):
    __slots__ = ("receiver", "payload", "encryption", "client_msg_id")
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    receiver: str
    payload: bytes
    encryption: Encryption
    client_msg_id: str
    def __init__(self, receiver: _Optional[str] = ..., payload: _Optional[bytes] = ..., encryption: _Optional[_Union[Encryption, str]] = ..., client_msg_id: _Optional[str] = ...) -> None: ...

class ShareGroupKeyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ChallengeRequest(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: str
    def __init__(self, user: _Optional[str] = ...) -> None: ...

class ChallengeResponse(_message.Message):
    __slots__ = ("challenge",)
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    challenge: bytes
    def __init__(self, challenge: _Optional[bytes] = ...) -> None: ...

class AuthenticateRequest(_message.Message):
    __slots__ = ("user", "challenge", "public_key", "signature")
    USER_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    user: str
    challenge: bytes
    public_key: bytes
    signature: bytes
    def __init__(self, user: _Optional[str] = ..., challenge: _Optional[bytes] = ..., public_key: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class AuthenticateResponse(_message.Message):
    __slots__ = ("token", "expire_time")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    token: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, token: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
