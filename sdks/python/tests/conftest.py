"""Fixtures: a real Metronis (``metronis dev`` from the repository's build, on a temporary data folder
and a free port), a local server speaking the OpenAI and Anthropic HTTP protocols, and a forwarding
proxy in front of Metronis that can refuse requests (503 bursts) or be absent (server down)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

REPO = Path(os.environ.get("METRONIS_REPO", Path(__file__).resolve().parents[3]))
CLI = REPO / "apps" / "cli" / "dist" / "main.js"
API_KEY = "mtr_python_sdk_test_key_0123456789"


class RunningMetronis:
    def __init__(self, url: str, process: subprocess.Popen[bytes], data_dir: str) -> None:
        self.url = url
        self.process = process
        self.data_dir = data_dir
        self.api_key = API_KEY

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10, **kwargs)

    def wait_for_trace(self, trace_id: str, *, verdict: bool = False, timeout: float = 30.0) -> dict[str, Any]:
        """The stored trace view (with its verdict when asked), polling until it is there."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            response = self.get(f"/v1/traces/{trace_id}")
            last = response.status_code
            if response.status_code == 200:
                view = response.json()
                if not verdict or view.get("verdict") is not None:
                    return view
            time.sleep(0.1)
        raise AssertionError(f"trace {trace_id} not readable within {timeout} s (last status {last})")


@pytest.fixture(scope="session")
def metronis() -> Iterator[RunningMetronis]:
    if not CLI.exists():
        pytest.fail(f"{CLI} is missing: run `npm run build` first (the test command does)")
    data_dir = tempfile.mkdtemp(prefix="metronis-pysdk-")
    env = {**os.environ, "METRONIS_DATA_DIR": data_dir, "METRONIS_PORT": "0", "METRONIS_DEV_API_KEY": API_KEY, "METRONIS_LOG_LEVEL": "warn"}
    process = subprocess.Popen(["node", str(CLI), "dev"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = b""
    deadline = time.monotonic() + 120
    url = None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output += line
        match = re.search(rb"listening on (http://\S+)", line)
        if match:
            url = match.group(1).decode()
            break
    if url is None:
        process.kill()
        pytest.fail(f"metronis dev did not start:\n{output.decode(errors='replace')}")
    threading.Thread(target=lambda: [None for _ in iter(process.stdout.readline, b"")], daemon=True).start()  # type: ignore[union-attr]
    yield RunningMetronis(url, process, data_dir)
    process.kill()
    process.wait()
    shutil.rmtree(data_dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Forwarder:
    """A proxy in front of Metronis that records each request and can refuse the first ones."""

    def __init__(self, target: str, port: int = 0) -> None:
        self.target = target
        self.requests: list[tuple[float, str, int]] = []  # (time, path, status answered)
        self.bodies: list[bytes] = []  # what was forwarded
        self.refuse: list[tuple[int, dict[str, str]]] = []  # answers to give before forwarding
        forwarder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                if forwarder.refuse:
                    status, headers = forwarder.refuse.pop(0)
                    forwarder.requests.append((time.monotonic(), self.path, status))
                    payload = json.dumps({"error": {"code": "log_unavailable", "message": "refused by the test", "request_id": "t"}}).encode()
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                forwarder.bodies.append(body)
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                response = httpx.request(self.command, forwarder.target + self.path, headers=headers, content=body, timeout=30)
                forwarder.requests.append((time.monotonic(), self.path, response.status_code))
                self.send_response(response.status_code)
                for k, v in response.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("content-length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = _handle
            do_POST = _handle

        self.server = Server(Handler, port)
        self.url = self.server.url

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def forwarder(metronis: RunningMetronis) -> Iterator[Callable[..., Forwarder]]:
    made: list[Forwarder] = []

    def make(port: int = 0) -> Forwarder:
        f = Forwarder(metronis.url, port)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


ANSWER = "Paris."


class LlmHandler(BaseHTTPRequestHandler):
    """OpenAI ``POST /v1/chat/completions`` and Anthropic ``POST /v1/messages``, JSON or SSE."""

    def log_message(self, *args: Any) -> None:
        pass

    def _send_json(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, events: list[tuple[str | None, dict[str, Any] | str]]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for name, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            self.wfile.write(((f"event: {name}\n" if name else "") + f"data: {text}\n\n").encode())
            self.wfile.flush()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        model = body.get("model", "test-model")
        if self.path.endswith("/chat/completions"):
            if body.get("stream"):
                chunk = lambda delta, finish, **extra: {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}  # noqa: E731
                self._send_sse([
                    (None, chunk({"role": "assistant", "content": "Par"}, None)),
                    (None, chunk({"content": "is."}, None)),
                    (None, chunk({}, "stop", usage={"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11})),
                    (None, "[DONE]"),
                ])  # fmt: skip
                return
            self._send_json({
                "id": "c1", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
            })  # fmt: skip
            return
        if self.path.endswith("/messages"):
            message = {"id": "m1", "type": "message", "role": "assistant", "model": model, "stop_reason": "end_turn", "stop_sequence": None}
            if body.get("stream"):
                self._send_sse([
                    ("message_start", {"type": "message_start", "message": {**message, "content": [], "stop_reason": None, "usage": {"input_tokens": 9, "output_tokens": 1}}}),
                    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Par"}}),
                    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "is."}}),
                    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 2}}),
                    ("message_stop", {"type": "message_stop"}),
                ])  # fmt: skip
                return
            self._send_json({**message, "content": [{"type": "text", "text": ANSWER}], "usage": {"input_tokens": 9, "output_tokens": 2}})
            return
        self.send_response(404)
        self.end_headers()


@pytest.fixture(scope="session")
def llm_server() -> Iterator[str]:
    server = Server(LlmHandler)
    yield server.url
    server.close()


@pytest.fixture
def python() -> str:
    return sys.executable
