"""``wrap_openai(client)``: records every ``client.chat.completions.create`` call (sync or async,
streaming or not) as a trace: messages, answer, finish reason, model, sampling parameters, usage,
latency. The call itself is untouched: same arguments, same return value, same exceptions (a failed
call is recorded with finish reason ``error`` and re-raised). Streams are passed through chunk by
chunk and recorded when they end; ask for ``stream_options={"include_usage": True}`` to get usage.

    from openai import OpenAI
    from metronis import wrap_openai
    client = wrap_openai(OpenAI())
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..client import _Base
from ._common import text_of, usage_of, wrap_create

C = TypeVar("C")


def _messages(kwargs: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for m in kwargs.get("messages") or []:
        get = m.get if isinstance(m, dict) else lambda k, d=None, m=m: getattr(m, k, d)
        content = text_of(get("content"))
        if not content and get("tool_calls"):
            content = str(get("tool_calls"))
        out.append({"role": str(get("role", "user")), "content": content})
    return out


def _usage(usage: Any) -> dict[str, Any] | None:
    return usage_of(usage, "prompt_tokens", "completion_tokens")


def _describe(result: Any) -> dict[str, Any]:
    choice = result.choices[0] if result.choices else None
    return {
        "content": text_of(choice.message.content) if choice else "",
        "finish_reason": choice.finish_reason if choice else None,
        "model": result.model,
        "usage": _usage(result.usage),
    }


def _accumulate(state: dict[str, Any], chunk: Any) -> None:
    if getattr(chunk, "model", None):
        state["model"] = chunk.model
    if getattr(chunk, "usage", None) is not None:
        state["usage"] = _usage(chunk.usage)
    for choice in getattr(chunk, "choices", None) or []:
        if choice.index != 0:
            continue
        if choice.delta is not None and choice.delta.content:
            state["parts"].append(choice.delta.content)
        if choice.finish_reason:
            state["finish_reason"] = choice.finish_reason


def wrap_openai(client: C, *, metronis: _Base | None = None, **fields: Any) -> C:
    """Returns the same client, its chat completions recorded to `metronis` (default: the default
    client). `fields` are added to every trace (application, tags, metadata, ...)."""
    wrap_create(
        client.chat.completions,  # type: ignore[attr-defined]
        metronis=metronis,
        fields=fields,
        provider="openai",
        messages_of=_messages,
        describe=_describe,
        accumulate=_accumulate,
    )
    return client
