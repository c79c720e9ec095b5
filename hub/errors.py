"""One error tree for the whole hub.

Every error a user can cause is a :class:`HubError`. Each carries an HTTP status (whose fault it
was) and a process exit code, so the CLI prints one line and exits, and the server renders
``{"error": ...}`` with the right status, without either layer knowing the other.
"""

from __future__ import annotations


class HubError(Exception):
    """Base class for errors reported to the user as one clear line."""

    status: int = 400
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(HubError):
    """The caller passed something malformed: a bad file, sample, name or request."""

    status = 400
    exit_code = 2


class InvalidModelFile(InvalidInput):
    """A model file is corrupt, truncated, unsafe or not loadable by onnxruntime."""


class NotFound(HubError):
    """An unknown model, version, alias or family."""

    status = 404
    exit_code = 3


class Conflict(HubError):
    """The request clashes with the catalog's state (e.g. a name taken by another owner)."""

    status = 409
    exit_code = 4


class Unauthorized(HubError):
    """No credentials where some are needed, or a token that is unknown, revoked or expired."""

    status = 401
    exit_code = 9


class Forbidden(HubError):
    """The caller is known but lacks the scope or the role on a model it may see."""

    status = 403
    exit_code = 9


class UnsupportedMediaType(InvalidInput):
    """An upload in a format the server refuses (pickle, joblib: anything but ONNX)."""

    status = 415


class ParityFailed(HubError):
    """The ONNX export disagrees with the framework beyond tolerance."""

    status = 422
    exit_code = 5

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class ExportFailed(HubError):
    """A family could not turn a model into ONNX (unsupported layer, op or estimator)."""

    status = 422
    exit_code = 5


class ModelFault(HubError):
    """A catalogued model answers against its own signature (e.g. not one row per input row).

    The request was fine (HTTP 500: the model is at fault); the version must be republished.
    """

    status = 500
    exit_code = 5


class PluginError(HubError):
    """A plugin is broken, incompatible, duplicated, or raised inside a hook."""

    status = 500
    exit_code = 6


class FamilyUnavailable(HubError):
    """A family is installed but its framework is missing; the message carries the install hint."""

    status = 422
    exit_code = 6


class StorageError(HubError):
    """The database or artifact store cannot be written or read (permissions, corruption)."""

    status = 500
    exit_code = 7


class RequestTooLarge(InvalidInput):
    """A request body exceeds the configured limit."""

    status = 413


class Unavailable(HubError):
    """The server is overloaded or the model is not ready; retry later."""

    status = 503
    exit_code = 8

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type's name when it has none).

    Converters and onnxruntime raise multi-page messages; users get their first line.
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
