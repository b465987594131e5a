"""Typed refusals of the service layer, each with the HTTP status one handler answers it with."""

from __future__ import annotations

from typing import ClassVar


class ServiceError(Exception):
    """A request the service refuses, with a message a person can act on.

    Raise one of the subclasses below: the type says what went wrong, and its ``status`` is the HTTP status
    the application's one error handler (``grader.errors``) answers with. ``detail`` adds fields to the JSON
    error.
    """

    status: ClassVar[int] = 400

    def __init__(self, message: str, **detail: object) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class Invalid(ServiceError):
    """The request itself is wrong (a bad file, a malformed form, an unknown name in a field)."""

    status = 400


class Unauthenticated(ServiceError):
    """No credentials, or ones that are malformed, unknown or expired."""

    status = 401


class Forbidden(ServiceError):
    """The caller is known but may not do this."""

    status = 403


class NotFound(ServiceError):
    """The thing asked for does not exist (or is not the caller's to see)."""

    status = 404


class UnknownUser(NotFound):
    """No account with the email a form or body named (a problem with a field, not a missing page)."""


class Conflict(ServiceError):
    """The request clashes with the current state (already exists, not released yet, still running)."""

    status = 409


class PayloadTooLarge(ServiceError):
    """The body is over its cap (recorded as a refused upload; the answer comes from the body guard)."""

    status = 413


class UnsupportedMedia(ServiceError):
    """The body is not of the content type the route takes."""

    status = 415


class Unprocessable(ServiceError):
    """Well-formed but refused on its values (a number out of range, a gate that failed, invalid settings)."""

    status = 422


class RateLimited(ServiceError):
    """Too many requests; ``retry_after_s`` in ``detail`` says when to try again."""

    status = 429


def not_found(what: str, key: object) -> NotFound:
    return NotFound(f"no {what} {key!r}")
