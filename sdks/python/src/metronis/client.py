"""``Metronis`` and ``AsyncMetronis``: send traces (batched in the background by default), read them back.

Telemetry must never break the application: unless ``strict=True``, recording a trace never raises
and never blocks; failures are logged on the ``metronis`` logger and counted in ``client.stats``.
Reads (``get_trace``, ``search``) are explicit calls and raise ``MetronisError`` when they fail.

Configuration: ``api_key`` or ``METRONIS_API_KEY``; ``base_url`` or ``METRONIS_BASE_URL`` (default
``http://127.0.0.1:7070``, what ``npm start`` serves). Without a key the client is disabled (it
logs one warning and records nothing), unless ``strict=True``, where that is an error.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as _dt
import json
import logging
import os
import threading
import time
import uuid
import weakref
from typing import Any, AsyncIterator, Iterator, Mapping, Sequence, Union

from ._batcher import Batcher, Counters
from ._context import current_context
from ._errors import MetronisError, NotAvailableError
from ._transport import AsyncTransport, RetryPolicy, SyncTransport, error_from

logger = logging.getLogger("metronis")

DEFAULT_BASE_URL = "http://127.0.0.1:7070"
#: The gateway's limits (its OpenAPI document): 1,000 traces and 10 MiB per batch, 1 MiB per trace.
GATEWAY_MAX_BATCH_ITEMS = 1000
GATEWAY_MAX_TRACE_BYTES = 1024 * 1024

Input = Union[str, Sequence[Mapping[str, str]], Mapping[str, Any]]
Output = Union[str, Mapping[str, Any]]
Timestamp = Union[_dt.datetime, int, float, str]


def new_trace_id() -> str:
    """A client-side trace id: retries of the same trace then replace it instead of adding one."""
    return uuid.uuid4().hex


def _timestamp(value: Timestamp) -> int | str:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return int(value.timestamp() * 1000)
    if isinstance(value, float):
        return int(value)
    return value


def build_trace(
    input: Input,
    output: Output,
    *,
    trace_id: str | None = None,
    model: str | Mapping[str, Any] | None = None,
    provider: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    usage: Mapping[str, Any] | None = None,
    latency_ms: float | None = None,
    timestamp: Timestamp | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Sequence[str] | None = None,
    context: Sequence[str | Mapping[str, Any]] | None = None,
    reference: str | None = None,
    expected_format: str | None = None,
    json_schema: Mapping[str, Any] | None = None,
    application: str | None = None,
    environment: str | None = None,
) -> dict[str, Any]:
    """The public trace body (the gateway's ``Trace`` schema), with the context's ids filled in."""
    ctx = current_context()
    body: dict[str, Any] = {"trace_id": trace_id or new_trace_id()}
    if isinstance(input, str):
        body["input"] = input
    elif isinstance(input, Mapping):
        body["input"] = {"messages": [dict(m) for m in input["messages"]]}
    else:
        body["input"] = {"messages": [{"role": str(m["role"]), "content": str(m["content"])} for m in input]}
    body["output"] = output if isinstance(output, str) else {k: v for k, v in output.items() if v is not None}
    model_info: dict[str, Any] = {}
    if isinstance(model, Mapping):
        model_info.update({k: v for k, v in model.items() if v is not None})
    elif model is not None:
        model_info["name"] = model
    if provider is not None:
        model_info["provider"] = provider
    if parameters:
        model_info["parameters"] = dict(parameters)
    if model_info:
        body["model"] = model_info
    if usage:
        body["usage"] = {k: v for k, v in usage.items() if v is not None}
    optional = {
        "latency_ms": latency_ms,
        "timestamp": None if timestamp is None else _timestamp(timestamp),
        "session_id": session_id or ctx.session_id,
        "user_id": user_id or ctx.user_id,
        "reference": reference,
        "expected_format": expected_format,
        "json_schema": dict(json_schema) if json_schema is not None else None,
        "application": application,
        "environment": environment,
        "context": [c if isinstance(c, str) else dict(c) for c in context] if context else None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    merged_meta = {**ctx.metadata, **(metadata or {})}
    if merged_meta:
        body["metadata"] = {str(k): v if isinstance(v, str) else json.dumps(v, default=str) for k, v in merged_meta.items()}
    merged_tags = list(ctx.tags) + [t for t in (tags or ()) if t not in ctx.tags]
    if merged_tags:
        body["tags"] = merged_tags
    return body


class _Base:
    """What both clients share: configuration, the batcher, counters and the default-client registry."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        *,
        batch: bool,
        strict: bool,
        timeout: float,
        max_retries: int,
        max_queue_size: int,
        max_queue_bytes: int,
        max_batch_size: int,
        max_batch_bytes: int,
        flush_interval: float,
        max_item_bytes: int,
        flush_at_exit_timeout: float,
        application: str | None,
        environment: str | None,
        retry_policy: RetryPolicy | None,
        default: bool,
    ) -> None:
        self.api_key = api_key if api_key is not None else os.environ.get("METRONIS_API_KEY")
        self.base_url = (base_url or os.environ.get("METRONIS_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.strict = strict
        self.application = application
        self.environment = environment
        self.max_item_bytes = min(max_item_bytes, GATEWAY_MAX_TRACE_BYTES)
        self.timeout = timeout
        self.flush_at_exit_timeout = flush_at_exit_timeout
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self.counters = Counters()
        self._errors: list[MetronisError] = []
        self._lock = threading.Lock()
        self.enabled = bool(self.api_key)
        if not self.enabled:
            if strict:
                raise MetronisError("no API key: pass api_key= or set METRONIS_API_KEY", code="missing_api_key")
            logger.warning("metronis: no API key (api_key= or METRONIS_API_KEY); traces will not be sent")
        # Retry waits end early when shutdown starts, so an exit never waits out a long backoff.
        self._wake = threading.Event()
        self._deadline: float | None = None
        self._sync = (
            SyncTransport(self.base_url, self.api_key or "", timeout, self.retry_policy, sleep=self._wake.wait, deadline=lambda: self._deadline)
            if self.enabled
            else None
        )
        self._batcher: Batcher | None = None
        if self.enabled and batch:
            self._batcher = Batcher(
                self._send_batch,
                max_queue_size=max_queue_size,
                max_queue_bytes=max_queue_bytes,
                max_batch_size=min(max_batch_size, GATEWAY_MAX_BATCH_ITEMS),
                max_batch_bytes=max_batch_bytes,
                flush_interval=flush_interval,
                counters=self.counters,
            )
            _register_exit(self)
        if default:
            set_default_client(self)

    # ----- recording -----

    def _serialize(self, body: dict[str, Any]) -> bytes | None:
        if self.application is not None:
            body.setdefault("application", self.application)
        if self.environment is not None:
            body.setdefault("environment", self.environment)
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
        if len(data) > self.max_item_bytes:
            with self._lock:
                self.counters.dropped_oversize += 1
            message = f"trace {body.get('trace_id')} is {len(data)} bytes, over the limit of {self.max_item_bytes}; dropped"
            if self.strict:
                raise MetronisError(message, code="item_too_large")
            logger.warning("metronis: %s", message)
            return None
        return data

    def _record(self, body: dict[str, Any]) -> str:
        """Queues (or, unbatched, sends) one trace body; returns its trace id. Raises only when strict."""
        trace_id = str(body["trace_id"])
        if not self.enabled:
            return trace_id
        try:
            data = self._serialize(body)
        except MetronisError:
            raise
        except Exception as err:  # a value json cannot encode even with default=str
            if self.strict:
                raise
            logger.warning("metronis: trace %s cannot be serialized (%s); dropped", trace_id, err)
            return trace_id
        if data is None:
            return trace_id
        if self._batcher is not None:
            if not self._batcher.put(data) and self.strict:
                raise MetronisError("the trace queue is full; the trace was dropped", code="queue_full")
            return trace_id
        self._send_one(data, trace_id)
        return trace_id

    def _trace(self, input: Input, output: Output, fields: dict[str, Any]) -> str:
        try:
            body = build_trace(input, output, **fields)
        except (KeyError, TypeError, ValueError) as err:
            if self.strict:
                raise
            logger.warning("metronis: trace not recorded, bad arguments: %s", err)
            return str(fields.get("trace_id") or "")
        return self._record(body)

    def _note(self, error: MetronisError) -> None:
        with self._lock:
            self._errors.append(error)
            del self._errors[:-20]

    def _outcome_of_one(self, trace_id: str, response: Any = None, error: MetronisError | None = None) -> MetronisError | None:
        """Counts the answer to one unbatched trace (or its network failure); the error to report, if any."""
        if error is None and response is not None and response.status_code == 202:
            with self._lock:
                self.counters.sent += 1
            return None
        err = error if error is not None else error_from(response)
        with self._lock:
            if err.status in (400, 413):
                self.counters.rejected += 1
            else:
                self.counters.failed += 1
        self._note(err)
        logger.warning("metronis: trace %s not accepted: %s", trace_id, err)
        return err

    def _send_one(self, data: bytes, trace_id: str) -> None:
        assert self._sync is not None
        try:
            err = self._outcome_of_one(trace_id, response=self._sync.request("POST", "/v1/traces", content=data))
        except MetronisError as failure:
            err = self._outcome_of_one(trace_id, error=failure)
        if err is not None and self.strict:
            raise err

    def _send_batch(self, items: list[bytes]) -> None:
        """Runs on the batcher's thread: one POST /v1/traces/batch, split on 413, counted."""
        assert self._sync is not None
        body = b'{"traces":[' + b",".join(items) + b"]}"
        try:
            response = self._sync.request("POST", "/v1/traces/batch", content=body)
        except MetronisError as err:
            with self._lock:
                self.counters.failed += len(items)
            self._note(err)
            logger.warning("metronis: %d traces not sent after retries: %s", len(items), err)
            return
        if response.status_code == 202:
            answer = response.json()
            rejected = answer.get("rejected", [])
            with self._lock:
                self.counters.sent += len(answer.get("accepted", []))
                self.counters.rejected += len(rejected)
            if rejected:
                first = rejected[0].get("errors", [{}])[0]
                err = MetronisError(f"{len(rejected)} traces rejected; first: {first.get('path')}: {first.get('message')}", status=202, code="invalid_body")
                self._note(err)
                logger.warning("metronis: %s", err)
            return
        if response.status_code == 413 and len(items) > 1:
            half = len(items) // 2
            self._send_batch(items[:half])
            self._send_batch(items[half:])
            return
        err = error_from(response)
        with self._lock:
            if response.status_code in (400, 413):
                self.counters.rejected += len(items)
            else:
                self.counters.failed += len(items)
        self._note(err)
        logger.warning("metronis: %d traces refused: %s", len(items), err)

    # ----- state -----

    @property
    def stats(self) -> dict[str, int]:
        """Counters since the client started: sent, dropped (queue full), dropped_oversize, rejected, failed, queued."""
        with self._lock:
            c = self.counters
            out = {"sent": c.sent, "dropped": c.dropped, "dropped_oversize": c.dropped_oversize, "rejected": c.rejected, "failed": c.failed}
        out["queued"] = self._batcher.queued if self._batcher is not None else 0
        return out

    @property
    def dropped(self) -> int:
        """Traces dropped on this side: the queue was full, or the trace was over the size limit."""
        with self._lock:
            return self.counters.dropped + self.counters.dropped_oversize

    def _flush_sync(self, timeout: float | None) -> bool:
        if self._batcher is None:
            return True
        before = len(self._errors)
        done = self._batcher.flush(timeout)
        if self.strict:
            with self._lock:
                new = self._errors[before:] if len(self._errors) >= before else list(self._errors)
            if new:
                raise new[-1]
            if not done:
                raise MetronisError(f"flush did not finish within {timeout} s", code="flush_timeout")
        return done

    def _shutdown_sync(self, timeout: float) -> None:
        self._deadline = time.monotonic() + timeout
        self._wake.set()
        if self._batcher is not None:
            if not self._batcher.shutdown(timeout):
                logger.warning("metronis: %d traces still queued at shutdown were not sent", self._batcher.queued)
            self._batcher = None
        if self._sync is not None:
            self._sync.close()


class Metronis(_Base):
    """The synchronous client.

    >>> client = Metronis()                      # METRONIS_API_KEY, METRONIS_BASE_URL
    >>> client.trace(input="What is 2+2?", output="4", model="gpt-4o-mini")
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        batch: bool = True,
        strict: bool = False,
        timeout: float = 10.0,
        max_retries: int = 5,
        max_queue_size: int = 10_000,
        max_queue_bytes: int = 64 * 1024 * 1024,
        max_batch_size: int = 100,
        max_batch_bytes: int = 4 * 1024 * 1024,
        flush_interval: float = 1.0,
        max_item_bytes: int = GATEWAY_MAX_TRACE_BYTES,
        flush_at_exit_timeout: float = 5.0,
        application: str | None = None,
        environment: str | None = None,
        retry_policy: RetryPolicy | None = None,
        default: bool = True,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            batch=batch,
            strict=strict,
            timeout=timeout,
            max_retries=max_retries,
            max_queue_size=max_queue_size,
            max_queue_bytes=max_queue_bytes,
            max_batch_size=max_batch_size,
            max_batch_bytes=max_batch_bytes,
            flush_interval=flush_interval,
            max_item_bytes=max_item_bytes,
            flush_at_exit_timeout=flush_at_exit_timeout,
            application=application,
            environment=environment,
            retry_policy=retry_policy,
            default=default,
        )

    def trace(self, input: Input, output: Output, **fields: Any) -> str:
        """Records one LLM call; returns its trace id at once (sent in the background when batching).
        Fields: those of ``build_trace`` (model, provider, usage, latency_ms, session_id, ...)."""
        return self._trace(input, output, fields)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Sends everything recorded so far; True when done within `timeout`. Strict: raises on failures."""
        return self._flush_sync(timeout)

    def shutdown(self, timeout: float | None = None) -> None:
        """Sends what is queued (within `timeout`, default flush_at_exit_timeout) and closes the client."""
        self._shutdown_sync(self.flush_at_exit_timeout if timeout is None else timeout)

    close = shutdown

    def __enter__(self) -> "Metronis":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        """``{trace, verdict, evaluations}`` of one trace, or None while it is not stored (yet)."""
        response = self._reader().request("GET", f"/v1/traces/{_quote(trace_id)}")
        return _read_answer(response, allow_404=True)

    def search(self, **filters: Any) -> dict[str, Any]:
        """One page of ``GET /v1/traces``: ``{items, next_cursor}``. Filters: from_, to, application,
        environment, model_provider, model_name, user_id, session_id, tag, q, severity_at_least,
        passed, limit, cursor."""
        response = self._reader().request("GET", "/v1/traces", params=_search_params(filters))
        return _search_answer(response)

    def iter_search(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every matching trace, following ``next_cursor``."""
        while True:
            page = self.search(**filters)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            filters["cursor"] = page["next_cursor"]

    def _reader(self) -> SyncTransport:
        if self._sync is None:
            raise MetronisError("no API key: pass api_key= or set METRONIS_API_KEY", code="missing_api_key")
        return self._sync


class AsyncMetronis(_Base):
    """The asyncio client: ``await client.trace(...)`` queues without blocking the loop (the batcher
    sends from its thread); reads and unbatched writes use httpx.AsyncClient."""

    def __init__(self, api_key: str | None = None, base_url: str | None = None, **options: Any) -> None:
        defaults: dict[str, Any] = dict(
            batch=True, strict=False, timeout=10.0, max_retries=5, max_queue_size=10_000, max_queue_bytes=64 * 1024 * 1024,
            max_batch_size=100, max_batch_bytes=4 * 1024 * 1024, flush_interval=1.0, max_item_bytes=GATEWAY_MAX_TRACE_BYTES,
            flush_at_exit_timeout=5.0, application=None, environment=None, retry_policy=None, default=True,
        )  # fmt: skip
        unknown = set(options) - set(defaults)
        if unknown:
            raise TypeError(f"AsyncMetronis got unexpected options: {sorted(unknown)}")
        super().__init__(api_key, base_url, **{**defaults, **options})
        self._async: AsyncTransport | None = AsyncTransport(self.base_url, self.api_key or "", self.timeout, self.retry_policy) if self.enabled else None
        self._pending: set[asyncio.Task[Any]] = set()

    def _record(self, body: dict[str, Any]) -> str:
        if self._batcher is not None or not self.enabled:
            return super()._record(body)
        # Unbatched: send on the running loop, without making the caller wait.
        data = self._serialize(body)
        trace_id = str(body["trace_id"])
        if data is not None:
            task = asyncio.get_running_loop().create_task(self._send_one_async(data, trace_id))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        return trace_id

    async def _send_one_async(self, data: bytes, trace_id: str) -> None:
        assert self._async is not None
        try:
            self._outcome_of_one(trace_id, response=await self._async.request("POST", "/v1/traces", content=data))
        except MetronisError as failure:
            self._outcome_of_one(trace_id, error=failure)

    async def trace(self, input: Input, output: Output, **fields: Any) -> str:
        """Records one LLM call; returns its trace id without waiting for the network."""
        return self._trace(input, output, fields)

    async def flush(self, timeout: float | None = 30.0) -> bool:
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        return await asyncio.to_thread(self._flush_sync, timeout)

    async def aclose(self, timeout: float | None = None) -> None:
        await self.flush(timeout)
        await asyncio.to_thread(self._shutdown_sync, self.flush_at_exit_timeout if timeout is None else timeout)
        if self._async is not None:
            await self._async.close()

    async def __aenter__(self) -> "AsyncMetronis":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        response = await self._reader().request("GET", f"/v1/traces/{_quote(trace_id)}")
        return _read_answer(response, allow_404=True)

    async def search(self, **filters: Any) -> dict[str, Any]:
        response = await self._reader().request("GET", "/v1/traces", params=_search_params(filters))
        return _search_answer(response)

    async def iter_search(self, **filters: Any) -> AsyncIterator[dict[str, Any]]:
        while True:
            page = await self.search(**filters)
            for item in page["items"]:
                yield item
            if not page.get("next_cursor"):
                return
            filters["cursor"] = page["next_cursor"]

    def _reader(self) -> AsyncTransport:
        if self._async is None:
            raise MetronisError("no API key: pass api_key= or set METRONIS_API_KEY", code="missing_api_key")
        return self._async


# ----- reads -----

SEARCH_FILTERS = (
    "from", "to", "application", "environment", "model_provider", "model_name", "user_id",
    "session_id", "tag", "q", "severity_at_least", "passed", "limit", "cursor",
)  # fmt: skip


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _search_params(filters: Mapping[str, Any]) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for key, value in filters.items():
        name = "from" if key in ("from_", "start") else key
        if name not in SEARCH_FILTERS:
            raise TypeError(f"search() got an unknown filter {key!r}; known: {', '.join(SEARCH_FILTERS)}")
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, _dt.datetime):
                v = (v if v.tzinfo else v.replace(tzinfo=_dt.timezone.utc)).isoformat()
            params.append((name, str(v)))
    return params


def _read_answer(response: Any, *, allow_404: bool) -> dict[str, Any] | None:
    if response.status_code == 200:
        return dict(response.json())
    if response.status_code == 404 and allow_404:
        return None
    raise error_from(response)


def _search_answer(response: Any) -> dict[str, Any]:
    if response.status_code == 200:
        answer = dict(response.json())
        answer.setdefault("next_cursor", None)
        return answer
    err = error_from(response)
    if response.status_code in (404, 405) and err.code in ("not_found", "method_not_allowed", "http_error"):
        raise NotAvailableError(
            "this Metronis server does not serve trace search (GET /v1/traces); it needs a version with the search API",
            status=response.status_code,
            code="search_not_available",
            request_id=err.request_id,
        )
    raise err


# ----- the default client (for @observe and the wrappers) and exit handling -----

_default: _Base | None = None
_default_lock = threading.Lock()


def set_default_client(client: _Base | None) -> None:
    """The client that @observe, ``observation`` and the wrappers use when none is passed."""
    global _default
    with _default_lock:
        _default = client


def get_client() -> _Base:
    """The default client: the last one created with ``default=True``, else one made from the
    environment on first use (and kept)."""
    with _default_lock:
        client = _default
    if client is None:
        client = Metronis()
    return client


_live: "weakref.WeakSet[_Base]" = weakref.WeakSet()
_exit_registered = False


def _register_exit(client: _Base) -> None:
    global _exit_registered
    _live.add(client)
    if not _exit_registered:
        atexit.register(_flush_all_at_exit)
        _exit_registered = True


def _flush_all_at_exit() -> None:
    for client in list(_live):
        try:
            client._shutdown_sync(client.flush_at_exit_timeout)
        except Exception as err:  # never fail the interpreter's exit
            logger.warning("metronis: shutdown at exit failed: %s", err)
