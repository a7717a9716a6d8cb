"""The OpenAI and Anthropic wrappers around the real client libraries (from PyPI), calling a local
server that speaks their HTTP protocols; the recorded traces are read back from a real Metronis."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import openai
import pytest

from metronis import Metronis, wrap_anthropic, wrap_openai

from .conftest import API_KEY, RunningMetronis


def recorded(metronis: RunningMetronis, client: Metronis, count: int) -> list[dict[str, Any]]:
    """The traces the client sent since its start, read back (the wrappers do not return ids)."""
    assert client.flush()
    assert client.stats["sent"] == count, client.stats
    return [metronis.wait_for_trace(item["trace_id"]) ["trace"] for item in _sent_ids(client)]


def _sent_ids(client: Metronis) -> list[dict[str, str]]:
    return [{"trace_id": t} for t in client.recorded_ids]  # type: ignore[attr-defined]


@pytest.fixture
def recording_client(metronis: RunningMetronis):  # type: ignore[no-untyped-def]
    """A client that also remembers the ids it recorded (to read them back)."""
    client = Metronis(api_key=API_KEY, base_url=metronis.url, default=False)
    client.recorded_ids = []  # type: ignore[attr-defined]
    original = client._record

    def remember(body: dict[str, Any]) -> str:
        client.recorded_ids.append(body["trace_id"])  # type: ignore[attr-defined]
        return original(body)

    client._record = remember  # type: ignore[method-assign]
    yield client
    client.shutdown()


def test_openai_sync_async_and_streaming(metronis: RunningMetronis, llm_server: str, recording_client: Metronis) -> None:
    client = wrap_openai(openai.OpenAI(api_key="sk-test", base_url=f"{llm_server}/v1"), metronis=recording_client, tags=["wrapped"])
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages, temperature=0.1)
    assert completion.choices[0].message.content == "Paris."

    stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True})
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == "Paris."

    async def call_async() -> str:
        aclient = wrap_openai(openai.AsyncOpenAI(api_key="sk-test", base_url=f"{llm_server}/v1"), metronis=recording_client)
        result = await aclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "async?"}])
        astream = await aclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "async stream?"}], stream=True)
        parts = [chunk.choices[0].delta.content or "" async for chunk in astream if chunk.choices]
        return str(result.choices[0].message.content) + "".join(parts)

    assert asyncio.run(call_async()) == "Paris.Paris."

    traces = recorded(metronis, recording_client, 4)
    plain, streamed, async_plain, async_streamed = traces
    assert plain["input"] == {"messages": messages}
    assert plain["output"] == {"content": "Paris.", "finish_reason": "stop"}
    assert plain["model"] == {"provider": "openai", "name": "gpt-4o-mini", "parameters": {"temperature": 0.1}}
    assert plain["usage"]["input_tokens"] == 9 and plain["usage"]["output_tokens"] == 2
    assert plain["tags"] == ["wrapped"] and plain["latency_ms"] > 0
    assert streamed["output"] == {"content": "Paris.", "finish_reason": "stop"} and streamed["usage"]["output_tokens"] == 2
    assert streamed["metadata"]["stream"] == "true"
    assert async_plain["input"] == {"messages": [{"role": "user", "content": "async?"}]}
    assert async_streamed["output"]["content"] == "Paris."


def test_openai_failure_is_recorded_and_reraised(metronis: RunningMetronis, recording_client: Metronis) -> None:
    client = wrap_openai(openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", max_retries=0), metronis=recording_client)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello?"}])
    (trace,) = recorded(metronis, recording_client, 1)
    assert trace["output"] == {"content": "", "finish_reason": "error"}
    assert trace["metadata"]["error"] == "APIConnectionError"


def test_anthropic_sync_streaming_and_async(metronis: RunningMetronis, llm_server: str, recording_client: Metronis) -> None:
    client = wrap_anthropic(anthropic.Anthropic(api_key="sk-ant-test", base_url=llm_server), metronis=recording_client)
    message = client.messages.create(model="claude-test", max_tokens=50, system="Be brief.", messages=[{"role": "user", "content": "Capital of France?"}])
    assert message.content[0].text == "Paris."
    stream = client.messages.create(model="claude-test", max_tokens=50, messages=[{"role": "user", "content": "Again?"}], stream=True)
    assert "".join(e.delta.text for e in stream if e.type == "content_block_delta") == "Paris."

    async def call_async() -> str:
        aclient = wrap_anthropic(anthropic.AsyncAnthropic(api_key="sk-ant-test", base_url=llm_server), metronis=recording_client)
        result = await aclient.messages.create(model="claude-test", max_tokens=50, messages=[{"role": "user", "content": "async?"}])
        return str(result.content[0].text)

    assert asyncio.run(call_async()) == "Paris."
    plain, streamed, async_plain = recorded(metronis, recording_client, 3)
    assert plain["input"] == {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]}
    assert plain["output"] == {"content": "Paris.", "finish_reason": "end_turn"}
    assert plain["model"]["provider"] == "anthropic" and plain["model"]["parameters"] == {"max_tokens": 50}
    assert streamed["output"] == {"content": "Paris.", "finish_reason": "end_turn"}
    assert streamed["usage"]["input_tokens"] == 9 and streamed["usage"]["output_tokens"] == 2
    assert async_plain["output"]["content"] == "Paris."


TWO_LINES = """
import sys
from openai import OpenAI
from metronis import wrap_openai
client = wrap_openai(OpenAI(api_key="sk-test", base_url=sys.argv[1] + "/v1"))
print(client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Two lines?"}]).choices[0].message.content)
"""


def test_two_lines_and_the_environment_are_enough(metronis: RunningMetronis, llm_server: str, forwarder, python: str) -> None:  # type: ignore[no-untyped-def]
    """An app with only the import and the wrap, configured by METRONIS_*: its call is stored and evaluated
    (the proxy in front of Metronis tells which trace id the SDK sent)."""
    import json
    import os
    import subprocess

    proxy = forwarder()
    env = {**os.environ, "METRONIS_API_KEY": API_KEY, "METRONIS_BASE_URL": proxy.url}
    done = subprocess.run([python, "-c", TWO_LINES, llm_server], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Paris."
    (batch,) = [json.loads(body) for body in proxy.bodies]
    (sent,) = batch["traces"]
    view = metronis.wait_for_trace(sent["trace_id"], verdict=True)
    assert view["trace"]["input"] == {"messages": [{"role": "user", "content": "Two lines?"}]}
    assert view["trace"]["output"]["content"] == "Paris."
    assert view["verdict"]["passed"] in (True, False)
