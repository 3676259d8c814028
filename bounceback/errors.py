"""Errors that services raise when a request cannot be carried out.

Services never know about HTTP; the API and the web views translate these into
a 4xx answer with the machine code, the message and the field path.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base for expected failures: the caller asked for something we refuse."""

    code = "invalid"
    status = 422

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class ValidationFailed(ServiceError):
    code = "invalid"
    status = 422


class Conflict(ServiceError):
    """The request clashes with data already stored (a duplicate identity, say)."""

    code = "conflict"
    status = 409


class NotFound(ServiceError):
    code = "not_found"
    status = 404


class Forbidden(ServiceError):
    code = "forbidden"
    status = 403
