"""The OpenAI provider against a local server that answers no choice at all (a proxy or a
content filter does): the error says so, rather than that the answer's content was missing."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from irgraph.openai_provider import OpenAIProvider, OpenAIProviderError
from irgraph.providers import ModelRequest

NO_CHOICES = {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}


class NoChoices(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        data = json.dumps(NO_CHOICES).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NoChoices)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_answer_with_no_choices_is_told_as_such(base_url: str) -> None:
    provider = OpenAIProvider("m", base_url=base_url, max_retries=0)
    with pytest.raises(OpenAIProviderError) as caught:
        asyncio.run(provider.complete(ModelRequest("writer", "writer", "Write.")))
    message = str(caught.value)
    assert "gave no text for node 'writer'" in message
    assert "list of choices was empty or missing" in message
    assert "filters content" in message
