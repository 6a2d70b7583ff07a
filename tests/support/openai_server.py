"""A scriptable OpenAI-compatible HTTP server on 127.0.0.1, for provider tests.

It speaks just enough of the chat-completions API for ``irgraph.openai_provider`` to be tested
end to end through the real ``openai`` client, without the internet: ``POST
/v1/chat/completions`` answers with JSON, or with server-sent events (``data: {...}`` chunks,
then ``data: [DONE]``) when the request asks to stream. Built on the standard library
(``ThreadingHTTPServer`` in a background thread) so tests need no extra package.

Every request is recorded (path, headers including ``Authorization``, JSON body) so a test can
check what the client really sent. The next responses can be scripted: fail with a status code
(429, 500, ...), or wait before answering (for timeout tests). Failures carry a
``retry-after-ms`` header so the client's retry back-off stays in milliseconds.

>>> with OpenAIServer(reply="hi") as server:
...     server.base_url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = ["OpenAIServer", "RecordedRequest", "Scripted", "openai_server"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased, as HTTP headers are case-insensitive
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        """The text of the last message, which is what the provider sends as the prompt."""
        messages = self.body.get("messages") or [{}]
        return str(messages[-1].get("content", ""))


@dataclass
class Scripted:
    """What to do with one upcoming request instead of answering normally."""

    status: int = 200
    delay: float = 0.0
    retry_after_ms: int | None = 10
    message: str = "scripted failure"
    body: tuple[str, bytes] | None = None  # (content type, bytes) sent instead of the error


@dataclass
class _State:
    reply: str | None = "Hello from the test server."
    chunks: list[str] | None = None
    refusal: str | None = None
    page: tuple[str, bytes] | None = None
    finish_reason: str = "stop"
    requests: list[RecordedRequest] = field(default_factory=list)
    script: deque[Scripted] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)


class OpenAIServer:
    """An OpenAI-compatible test server; use as a context manager or call start()/stop().

    ``reply`` is the answer text (``None`` makes the server answer with ``content: null``);
    ``chunks`` splits the streamed answer (default: the reply word by word).
    """

    def __init__(self, reply: str | None = "Hello from the test server.") -> None:
        self._state = _State(reply=reply)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- configuration -------------------------------------------------------------------

    @property
    def reply(self) -> str | None:
        return self._state.reply

    @reply.setter
    def reply(self, value: str | None) -> None:
        self._state.reply = value

    @property
    def chunks(self) -> list[str] | None:
        return self._state.chunks

    @chunks.setter
    def chunks(self, value: list[str] | None) -> None:
        self._state.chunks = value

    @property
    def refusal(self) -> str | None:
        """The model's refusal, sent as ``message.refusal`` (streamed as ``delta.refusal``)
        with no content, as OpenAI answers a request its model declines."""
        return self._state.refusal

    @refusal.setter
    def refusal(self, value: str | None) -> None:
        self._state.refusal = value

    @property
    def finish_reason(self) -> str:
        """Why the answer ended, as the server says it: ``"stop"``, or ``"length"`` for an
        answer cut at its token limit (``max_tokens``)."""
        return self._state.finish_reason

    @finish_reason.setter
    def finish_reason(self, value: str) -> None:
        self._state.finish_reason = value

    @property
    def page(self) -> tuple[str, bytes] | None:
        """``(content type, body)`` sent with HTTP 200 to every request instead of an answer:
        what a web page or a proxy at the wrong ``base_url`` sends."""
        return self._state.page

    @page.setter
    def page(self, value: tuple[str, bytes] | None) -> None:
        self._state.page = value

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        retry_after_ms: int | None = 10,
        message: str = "scripted failure",
        body: tuple[str, bytes] | None = None,
    ) -> None:
        """Answer the next ``count`` requests with HTTP ``status`` and an OpenAI error body.

        ``retry_after_ms`` (a header the openai client honours) keeps retries fast; ``None``
        leaves the client to its own back-off. ``body``, ``(content type, bytes)``, is sent
        instead of the OpenAI error body, as servers of other shapes (Ollama, a proxy) answer.
        """
        step = Scripted(status=status, retry_after_ms=retry_after_ms, message=message, body=body)
        with self._state.lock:
            self._state.script.extend([step] * count)

    def delay_next(self, seconds: float, count: int = 1) -> None:
        """Wait ``seconds`` before answering each of the next ``count`` requests."""
        with self._state.lock:
            for _ in range(count):
                self._state.script.append(Scripted(delay=seconds))

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every chat-completions request received so far, oldest first."""
        with self._state.lock:
            return list(self._state.requests)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client, ending in ``/v1``."""
        if self._httpd is None:
            raise RuntimeError("The test server is not running; call start() first.")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> OpenAIServer:
        """Listen on a free port of 127.0.0.1 and serve from a daemon thread."""
        handler = type("_BoundHandler", (_Handler,), {"state": self._state})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="openai-test-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    state: _State
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the access log would only clutter test output."""

    def do_POST(self) -> None:
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout test); nothing is left to answer.
            self.close_connection = True

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, _error("The request body is not valid JSON.", "invalid_request"))
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, _error(f"No route for {self.path}.", "not_found"))
            return
        with self.state.lock:
            self.state.requests.append(
                RecordedRequest(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
            )
            step = self.state.script.popleft() if self.state.script else Scripted()
            reply, chunks = self.state.reply, self.state.chunks
            refusal, page = self.state.refusal, self.state.page
            finish = self.state.finish_reason
        if step.delay:
            time.sleep(step.delay)
        if step.status != 200:
            headers = {}
            if step.retry_after_ms is not None:
                headers["retry-after-ms"] = str(step.retry_after_ms)
            if step.body is not None:
                self._send_page(*step.body, status=step.status)
            else:
                self._send_json(step.status, _error(step.message, "server_error"), headers)
            return
        model = str(body.get("model", ""))
        if page is not None:
            self._send_page(*page)
        elif body.get("stream"):
            self._send_stream(model, reply, chunks, refusal, finish)
        else:
            self._send_json(200, _completion(model, reply, refusal, finish))

    def _send_page(self, content_type: str, data: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(
        self,
        model: str,
        reply: str | None,
        chunks: list[str] | None,
        refusal: str | None,
        finish: str = "stop",
    ) -> None:
        if chunks is None:
            words = (reply or "").split(" ")
            chunks = [w if i == 0 else " " + w for i, w in enumerate(words)]
        # Like OpenAI: a first chunk with the role only, the text, then an empty final delta.
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if refusal is not None:
            deltas += [{"refusal": refusal[:9]}, {"refusal": refusal[9:]}]
        else:
            deltas += [{"content": piece} for piece in chunks]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for delta in deltas:
            self._send_event(_chunk(model, delta, None))
        self._send_event(_chunk(model, {}, finish))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def _send_event(self, payload: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        self.wfile.flush()


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _completion(
    model: str, reply: str | None, refusal: str | None = None, finish: str = "stop"
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply}
    if refusal is not None:
        message = {"role": "assistant", "content": None, "refusal": refusal}
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A running test server, stopped after the test."""
    with OpenAIServer() as server:
        yield server
