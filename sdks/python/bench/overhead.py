"""The added latency of the SDK on the caller's path, in one run: a decorated function and a wrapped
OpenAI call, each against the same call without any SDK and against the Langfuse Python SDK doing
the same job (``@observe`` and ``langfuse.openai``). Run by ``bash sdks/python/bench/run.sh``.

Both SDKs send to a local sink that accepts everything at once (202 for Metronis batches, 200 for
Langfuse's OTLP export), so what is measured is the SDKs' own cost in the application's process:
building the record, queueing it, and the background sender's competition for the GIL and the CPU.
The OpenAI calls go to a local OpenAI-compatible server. Calls of each kind are interleaved in rounds
(bare, Metronis, Langfuse, bare, ...) so that drift in the machine's load hits all three alike.

    python overhead.py [--calls 2000] [--llm-calls 500] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The handler writes the headers and the body in two sends: without TCP_NODELAY the body waits for
    # the client's delayed ACK of the headers (about 40 ms on Linux) on some calls and not others,
    # which swamped the SDKs' microseconds in the first run.
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.endswith("/chat/completions"):
            request = json.loads(body or b"{}")
            payload = {
                "id": "c1", "object": "chat.completion", "created": 1, "model": request.get("model", "m"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
            }  # fmt: skip
            self._answer(200, payload)
        elif self.path == "/v1/traces/batch":
            count = len(json.loads(body)["traces"])
            self._answer(202, {"accepted": [{"index": i, "trace_id": str(i)} for i in range(count)], "rejected": []})
        else:  # Langfuse: OTLP export and anything else
            self._answer(200, {})

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def summary(samples_ns: list[int]) -> dict[str, float]:
    us = sorted(s / 1000 for s in samples_ns)
    return {
        "mean_us": round(statistics.fmean(us), 2),
        "p50_us": round(us[len(us) // 2], 2),
        "p95_us": round(us[int(len(us) * 0.95)], 2),
        "p99_us": round(us[int(len(us) * 0.99)], 2),
    }


def interleaved(calls: int, variants: dict[str, Callable[[], Any]], warmup: int) -> dict[str, dict[str, float]]:
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[int]] = {name: [] for name in variants}
    for _ in range(calls):
        for name, fn in variants.items():
            started = time.perf_counter_ns()
            fn()
            samples[name].append(time.perf_counter_ns() - started)
    out = {name: summary(s) for name, s in samples.items()}
    base = out["bare"]
    for name, stats in out.items():
        stats["added_p50_us"] = round(stats["p50_us"] - base["p50_us"], 2)
        stats["added_mean_us"] = round(stats["mean_us"] - base["mean_us"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--llm-calls", type=int, default=500)
    parser.add_argument("--json")
    args = parser.parse_args()

    sink = serve()
    os.environ.update({"LANGFUSE_PUBLIC_KEY": "pk-lf-bench", "LANGFUSE_SECRET_KEY": "sk-lf-bench", "LANGFUSE_HOST": sink, "LANGFUSE_BASE_URL": sink})

    import langfuse
    import openai
    from langfuse import get_client as langfuse_client
    from langfuse import observe as langfuse_observe
    from langfuse.openai import OpenAI as LangfuseOpenAI

    import metronis
    from metronis import Metronis, wrap_openai

    client = Metronis(api_key="mtr_bench_0123456789abcdef", base_url=sink)

    def work(question: str) -> str:
        return question[::-1]

    bare_fn = work
    metronis_fn = metronis.observe(name="work")(work)
    langfuse_fn = langfuse_observe(name="work")(work)
    functions = interleaved(args.calls, {"bare": lambda: bare_fn("What is the capital of France?"), "metronis": lambda: metronis_fn("What is the capital of France?"), "langfuse": lambda: langfuse_fn("What is the capital of France?")}, warmup=50)

    messages = [{"role": "user", "content": "What is the capital of France?"}]
    bare_openai = openai.OpenAI(api_key="sk-bench", base_url=f"{sink}/v1")
    metronis_openai = wrap_openai(openai.OpenAI(api_key="sk-bench", base_url=f"{sink}/v1"), metronis=client)
    langfuse_openai = LangfuseOpenAI(api_key="sk-bench", base_url=f"{sink}/v1")
    llm = interleaved(
        args.llm_calls,
        {
            "bare": lambda: bare_openai.chat.completions.create(model="gpt-4o-mini", messages=messages),
            "metronis": lambda: metronis_openai.chat.completions.create(model="gpt-4o-mini", messages=messages),
            "langfuse": lambda: langfuse_openai.chat.completions.create(model="gpt-4o-mini", messages=messages),
        },
        warmup=20,
    )
    client.flush()
    langfuse_client().flush()
    result = {
        "python": sys.version.split()[0],
        "metronis": metronis.__version__,
        "langfuse": getattr(langfuse, "__version__", "?"),
        "openai": openai.__version__,
        "calls": args.calls,
        "llm_calls": args.llm_calls,
        "decorated_function": functions,
        "openai_chat_completion": llm,
        "metronis_stats": client.stats,
    }
    text = json.dumps(result, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    print(text)
    print()
    print("| call | without an SDK (p50) | Metronis added (p50 / mean) | Langfuse added (p50 / mean) |")
    print("| --- | ---: | ---: | ---: |")
    for label, table in (("decorated function", functions), ("OpenAI chat completion (local server)", llm)):
        print(
            f"| {label} | {table['bare']['p50_us']} µs | {table['metronis']['added_p50_us']} / {table['metronis']['added_mean_us']} µs"
            f" | {table['langfuse']['added_p50_us']} / {table['langfuse']['added_mean_us']} µs |"
        )
    client.shutdown()


if __name__ == "__main__":
    main()
