"""``wrap_anthropic(client)``: records every ``client.messages.create`` call (sync or async,
``stream=True`` or not) as a trace: system prompt and messages, the text answer, stop reason, model,
sampling parameters, usage, latency. Same contract as ``wrap_openai``: the call is untouched and a
failure is recorded and re-raised. (``client.messages.stream(...)`` helpers are not recorded; use
``create(stream=True)``.)

    from anthropic import Anthropic
    from metronis import wrap_anthropic
    client = wrap_anthropic(Anthropic())
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..client import _Base
from ._common import StreamRecorder, Timer, parameters_of, patch, record_call

C = TypeVar("C")


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    pieces = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else getattr(block, "type", None)
        text = block.get("text") if isinstance(block, dict) else getattr(block, "text", None)
        if kind == "text" and text:
            pieces.append(text)
    return "\n".join(pieces)


def _messages(kwargs: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    system = kwargs.get("system")
    if system:
        out.append({"role": "system", "content": _text(system)})
    for m in kwargs.get("messages") or []:
        out.append({"role": str(m.get("role", "user")), "content": _text(m.get("content"))})
    return out


def _usage(usage: Any) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {"input_tokens": getattr(usage, "input_tokens", None), "output_tokens": getattr(usage, "output_tokens", None)}


def wrap_anthropic(client: C, *, metronis: _Base | None = None, **fields: Any) -> C:
    """Returns the same client, its ``messages.create`` calls recorded to `metronis`."""
    messages = client.messages  # type: ignore[attr-defined]

    def request_fields(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**fields, "input": _messages(kwargs) or "", "provider": "anthropic", "parameters": parameters_of(kwargs) or None}

    def on_result(kwargs: dict[str, Any], result: Any, timer: Timer) -> Any:
        if kwargs.get("stream"):
            return recording_stream(result, kwargs, timer)
        record_call(
            metronis,
            request_fields(kwargs),
            output={"content": _text(result.content), "finish_reason": result.stop_reason},
            model=result.model or kwargs.get("model"),
            usage=_usage(result.usage),
            latency_ms=timer.ms,
        )
        return result

    def on_error(kwargs: dict[str, Any], err: BaseException, timer: Timer) -> None:
        record_call(metronis, request_fields(kwargs), output={"content": "", "finish_reason": "error"}, model=kwargs.get("model"), latency_ms=timer.ms, metadata={"error": type(err).__name__})

    def recording_stream(stream: Any, kwargs: dict[str, Any], timer: Timer) -> StreamRecorder:
        state: dict[str, Any] = {"parts": [], "finish": None, "model": kwargs.get("model"), "input_tokens": None, "output_tokens": None}

        def on_event(event: Any) -> None:
            kind = getattr(event, "type", None)
            if kind == "message_start":
                state["model"] = event.message.model or state["model"]
                state["input_tokens"] = getattr(event.message.usage, "input_tokens", None)
            elif kind == "content_block_delta" and getattr(event.delta, "type", None) == "text_delta":
                state["parts"].append(event.delta.text)
            elif kind == "message_delta":
                state["finish"] = getattr(event.delta, "stop_reason", None) or state["finish"]
                state["output_tokens"] = getattr(event.usage, "output_tokens", None)

        def on_end(error: BaseException | None) -> None:
            record_call(
                metronis,
                request_fields(kwargs),
                output={"content": "".join(state["parts"]), "finish_reason": "error" if error is not None else state["finish"]},
                model=state["model"],
                usage={"input_tokens": state["input_tokens"], "output_tokens": state["output_tokens"]},
                latency_ms=timer.ms,
                metadata={"stream": "true", **({"error": type(error).__name__} if error is not None else {})},
            )

        return StreamRecorder(stream, on_event, on_end)


    patch(messages, "create", on_result, on_error)
    return client
