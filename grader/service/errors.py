"""ServiceError: a request the service refuses, with the HTTP status and a message a person can act on."""

from __future__ import annotations


class ServiceError(Exception):
    """Raised by the service layer; the API turns it into ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, **detail: object) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


def not_found(what: str, key: object) -> ServiceError:
    return ServiceError(404, f"no {what} {key!r}")
