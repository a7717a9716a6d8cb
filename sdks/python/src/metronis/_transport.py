"""HTTP to the Metronis API with the SDK's retry rules, sync and async.

Retried: 429, 5xx and network errors (connection refused, timeouts), with exponential backoff and
full jitter, waiting what ``Retry-After`` says when the server sends it. Never retried: any other
4xx (the request itself is wrong; sending it again cannot help). Idempotency comes from trace ids
that the client generates before the first attempt, so a retried write replaces instead of doubling.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

import httpx

from ._errors import MetronisError

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
USER_AGENT = "metronis-python/0.1.0"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. ``max_retries`` retries after the first attempt."""

    max_retries: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    #: Never wait longer than this for one Retry-After, whatever the server says.
    max_retry_after: float = 60.0

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: a random wait in [0, min(max, initial * 2^attempt)]."""
        return rng() * min(self.max_backoff, self.initial_backoff * (2**attempt))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date. None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _wait_for(policy: RetryPolicy, attempt: int, response: httpx.Response | None) -> float:
    hinted = retry_after_seconds(response.headers.get("retry-after")) if response is not None else None
    if hinted is not None:
        return min(hinted, policy.max_retry_after)
    return policy.backoff(attempt)


def error_from(response: httpx.Response) -> MetronisError:
    """The API's error envelope as a MetronisError (status, code, message, request id)."""
    code = "http_error"
    message = response.reason_phrase or "error"
    request_id = response.headers.get("x-request-id")
    try:
        body = response.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code = str(error.get("code", code))
        message = str(error.get("message", message))
        request_id = error.get("request_id", request_id)
    except ValueError:
        pass
    return MetronisError(message, status=response.status_code, code=code, request_id=request_id)


def _network_error(err: Exception) -> MetronisError:
    return MetronisError(f"could not reach Metronis: {err}", status=None, code="network_error")


class SyncTransport:
    """One httpx.Client with the retry policy. Thread-safe (httpx.Client is)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float,
        policy: RetryPolicy,
        sleep: Callable[[float], object] = time.sleep,
        deadline: Callable[[], float | None] = lambda: None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT},
        )
        self.policy = policy
        self._sleep = sleep
        self._deadline = deadline
        self.closed = False

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Any = None,
    ) -> httpx.Response:
        """The first non-retryable answer (any 2xx-4xx but 408/429), or raises MetronisError when
        retries run out or the next wait would pass the deadline (set while shutting down)."""
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                if content is not None:
                    response = self._client.request(method, path, content=content, params=params, headers={"Content-Type": "application/json"})
                else:
                    response = self._client.request(method, path, json=json, params=params)
                if response.status_code not in RETRYABLE_STATUS:
                    return response
                failure = error_from(response)
            except httpx.HTTPError as err:
                failure = _network_error(err)
            wait = _wait_for(self.policy, attempt, response)
            deadline = self._deadline()
            if attempt >= self.policy.max_retries or self.closed or (deadline is not None and time.monotonic() + wait > deadline):
                raise failure
            self._sleep(wait)
            attempt += 1

    def close(self) -> None:
        self.closed = True
        self._client.close()


class AsyncTransport:
    """The same rules on httpx.AsyncClient, for AsyncMetronis's reads and unbatched writes."""

    def __init__(self, base_url: str, api_key: str, timeout: float, policy: RetryPolicy) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT},
        )
        self.policy = policy

    async def request(self, method: str, path: str, *, content: bytes | None = None, params: Any = None) -> httpx.Response:
        attempt = 0
        headers = {"Content-Type": "application/json"} if content is not None else None
        while True:
            response: httpx.Response | None = None
            try:
                response = await self._client.request(method, path, content=content, params=params, headers=headers)
                if response.status_code not in RETRYABLE_STATUS:
                    return response
                failure = error_from(response)
            except httpx.HTTPError as err:
                failure = _network_error(err)
            if attempt >= self.policy.max_retries:
                raise failure
            await asyncio.sleep(_wait_for(self.policy, attempt, response))
            attempt += 1

    async def close(self) -> None:
        await self._client.aclose()
