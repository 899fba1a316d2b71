"""Typed errors raised by every remote-store operation.

Every exception a `Store` raises is a `RemoteStoreError`. Backend-native
exceptions (``botocore.exceptions.ClientError``, ``paramiko.SSHException``,
``OSError`` …) are translated at one boundary and chained as ``__cause__``,
so callers can catch the portable class and still inspect the original.

Messages name the store-relative path and the backend type; they never
contain credentials.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "BackendUnavailable",
    "CapabilityNotSupported",
    "ConfigError",
    "ConfigKeyError",
    "ContentChanged",
    "DirectoryNotEmpty",
    "InvalidPath",
    "NotFound",
    "PermissionDenied",
    "RemoteStoreError",
]


class RemoteStoreError(Exception):
    """Base class of every error raised by remote-store.

    Args:
        message: Human-readable explanation (never contains secrets).
        path: The store-relative path the operation was about, if any.
        backend: The backend type name (``"local"``, ``"s3"`` …), if known.
    """

    def __init__(self, message: str = "", *, path: str | None = None, backend: str | None = None) -> None:
        self.message = message
        self.path = path
        self.backend = backend
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.message or type(self).__name__]
        if self.path is not None and repr(self.path) not in self.message:
            parts.append(f"path={self.path!r}")
        if self.backend is not None:
            parts.append(f"backend={self.backend}")
        return " ".join([parts[0]] + ([f"({', '.join(parts[1:])})"] if len(parts) > 1 else []))

    def __repr__(self) -> str:
        fields = [repr(self.message)]
        fields += [f"{name}={value!r}" for name, value in self._fields() if value is not None]
        return f"{type(self).__name__}({', '.join(fields)})"

    def _fields(self) -> list[tuple[str, str | None]]:
        return [("path", self.path), ("backend", self.backend)]

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self.path, self.backend))


def _rebuild(cls: type[RemoteStoreError], message: str, path: str | None, backend: str | None) -> RemoteStoreError:
    return cls(message, path=path, backend=backend)


class ContentChanged(RemoteStoreError):
    """The file was replaced while it was being read, after some of its bytes had been delivered.

    A read that has delivered no byte yet restarts on the new version instead; this error
    means the caller holds bytes of one version and the rest belongs to another (S3
    ``IfMatch`` → 412, Azure ``If-Match`` → 412, a changed size or modification time on
    SFTP). sql-blob never raises it: its readers see one version. Retry the whole read.
    """


class NotFound(RemoteStoreError):
    """The file or folder does not exist (S3 ``NoSuchKey``, HTTP 404, ``ENOENT``)."""


class AlreadyExists(RemoteStoreError):
    """The target exists and ``overwrite=False`` was given (HTTP 412 on a conditional create)."""


class InvalidPath(RemoteStoreError, ValueError):
    """The path is malformed (``..``, NUL, empty where a file is needed, escapes the root)
    or names the wrong kind of node (a folder where a file is expected, or a file used as a folder)."""


class PermissionDenied(RemoteStoreError):
    """The credentials lack access rights (HTTP 403, ``EACCES``, SFTP permission denied)."""


class DirectoryNotEmpty(RemoteStoreError):
    """A folder holds entries and the operation needs it empty (``delete_folder(recursive=False)``)."""


class CapabilityNotSupported(RemoteStoreError):
    """The backend does not declare the capability the call needs; raised before any I/O.

    Attributes:
        capability: Name of the missing `Capability` member, e.g. ``"GLOB"``.
    """

    def __init__(
        self,
        message: str = "",
        *,
        path: str | None = None,
        backend: str | None = None,
        capability: str | None = None,
    ) -> None:
        self.capability = capability
        super().__init__(message, path=path, backend=backend)

    def __str__(self) -> str:
        text = super().__str__()
        if self.capability is None or self.capability in self.message:
            return text
        return f"{text} [capability={self.capability}]"

    def _fields(self) -> list[tuple[str, str | None]]:
        return [("capability", self.capability), *super()._fields()]

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_cap, (self.message, self.path, self.backend, self.capability))


def _rebuild_cap(message: str, path: str | None, backend: str | None, capability: str | None) -> CapabilityNotSupported:
    return CapabilityNotSupported(message, path=path, backend=backend, capability=capability)


class BackendUnavailable(RemoteStoreError):
    """The backend cannot be reached or failed after its retries
    (connection refused, timeout, throttling, HTTP 5xx, authentication failure)."""


class ConfigError(RemoteStoreError, ValueError):
    """Configuration is invalid: unknown backend type, bad option, missing environment variable.

    The message names the file and key path where known, e.g. ``backends.main.options.bucket``.
    """


class ConfigKeyError(ConfigError, KeyError):
    """A name the configuration does not define: an unknown store or backend name, or an
    unset ``${VAR}`` placeholder without a default.

    It is both a `ConfigError` and a ``KeyError``, so code written for APIs that raise
    ``KeyError`` for an unknown name (``registry.store("missing")``) keeps working. ``str()``
    is the readable message, not ``KeyError``'s quoted key.
    """
