"""Exceptions raised by the handoff client.

Every error the client raises is a HandoffError; the HTTP transport maps
the server's status codes to the subclasses below and keeps the server's
``detail`` message (the same message the command line prints for that bad
input). A wait that ends before the task does raises WaitTimeoutError, a
subclass of the built-in TimeoutError: the task keeps running.
"""

from typing import Optional


class HandoffError(Exception):
    """A call to handoff failed. ``detail`` says what was wrong and what to do."""

    def __init__(self, detail: str, *, status: Optional[int] = None, task_id: Optional[str] = None):
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.task_id = task_id


class InvalidRequestError(HandoffError, ValueError):
    """The request was refused (HTTP 400 or 422, CLI exit 2): nothing was created."""


class AuthenticationError(HandoffError):
    """The token is missing or wrong (HTTP 401)."""


class PermissionDeniedError(HandoffError):
    """The token's scope lacks what the call needs (HTTP 403)."""


class NotFoundError(HandoffError, LookupError):
    """No task has this ID, or the short ID is not unique (HTTP 404)."""


class ConflictError(HandoffError):
    """The idempotency key was used before with another request (HTTP 409)."""


class PayloadTooLargeError(HandoffError):
    """The snapshot or a file is over the server's limits (HTTP 413)."""


class RateLimitedError(HandoffError):
    """The server kept answering 429 until the call's deadline."""


class UnavailableError(HandoffError):
    """The server could not be reached (or answered 502/503/504) until the call's deadline."""


class WaitTimeoutError(HandoffError, TimeoutError):
    """The wait ended before the task did; the task keeps running.

    A subclass of the built-in TimeoutError, so ``except TimeoutError`` catches it.
    """


_BY_STATUS = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: InvalidRequestError,
    429: RateLimitedError,
    502: UnavailableError,
    503: UnavailableError,
    504: UnavailableError,
}


def error_for_status(status: int, detail: str, task_id: Optional[str] = None) -> HandoffError:
    """The exception for an HTTP error status carrying the server's detail."""
    return _BY_STATUS.get(status, HandoffError)(detail, status=status, task_id=task_id)
