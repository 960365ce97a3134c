"""The one error hierarchy of Lydiard.

Every failure that Lydiard reports on purpose is a :class:`LydiardError`. Errors
carry their context as attributes (the file, the byte offset, the athlete, the
field), so that each interface can render them its own way. HTTP status codes
are assigned in exactly one place: ``lydiard.interfaces.http.errors``.

::

    LydiardError
     +-- IngestError                  a source could not be read       (source)
     |    +-- UnsupportedFormatError  not a format Lydiard reads
     |    +-- CorruptFileError        the bytes are damaged            (offset, reason)
     |    |    +-- TruncatedFileError the file ends too early
     |    |    +-- ChecksumError      a CRC does not match
     |    +-- UnsafeInputError        a bomb, traversal, external entity, too large
     |    +-- EmptyFileError          zero bytes / no usable data
     +-- InvalidInputError (ValueError)   a value is out of range or malformed (field)
     +-- NotFoundError                an athlete, activity, plan... does not exist
     +-- ConflictError                the change conflicts with stored state
     +-- PermissionDeniedError        the caller may not see or change this
     +-- AuthenticationError          no valid login / token
     +-- RateLimitedError             too many attempts            (retry_after_s)
     +-- WorkStoppedError             a request's time budget spent or its client gone
     +-- StorageUnavailableError      the database cannot be reached (retry_after_s)
     +-- NotFittedError (ValueError, AttributeError)  a model used before fit()
     +-- InsufficientDataError        not enough data for the computation
"""

from __future__ import annotations

from typing import Any


class LydiardError(Exception):
    """Root of every error Lydiard raises on purpose."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message  #: human-readable explanation
        self.context: dict[str, Any] = dict(context)  #: structured context (file, field...)

    def __str__(self) -> str:
        return self.message


class IngestError(LydiardError):
    """A source (file, archive, export) could not be read."""

    def __init__(self, source: str, reason: str, *, offset: int | None = None, **context: Any) -> None:
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{source}: {reason}{where}", source=source, offset=offset, **context)
        self.source = source  #: path or name of the offending file
        self.reason = reason  #: what is wrong, in plain words
        self.offset = offset  #: byte offset where the problem was found, when known


class UnsupportedFormatError(IngestError):
    """The file is not in a format Lydiard reads."""


class CorruptFileError(IngestError):
    """The file is damaged: its structure cannot be decoded."""


class TruncatedFileError(CorruptFileError):
    """The file ends before its declared size."""


class ChecksumError(CorruptFileError):
    """A CRC or checksum does not match the data."""


class UnsafeInputError(IngestError):
    """The input is refused for safety: too large, a bomb, path traversal, external entities."""


class EmptyFileError(IngestError):
    """The file holds zero bytes or no usable data."""


class InvalidInputError(LydiardError, ValueError):
    """A value is out of range or malformed."""

    def __init__(self, message: str, *, field: str | None = None, **context: Any) -> None:
        super().__init__(message, field=field, **context)
        self.field = field  #: name of the offending field, when there is one


class NotFoundError(LydiardError):
    """The requested object does not exist (or is not visible to the caller)."""


class ConflictError(LydiardError):
    """The change conflicts with stored state."""


class PermissionDeniedError(LydiardError):
    """The caller is authenticated but may not see or change this."""


class AuthenticationError(LydiardError):
    """No valid login session or API token."""


class RateLimitedError(LydiardError):
    """Too many attempts; try again later."""

    def __init__(self, message: str, *, retry_after_s: int, **context: Any) -> None:
        super().__init__(message, retry_after_s=retry_after_s, **context)
        self.retry_after_s = retry_after_s


class WorkStoppedError(LydiardError):
    """Work for one request was stopped: its time budget is spent or its client went away."""


class StorageUnavailableError(LydiardError):
    """The database cannot be reached right now."""

    def __init__(self, message: str, *, retry_after_s: int = 5, **context: Any) -> None:
        super().__init__(message, retry_after_s=retry_after_s, **context)
        self.retry_after_s = retry_after_s


class NotFittedError(LydiardError, ValueError, AttributeError):
    """A model was used before ``fit``."""


class InsufficientDataError(LydiardError):
    """There is not enough data for the requested computation."""
