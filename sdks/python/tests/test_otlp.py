"""OpenTelemetry into Metronis with no Metronis code in the app: the Python OTel SDK and
``opentelemetry-exporter-otlp-proto-http`` configured only by ``OTEL_EXPORTER_OTLP_*`` variables,
sending (1) a hand-made GenAI-conventions span around an OpenAI call, (2) OpenInference's OpenAI
instrumentation, (3) OpenLLMetry's OpenAI instrumentation. Each app runs in its own process (the
instrumentations patch the openai module globally); the traces are read back with their verdicts."""

from __future__ import annotations

import os
import subprocess
import tempfile
import textwrap
import time
import uuid
from typing import Any

import pytest

from .conftest import API_KEY, RunningMetronis

SETUP = """
import json, os, sys
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
import openai

provider = TracerProvider(resource=Resource.create({"service.name": sys.argv[2]}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # endpoint and headers from OTEL_EXPORTER_OTLP_*
trace.set_tracer_provider(provider)
client = openai.OpenAI(api_key="sk-test", base_url=sys.argv[1] + "/v1")
question = sys.argv[3]
"""

GENAI = """
tracer = trace.get_tracer("hand-made")
with tracer.start_as_current_span("chat gpt-4o-mini", kind=trace.SpanKind.CLIENT) as span:
    messages = [{"role": "user", "content": question}]
    span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.conversation.id": "otel-session"})
    result = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    span.set_attributes({
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": question}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": result.choices[0].message.content}], "finish_reason": "stop"}]),
        "gen_ai.usage.input_tokens": result.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": result.usage.completion_tokens,
    })
provider.shutdown()
"""

OPENINFERENCE = """
from openinference.instrumentation.openai import OpenAIInstrumentor
OpenAIInstrumentor().instrument(tracer_provider=provider)
with trace.get_tracer("app").start_as_current_span("handle request", attributes={"session.id": "oi-session", "user.id": "oi-user"}):
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": question}])
provider.shutdown()
"""

OPENLLMETRY = """
os.environ.setdefault("TRACELOOP_TRACE_CONTENT", "true")
from opentelemetry.instrumentation.openai import OpenAIInstrumentor
OpenAIInstrumentor().instrument(tracer_provider=provider)
client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": question}])
provider.shutdown()
"""


def run_app(python: str, metronis: RunningMetronis, llm_server: str, body: str, service: str, question: str) -> None:
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"{metronis.url}/otlp",
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{API_KEY}",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
    }
    done = subprocess.run([python, "-c", textwrap.dedent(SETUP) + textwrap.dedent(body), llm_server, service, question], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Failed to export" not in done.stderr, done.stderr


_ID_FILE = os.path.join(tempfile.gettempdir(), f"metronis-otlp-ids-{uuid.uuid4().hex}.txt")


def find_trace(metronis: RunningMetronis, question: str) -> dict[str, Any]:
    """The evaluated trace whose input holds the question, among the ids the apps wrote down."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ids = open(_ID_FILE).read().split() if os.path.exists(_ID_FILE) else []
        for trace_id in ids:
            response = metronis.get(f"/v1/traces/{trace_id}")
            if response.status_code != 200:
                continue  # a skipped (non-LLM) span, or not stored yet
            view = response.json()
            if question in str(view["trace"]["input"]) and view.get("verdict") is not None:
                return view
        time.sleep(0.2)
    raise AssertionError(f"no evaluated trace with {question!r}")


# Every app also writes down the Metronis id each of its spans would have (otel-<trace id>-<span id>),
# so the test reads its traces back by id.
RECORD_IDS = f"""
from opentelemetry.sdk.trace import SpanProcessor
class _RecordIds(SpanProcessor):
    def on_end(self, span):
        ctx = span.get_span_context()
        with open({_ID_FILE!r}, "a") as f:
            f.write(f"otel-{{ctx.trace_id:032x}}-{{ctx.span_id:016x}}\\n")
provider.add_span_processor(_RecordIds())
"""


@pytest.mark.parametrize(
    ("name", "body", "expect"),
    [
        ("genai", GENAI, {"model": "gpt-4o-mini", "session_id": "otel-session"}),
        ("openinference", OPENINFERENCE, {"model": "gpt-4o", "session_id": "oi-session", "user_id": "oi-user"}),
        ("openllmetry", OPENLLMETRY, {"model": "gpt-4o"}),
    ],
)
def test_otel_exporter_into_metronis(metronis: RunningMetronis, llm_server: str, python: str, name: str, body: str, expect: dict[str, str]) -> None:
    question = f"What is the capital of France? ({name} {uuid.uuid4().hex[:8]})"
    run_app(python, metronis, llm_server, RECORD_IDS + body, f"{name}-app", question)
    view = find_trace(metronis, question)
    trace = view["trace"]
    assert trace["application"] == f"{name}-app"
    assert trace["output"]["content"] == "Paris."
    assert trace["model"]["name"].startswith(expect["model"])
    assert trace["usage"]["input_tokens"] == 9 and trace["usage"]["output_tokens"] == 2
    assert trace["trace_id"] == f"otel-{trace['metadata']['otel.trace_id']}-{trace['metadata']['otel.span_id']}"
    for key in ("session_id", "user_id"):
        if key in expect:
            assert trace[key] == expect[key]
    assert view["verdict"]["passed"] in (True, False)
