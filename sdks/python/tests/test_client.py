"""The client against a real Metronis: traces sent and read back with verdicts, the async client,
@observe and context ids, and the unhappy paths (server down at start, 503 bursts with Retry-After,
401 never retried, per-item rejections, oversize items, a full queue at process exit)."""

from __future__ import annotations

import asyncio
import subprocess
import textwrap
import time
import uuid

import httpx
import pytest

import metronis as sdk
from metronis import AsyncMetronis, Metronis, MetronisError, NotAvailableError, RetryPolicy, observation, observe

from .conftest import API_KEY, RunningMetronis, free_port

FAST = RetryPolicy(max_retries=5, initial_backoff=0.05, max_backoff=0.2)


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def test_trace_is_stored_and_evaluated(metronis: RunningMetronis) -> None:
    with Metronis(api_key=API_KEY, base_url=metronis.url, application="py-tests") as client:
        trace_id = client.trace(
            input=[{"role": "user", "content": "What is the capital of France?"}],
            output={"content": "Paris.", "finish_reason": "stop"},
            model="gpt-4o-mini",
            provider="openai",
            usage={"input_tokens": 9, "output_tokens": 2},
            latency_ms=321.5,
            metadata={"team": "search", "attempt": 2},
            tags=["smoke"],
        )
        assert client.flush(timeout=30)
        assert client.stats["sent"] == 1
        view = metronis.wait_for_trace(trace_id, verdict=True)
        assert view["trace"]["input"] == {"messages": [{"role": "user", "content": "What is the capital of France?"}]}
        assert view["trace"]["output"] == {"content": "Paris.", "finish_reason": "stop"}
        assert view["trace"]["model"]["name"] == "gpt-4o-mini"
        assert view["trace"]["application"] == "py-tests"
        assert view["trace"]["metadata"] == {"team": "search", "attempt": "2"}
        assert view["verdict"]["passed"] in (True, False)
        assert client.get_trace(trace_id)["trace"]["trace_id"] == trace_id
        assert client.get_trace("no-such-trace") is None


def test_async_client(metronis: RunningMetronis) -> None:
    async def main() -> str:
        async with AsyncMetronis(api_key=API_KEY, base_url=metronis.url) as client:
            trace_id = await client.trace(input="2+2?", output="4", model="gpt-4o-mini")
            assert await client.flush()
            for _ in range(200):
                view = await client.get_trace(trace_id)
                if view is not None:
                    return str(view["trace"]["output"]["content"])
                await asyncio.sleep(0.1)
        raise AssertionError("trace not readable")

    assert asyncio.run(main()) == "4"


def test_async_client_unbatched_sends_on_the_loop(metronis: RunningMetronis) -> None:
    async def main() -> str:
        async with AsyncMetronis(api_key=API_KEY, base_url=metronis.url, batch=False) as client:
            trace_id = await client.trace(input="3+3?", output="6")
            await client.flush()
            assert client.stats["sent"] == 1
            return trace_id

    metronis.wait_for_trace(asyncio.run(main()))


def test_observe_and_context_ids(metronis: RunningMetronis) -> None:
    client = Metronis(api_key=API_KEY, base_url=metronis.url)

    @observe()
    def answer(question: str) -> str:
        sdk.current_observation().update(model="gpt-4o", usage={"input_tokens": 5, "output_tokens": 1})  # type: ignore[union-attr]
        return "Four."

    @observe(name="fails")
    def broken(question: str) -> str:
        raise ValueError("boom")

    with sdk.context(session_id="sess-py", user_id="user-py", tags=["ctx"]):
        assert answer("What is 2+2?") == "Four."
        with pytest.raises(ValueError):
            broken("x")
        with observation("block", input="hello") as obs:
            obs.output = "world"
    client.flush()
    ids = [t for t in (obs.trace_id,) if t]
    assert ids
    view = metronis.wait_for_trace(obs.trace_id)  # type: ignore[arg-type]
    assert view["trace"]["session_id"] == "sess-py" and view["trace"]["user_id"] == "user-py"
    assert view["trace"]["metadata"]["observation"] == "block"
    assert client.stats["sent"] == 3
    client.shutdown()


def test_server_down_at_start_then_up(metronis: RunningMetronis, forwarder) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    client = Metronis(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}", retry_policy=RetryPolicy(max_retries=30, initial_backoff=0.05, max_backoff=0.3), flush_interval=0.05)
    ids = [client.trace(input=f"down {i}", output="ok") for i in range(5)]
    time.sleep(0.5)  # the first attempts are refused: nothing listens yet
    assert client.stats["sent"] == 0
    proxy = forwarder(port)
    assert client.flush(timeout=30)
    assert client.stats["sent"] == 5 and client.stats["failed"] == 0
    for trace_id in ids:
        metronis.wait_for_trace(trace_id)
    assert any(path == "/v1/traces/batch" for _, path, _ in proxy.requests)
    client.shutdown()


def test_503_burst_is_retried_after_retry_after(metronis: RunningMetronis, forwarder) -> None:  # type: ignore[no-untyped-def]
    proxy = forwarder()
    proxy.refuse = [(503, {"Retry-After": "1"}), (503, {"Retry-After": "1"}), (429, {"Retry-After": "1"})]
    client = Metronis(api_key=API_KEY, base_url=proxy.url, retry_policy=FAST)
    trace_id = client.trace(input="burst", output="ok")
    assert client.flush(timeout=30)
    assert client.stats == {"sent": 1, "dropped": 0, "dropped_oversize": 0, "rejected": 0, "failed": 0, "queued": 0}
    statuses = [status for _, _, status in proxy.requests]
    assert statuses == [503, 503, 429, 202]
    gaps = [b[0] - a[0] for a, b in zip(proxy.requests, proxy.requests[1:])]
    assert all(gap >= 0.9 for gap in gaps), gaps  # each retry waited what Retry-After said, not the 50 ms backoff
    metronis.wait_for_trace(trace_id)
    client.shutdown()


def test_401_is_not_retried_and_strict_raises(metronis: RunningMetronis, forwarder) -> None:  # type: ignore[no-untyped-def]
    proxy = forwarder()
    client = Metronis(api_key="mtr_wrong_key_0123456789abcdef", base_url=proxy.url, retry_policy=FAST)
    client.trace(input="x", output="y")
    client.trace(input="x", output="y")
    assert client.flush() is True
    assert client.stats["failed"] == 2 and client.stats["sent"] == 0
    assert [status for _, _, status in proxy.requests] == [401]
    client.shutdown()

    strict = Metronis(api_key="mtr_wrong_key_0123456789abcdef", base_url=proxy.url, retry_policy=FAST, strict=True)
    strict.trace(input="x", output="y")
    with pytest.raises(MetronisError) as caught:
        strict.flush()
    assert caught.value.status == 401 and caught.value.code == "invalid_api_key"
    strict.shutdown()


def test_rejected_items_and_oversize_items(metronis: RunningMetronis) -> None:
    client = Metronis(api_key=API_KEY, base_url=metronis.url)
    good = client.trace(input="fine", output="ok")
    client.trace(input="bad", output="ok", tags=[""])  # the gateway refuses an empty tag, for this item only
    client.trace(input="huge", output="x" * 2_000_000)  # over 1 MiB: dropped before sending
    client.flush()
    assert client.stats["sent"] == 1 and client.stats["rejected"] == 1 and client.stats["dropped_oversize"] == 1
    assert client.dropped == 1
    metronis.wait_for_trace(good)
    client.shutdown()

    strict = Metronis(api_key=API_KEY, base_url=metronis.url, strict=True)
    with pytest.raises(MetronisError, match="over the limit"):
        strict.trace(input="huge", output="x" * 2_000_000)
    strict.shutdown()


def test_never_raises_without_a_key_and_strict_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRONIS_API_KEY", raising=False)
    client = Metronis(default=False)
    assert client.enabled is False
    assert client.trace(input="a", output="b")  # recorded nowhere, no exception
    with pytest.raises(MetronisError):
        Metronis(strict=True, default=False)


def test_reads_the_environment(metronis: RunningMetronis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRONIS_API_KEY", API_KEY)
    monkeypatch.setenv("METRONIS_BASE_URL", metronis.url)
    client = Metronis(default=False)
    trace_id = client.trace(input="env", output="ok")
    client.flush()
    metronis.wait_for_trace(trace_id)
    client.shutdown()


def test_idempotent_trace_ids(metronis: RunningMetronis) -> None:
    client = Metronis(api_key=API_KEY, base_url=metronis.url)
    trace_id = uid("idem")
    client.trace(input="q", output="first", trace_id=trace_id)
    client.flush()
    metronis.wait_for_trace(trace_id)
    client.trace(input="q", output="second", trace_id=trace_id)
    client.flush()
    deadline = time.monotonic() + 20
    while metronis.wait_for_trace(trace_id)["trace"]["output"]["content"] != "second":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    client.shutdown()


EXIT_SCRIPT = """
import json, sys
from metronis import Metronis
client = Metronis(api_key=sys.argv[1], base_url=sys.argv[2], max_queue_size=20, flush_interval=60, flush_at_exit_timeout=float(sys.argv[4]))
ids = [client.trace(input=f"exit {i}", output="ok", trace_id=f"{sys.argv[3]}-{i}") for i in range(50)]
print(json.dumps({"dropped": client.dropped}), flush=True)
# no flush, no shutdown: the process just ends
"""


def test_exit_with_a_full_queue_sends_what_was_queued(metronis: RunningMetronis, python: str) -> None:
    prefix = uid("exit")
    done = subprocess.run([python, "-c", textwrap.dedent(EXIT_SCRIPT), API_KEY, metronis.url, prefix, "10"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    dropped = int(__import__("json").loads(done.stdout.strip().splitlines()[-1])["dropped"])
    assert dropped > 0  # 50 traces into a queue of 20 faster than a batch goes out
    # Every trace not dropped was sent at exit; the sinks need a moment to store the last ones.
    missing = set(range(50))
    deadline = time.monotonic() + 30
    while len(missing) > dropped and time.monotonic() < deadline:
        missing -= {i for i in missing if metronis.get(f"/v1/traces/{prefix}-{i}").status_code == 200}
        time.sleep(0.2)
    stored = 50 - len(missing)
    assert stored == 50 - dropped


def test_exit_with_the_server_down_does_not_hang(python: str) -> None:
    started = time.monotonic()
    done = subprocess.run([python, "-c", textwrap.dedent(EXIT_SCRIPT), API_KEY, f"http://127.0.0.1:{free_port()}", "down", "1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30  # bounded by flush_at_exit_timeout, not by the retry schedule


def test_search_uses_the_search_api_or_says_it_is_missing(metronis: RunningMetronis) -> None:
    client = Metronis(api_key=API_KEY, base_url=metronis.url)
    session = uid("search")
    ids = [client.trace(input=f"s{i}", output="ok", session_id=session) for i in range(3)]
    client.flush()
    for trace_id in ids:
        metronis.wait_for_trace(trace_id)
    document = metronis.get("/openapi.json").json()
    if "get" in document["paths"].get("/v1/traces", {}):
        page = client.search(session_id=session, limit=2)
        assert len(page["items"]) == 2 and page["next_cursor"]
        assert sorted(item["trace_id"] if "trace_id" in item else item["trace"]["trace_id"] for item in client.iter_search(session_id=session, limit=2)) == sorted(ids)
    else:
        with pytest.raises(NotAvailableError, match=r"GET /v1/traces"):
            client.search(session_id=session)
    with pytest.raises(TypeError, match="unknown filter"):
        client.search(sesion_id=session)
    client.shutdown()


def test_unreachable_read_raises_a_network_error() -> None:
    client = Metronis(api_key=API_KEY, base_url=f"http://127.0.0.1:{free_port()}", retry_policy=RetryPolicy(max_retries=1, initial_backoff=0.01), default=False)
    with pytest.raises(MetronisError) as caught:
        client.get_trace("x")
    assert caught.value.code == "network_error"
    client.shutdown()


def test_retry_after_parsing() -> None:
    from metronis._transport import retry_after_seconds

    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 10) == pytest.approx(10.0)
    assert httpx  # the installed dependency
