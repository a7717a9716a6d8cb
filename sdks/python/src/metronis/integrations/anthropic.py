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
from ._common import text_of, usage_of, wrap_create

C = TypeVar("C")


def _messages(kwargs: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    system = kwargs.get("system")
    if system:
        out.append({"role": "system", "content": text_of(system)})
    for m in kwargs.get("messages") or []:
        out.append({"role": str(m.get("role", "user")), "content": text_of(m.get("content"))})
    return out


def _usage(usage: Any) -> dict[str, Any] | None:
    return usage_of(usage, "input_tokens", "output_tokens")


def _describe(result: Any) -> dict[str, Any]:
    return {"content": text_of(result.content), "finish_reason": result.stop_reason, "model": result.model, "usage": _usage(result.usage)}


def _accumulate(state: dict[str, Any], event: Any) -> None:
    kind = getattr(event, "type", None)
    if kind == "message_start":
        state["model"] = event.message.model or state["model"]
        state["usage"] = {"input_tokens": getattr(event.message.usage, "input_tokens", None), "output_tokens": None}
    elif kind == "content_block_delta" and getattr(event.delta, "type", None) == "text_delta":
        state["parts"].append(event.delta.text)
    elif kind == "message_delta":
        state["finish_reason"] = getattr(event.delta, "stop_reason", None) or state["finish_reason"]
        state["usage"] = {**(state["usage"] or {}), "output_tokens": getattr(event.usage, "output_tokens", None)}


def wrap_anthropic(client: C, *, metronis: _Base | None = None, **fields: Any) -> C:
    """Returns the same client, its ``messages.create`` calls recorded to `metronis`."""
    wrap_create(
        client.messages,  # type: ignore[attr-defined]
        metronis=metronis,
        fields=fields,
        provider="anthropic",
        messages_of=_messages,
        describe=_describe,
        accumulate=_accumulate,
    )
    return client
