"""What the client wrappers share: patching one method on a client instance, timing the call,
recording it without ever breaking it, and passing streams through while accumulating them."""

from __future__ import annotations

import functools
import inspect
import logging
import time
from typing import Any, Callable

from .._errors import MetronisError
from ..client import _Base, build_trace, get_client

logger = logging.getLogger("metronis")

#: Request arguments that are not sampling parameters.
NOT_PARAMETERS = frozenset({"messages", "model", "stream", "stream_options", "system", "extra_headers", "extra_query", "extra_body", "timeout", "tools", "tool_choice", "metadata"})


def record_call(metronis: _Base | None, fields: dict[str, Any], **trace: Any) -> None:
    """Builds and queues one trace; logs (never raises) unless the client is strict."""
    client = metronis
    try:
        client = client or get_client()
        body = build_trace(**{**fields, **trace, "metadata": {**fields.get("metadata", {}), **trace.get("metadata", {})}})
        client._record(body)
    except Exception as err:
        if client is not None and client.strict:
            raise
        logger.warning("metronis: LLM call not recorded: %s", err)


def text_of(content: Any) -> str:
    """Text of message content: a string, or the text parts of a list of parts/blocks (dicts or objects
    with ``type == "text"``), joined by newlines; images and other parts are left out."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, (list, tuple)):
        return str(content)
    pieces = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else getattr(part, "type", None)
        text = part.get("text") if isinstance(part, dict) else getattr(part, "text", None)
        if kind == "text" and text:
            pieces.append(text)
    return "\n".join(pieces)


def usage_of(usage: Any, input_field: str, output_field: str) -> dict[str, Any] | None:
    """Token counts from a provider's usage object, under Metronis's names."""
    if usage is None:
        return None
    return {"input_tokens": getattr(usage, input_field, None), "output_tokens": getattr(usage, output_field, None)}


def parameters_of(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k not in NOT_PARAMETERS and v is not None and isinstance(v, (str, int, float, bool, list, dict))}


def patch(owner: Any, method: str, on_result: Callable[[dict[str, Any], Any, "Timer"], Any], on_error: Callable[[dict[str, Any], BaseException, "Timer"], None]) -> None:
    """Replaces ``owner.method`` on this instance with a timed, recorded call; idempotent. Works for
    sync and async clients alike: an awaitable result is awaited inside a coroutine returned to the
    caller (async clients' methods are wrapped so that they are not coroutine functions themselves)."""
    original = getattr(owner, method)
    if getattr(original, "__metronis_wrapped__", False):
        return

    def done(kwargs: dict[str, Any], value: Any, timer: Timer) -> Any:
        try:
            return on_result(kwargs, value, timer)
        except MetronisError:
            raise  # only a strict client raises these
        except Exception as err:  # a response shape the wrapper does not know: the caller still gets it
            logger.warning("metronis: LLM call not recorded: %s", err)
            return value

    def call(*args: Any, **kwargs: Any) -> Any:
        timer = Timer()
        try:
            result = original(*args, **kwargs)
        except BaseException as err:
            on_error(kwargs, err, timer)
            raise
        if inspect.isawaitable(result):

            async def finish() -> Any:
                try:
                    value = await result
                except BaseException as err:
                    on_error(kwargs, err, timer)
                    raise
                return done(kwargs, value, timer)

            return finish()
        return done(kwargs, result, timer)

    functools.update_wrapper(call, original)
    setattr(call, "__metronis_wrapped__", True)
    setattr(owner, method, call)


def wrap_create(
    owner: Any,
    *,
    metronis: _Base | None,
    fields: dict[str, Any],
    provider: str,
    messages_of: Callable[[dict[str, Any]], list[dict[str, str]]],
    describe: Callable[[Any], dict[str, Any]],
    accumulate: Callable[[dict[str, Any], Any], None],
) -> None:
    """Records ``owner.create`` calls of one provider's client. `describe(result)` gives ``content``,
    ``finish_reason``, ``model`` and ``usage`` of a response; `accumulate(state, event)` folds one
    stream event into ``state`` (``parts``, ``finish_reason``, ``model``, ``usage``)."""

    def request_fields(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**fields, "input": messages_of(kwargs) or "", "provider": provider, "parameters": parameters_of(kwargs) or None}

    def on_result(kwargs: dict[str, Any], result: Any, timer: Timer) -> Any:
        if kwargs.get("stream"):
            state: dict[str, Any] = {"parts": [], "finish_reason": None, "model": kwargs.get("model"), "usage": None}

            def on_end(error: BaseException | None) -> None:
                record_call(
                    metronis,
                    request_fields(kwargs),
                    output={"content": "".join(state["parts"]), "finish_reason": "error" if error is not None else state["finish_reason"]},
                    model=state["model"],
                    usage=state["usage"],
                    latency_ms=timer.ms,
                    metadata={"stream": "true", **({"error": type(error).__name__} if error is not None else {})},
                )

            return StreamRecorder(result, lambda event: accumulate(state, event), on_end)
        described = describe(result)
        record_call(
            metronis,
            request_fields(kwargs),
            output={"content": described["content"], "finish_reason": described["finish_reason"]},
            model=described["model"] or kwargs.get("model"),
            usage=described["usage"],
            latency_ms=timer.ms,
        )
        return result

    def on_error(kwargs: dict[str, Any], err: BaseException, timer: Timer) -> None:
        record_call(metronis, request_fields(kwargs), output={"content": "", "finish_reason": "error"}, model=kwargs.get("model"), latency_ms=timer.ms, metadata={"error": type(err).__name__})

    patch(owner, "create", on_result, on_error)


class Timer:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


class StreamRecorder:
    """Wraps a sync or async stream: yields every event unchanged, feeds each to ``on_event``, and
    calls ``on_end`` once when the stream is exhausted, closed or fails."""

    def __init__(self, stream: Any, on_event: Callable[[Any], None], on_end: Callable[[BaseException | None], None]) -> None:
        self._stream = stream
        self._on_event = on_event
        self._on_end = on_end
        self._ended = False

    def _end(self, error: BaseException | None) -> None:
        if not self._ended:
            self._ended = True
            try:
                self._on_end(error)
            except Exception as err:  # recording must not break the stream
                logger.warning("metronis: streamed call not recorded: %s", err)

    def _feed(self, event: Any) -> None:
        try:
            self._on_event(event)
        except Exception as err:
            logger.warning("metronis: stream event not understood: %s", err)

    # sync
    def __iter__(self) -> "StreamRecorder":
        return self

    def __next__(self) -> Any:
        try:
            event = next(self._iterator())
        except StopIteration:
            self._end(None)
            raise
        except BaseException as err:
            self._end(err)
            raise
        self._feed(event)
        return event

    def _iterator(self) -> Any:
        if not hasattr(self, "_it"):
            self._it = iter(self._stream)
        return self._it

    def __enter__(self) -> "StreamRecorder":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()
        self._end(None)

    # async
    def __aiter__(self) -> "StreamRecorder":
        return self

    async def __anext__(self) -> Any:
        if not hasattr(self, "_ait"):
            self._ait = self._stream.__aiter__()
        try:
            event = await self._ait.__anext__()
        except StopAsyncIteration:
            self._end(None)
            raise
        except BaseException as err:
            self._end(err)
            raise
        self._feed(event)
        return event

    async def __aenter__(self) -> "StreamRecorder":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            result = close()
            if inspect.isawaitable(result):
                await result
        self._end(None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
