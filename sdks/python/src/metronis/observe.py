"""``@observe`` and ``observation(...)``: time a block or a function and record it as one trace.

The input is what the function was called with (a single string argument as it is, otherwise the
bound arguments as JSON), the output what it returned (a string as it is, an OpenAI-style chat
completion or Anthropic message by its text, model and usage, anything else as JSON). Inside, code
may add what only it knows: ``current_observation().update(model=..., usage=...)``. An exception
is recorded (finish reason ``error``, the exception type in metadata) and re-raised unchanged.
Recording never raises into the caller unless the client is ``strict``.

    @observe()
    def answer(question: str) -> str: ...

    with observation("answer", input=question) as obs:
        obs.output = call_model(question)
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import logging
import time
from typing import Any, Callable, Mapping, TypeVar, cast

from .client import _Base, build_trace, get_client

logger = logging.getLogger("metronis")

F = TypeVar("F", bound=Callable[..., Any])

_current: contextvars.ContextVar["Observation | None"] = contextvars.ContextVar("metronis_observation", default=None)


def current_observation() -> "Observation | None":
    """The innermost observation being recorded in this context, if any."""
    return _current.get()


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def describe_result(value: Any) -> dict[str, Any]:
    """Output text, finish reason, model and usage of a return value (OpenAI, Anthropic or plain)."""
    choices = getattr(value, "choices", None)
    if isinstance(choices, list) and choices:
        first = choices[0]
        message = getattr(first, "message", None)
        content = getattr(message, "content", None) if message is not None else getattr(first, "text", None)
        usage = getattr(value, "usage", None)
        return {
            "output": content or "",
            "finish_reason": getattr(first, "finish_reason", None),
            "model": getattr(value, "model", None),
            "usage": None if usage is None else {"input_tokens": getattr(usage, "prompt_tokens", None), "output_tokens": getattr(usage, "completion_tokens", None)},
        }
    blocks = getattr(value, "content", None)
    if isinstance(blocks, list) and hasattr(value, "stop_reason"):
        usage = getattr(value, "usage", None)
        return {
            "output": "".join(getattr(b, "text", "") for b in blocks if getattr(b, "type", None) == "text"),
            "finish_reason": getattr(value, "stop_reason", None),
            "model": getattr(value, "model", None),
            "usage": None if usage is None else {"input_tokens": getattr(usage, "input_tokens", None), "output_tokens": getattr(usage, "output_tokens", None)},
        }
    return {"output": _as_text(value)}


class Observation:
    """One timed unit of work; becomes a trace when it ends. Set fields as attributes or with update()."""

    def __init__(self, name: str, client: _Base | None, input: Any = None, **fields: Any) -> None:
        self.name = name
        self.client = client
        self.input: Any = input
        self.output: Any = None
        self.finish_reason: str | None = None
        self.model: Any = None
        self.usage: Mapping[str, Any] | None = None
        self.fields: dict[str, Any] = dict(fields)
        self._started = 0.0
        self._token: contextvars.Token[Observation | None] | None = None
        self.trace_id: str | None = None

    def update(self, **fields: Any) -> "Observation":
        """Sets input, output, finish_reason, model, usage, or any ``trace(...)`` field."""
        for key in ("input", "output", "finish_reason", "model", "usage"):
            if key in fields:
                setattr(self, key, fields.pop(key))
        self.fields.update(fields)
        return self

    def __enter__(self) -> "Observation":
        self._started = time.perf_counter()
        self._token = _current.set(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        latency_ms = (time.perf_counter() - self._started) * 1000
        if self._token is not None:
            _current.reset(self._token)
        if exc is not None:
            self.finish_reason = "error"
            self.fields.setdefault("metadata", {})
            self.fields["metadata"] = {**self.fields["metadata"], "error": type(exc).__name__}
        self._record(latency_ms)

    async def __aenter__(self) -> "Observation":
        return self.__enter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        self.__exit__(exc_type, exc, tb)

    def _record(self, latency_ms: float) -> None:
        client = self.client
        try:
            client = client or get_client()
            output_text = "" if self.output is None else _as_text(self.output)
            output: Any = {"content": output_text, "finish_reason": self.finish_reason} if self.finish_reason else output_text
            metadata = {"observation": self.name, **self.fields.pop("metadata", {})}
            body = build_trace(
                self.input if isinstance(self.input, (str, list)) or (isinstance(self.input, Mapping) and "messages" in self.input) else _as_text(self.input),
                output,
                model=self.model,
                usage=self.usage,
                latency_ms=latency_ms,
                metadata=metadata,
                **self.fields,
            )
            self.trace_id = client._record(body)
        except Exception as err:
            if client is not None and client.strict:
                raise
            logger.warning("metronis: observation %r not recorded: %s", self.name, err)


def observation(name: str, *, input: Any = None, client: _Base | None = None, **fields: Any) -> Observation:
    """A context manager (sync or async) that records the block as one trace."""
    return Observation(name, client, input, **fields)


def _input_of(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if len(args) == 1 and not kwargs and isinstance(args[0], str):
        return args[0]
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs)
        arguments = {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}
    except (TypeError, ValueError):
        arguments = {"args": list(args), "kwargs": kwargs}
    if len(arguments) == 1:
        only = next(iter(arguments.values()))
        if isinstance(only, str):
            return only
    return _as_text(arguments)


def observe(
    name: str | None = None,
    *,
    client: _Base | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
    **fields: Any,
) -> Callable[[F], F]:
    """Decorates a function (sync or async) to record each call as a trace."""

    def decorate(fn: F) -> F:
        label = name or getattr(fn, "__qualname__", getattr(fn, "__name__", "call"))

        def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Observation:
            return Observation(label, client, _input_of(fn, args, kwargs) if capture_input else "", **fields)

        def finish(obs: Observation, result: Any) -> None:
            if not capture_output:
                return
            described = describe_result(result)
            obs.output = obs.output if obs.output is not None else described["output"]
            obs.finish_reason = obs.finish_reason or described.get("finish_reason")
            if obs.model is None and described.get("model"):
                obs.model = described["model"]
            if obs.usage is None and described.get("usage"):
                obs.usage = {k: v for k, v in described["usage"].items() if v is not None}

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                obs = start(args, kwargs)
                with obs:
                    result = await fn(*args, **kwargs)
                    finish(obs, result)
                return result

            return cast(F, async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            obs = start(args, kwargs)
            with obs:
                result = fn(*args, **kwargs)
                finish(obs, result)
            return result

        return cast(F, wrapper)

    return decorate
