"""The SDK's exceptions. Raised only from reads, from ``strict=True`` clients, and from misuse."""

from __future__ import annotations


class MetronisError(Exception):
    """A failed call to Metronis: the HTTP status (None for a network error), the API's error code
    (``invalid_body``, ``rate_limited``, ``network_error``, ...) and the request id to quote."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "error", request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        where = f" (HTTP {self.status}, {self.code}" + (f", request {self.request_id}" if self.request_id else "") + ")" if self.status else f" ({self.code})"
        return f"{self.message}{where}"


class NotAvailableError(MetronisError):
    """The server does not offer this API (an older Metronis): the message names what is missing."""
