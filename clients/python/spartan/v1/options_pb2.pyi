from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CacheScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CACHE_SCOPE_UNSPECIFIED: _ClassVar[CacheScope]
    CACHE_SCOPE_CALLER: _ClassVar[CacheScope]
    CACHE_SCOPE_STATIC: _ClassVar[CacheScope]
CACHE_SCOPE_UNSPECIFIED: CacheScope
CACHE_SCOPE_CALLER: CacheScope
CACHE_SCOPE_STATIC: CacheScope
CACHE_FIELD_NUMBER: _ClassVar[int]
cache: _descriptor.FieldDescriptor
RATE_FIELD_NUMBER: _ClassVar[int]
rate: _descriptor.FieldDescriptor

class CacheOptions(_message.Message):
    __slots__ = ("scope",)
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    scope: CacheScope
    def __init__(self, scope: _Optional[_Union[CacheScope, str]] = ...) -> None: ...

class RateOptions(_message.Message):
    __slots__ = ("exempt",)
    CLASS_FIELD_NUMBER: _ClassVar[int]
    EXEMPT_FIELD_NUMBER: _ClassVar[int]
    exempt: str
    def __init__(self, exempt: _Optional[str] = ..., **kwargs) -> None: ...
