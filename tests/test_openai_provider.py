"""OpenAIProvider end to end: the real ``openai`` client against a local test server.

Nothing leaves 127.0.0.1. The server answers failures with ``retry-after-ms: 10``, which the
client honours, so retry tests take milliseconds instead of the client's 0.5 s back-off.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import pickle
import subprocess
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest

from irgraph.errors import IrgraphError, MissingExtraError
from irgraph.openai_errors import CutAnswerWarning
from irgraph.openai_provider import OpenAIProvider, OpenAIProviderError
from irgraph.provider_spec import provider_from_spec
from irgraph.providers import ModelRequest, ProviderError, StreamingProvider
from tests.support.openai_server import OpenAIServer, openai_server

__all__ = ["openai_server"]  # the fixture, re-exported so pytest finds it here

KEY = "sk-test-Zq8vN3xW1yT7-very-secret"
T = TypeVar("T")


def ask(prompt: str = "Say hello.", model: str | None = None) -> ModelRequest:
    return ModelRequest(node="writer", agent="writer", prompt=prompt, model=model)


def make(server: OpenAIServer, **options: Any) -> OpenAIProvider:
    options.setdefault("max_retries", 2)
    options.setdefault("timeout", 5.0)
    return OpenAIProvider("test-model", server.base_url, KEY, **options)


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


async def collect(chunks: AsyncIterator[str]) -> list[str]:
    return [piece async for piece in chunks]


def raised(call: Callable[[], object]) -> OpenAIProviderError:
    with pytest.raises(OpenAIProviderError) as info:
        call()
    return info.value


def assert_no_key(error: BaseException) -> None:
    """The key appears nowhere in the error, its cause or its context."""
    seen: BaseException | None = error
    while seen is not None:
        assert KEY not in str(seen) and KEY not in repr(seen)
        assert KEY not in str(getattr(seen, "args", ""))
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)


# -- answering ---------------------------------------------------------------------------


def test_complete_returns_the_answer_and_sends_prompt_model_and_key(
    openai_server: OpenAIServer,
) -> None:
    openai_server.reply = "Hello, world."
    provider = make(openai_server)

    assert run(provider.complete(ask("Say hello."))) == "Hello, world."

    (request,) = openai_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "test-model"
    assert request.body["messages"] == [{"role": "user", "content": "Say hello."}]
    assert "temperature" not in request.body
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_stream_chunks_join_to_the_full_answer(openai_server: OpenAIServer) -> None:
    openai_server.reply = "one two three four"
    provider = make(openai_server)
    assert isinstance(provider, StreamingProvider)

    chunks = run(collect(provider.stream(ask())))

    assert len(chunks) == 4
    assert "".join(chunks) == "one two three four"
    assert openai_server.requests[0].body["stream"] is True


def test_request_model_overrides_the_provider_model(openai_server: OpenAIServer) -> None:
    provider = make(openai_server)

    run(provider.complete(ask(model="other-model")))
    run(collect(provider.stream(ask(model="streamed-model"))))
    run(provider.complete(ask()))

    models = [r.body["model"] for r in openai_server.requests]
    assert models == ["other-model", "streamed-model", "test-model"]


def test_temperature_is_sent_when_set(openai_server: OpenAIServer) -> None:
    run(make(openai_server, temperature=0.25).complete(ask()))
    assert openai_server.requests[0].body["temperature"] == 0.25


def test_one_provider_serves_several_event_loops_and_closes_their_connections(
    openai_server: OpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    # run() starts a fresh loop per call; a client bound to a closed loop would fail here, and
    # connections left open would fail with "Event loop is closed" when collected.
    caplog.set_level(logging.WARNING)

    async def collect_garbage() -> None:
        gc.collect()  # inside a running loop, where a stray close would be scheduled
        await asyncio.sleep(0.05)

    gc.collect()  # garbage left by earlier tests must not be finalised, and counted, below
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        provider = make(openai_server)
        for _ in range(3):
            assert run(provider.complete(ask())) == openai_server.reply
            assert "".join(run(collect(provider.stream(ask())))) == openai_server.reply
            assert run(make(openai_server).complete(ask())) == openai_server.reply
        run(collect_garbage())

    assert len(openai_server.requests) == 9
    assert [w.message for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert "Event loop is closed" not in caplog.text
    assert "never retrieved" not in caplog.text


def test_aclose_closes_the_running_loops_client(openai_server: OpenAIServer) -> None:
    provider = make(openai_server)

    async def twice() -> list[str]:
        first = await provider.complete(ask())
        await provider.aclose()
        return [first, await provider.complete(ask())]  # a new client is made on demand

    assert run(twice()) == [openai_server.reply] * 2


def test_provider_pickles_without_its_clients(openai_server: OpenAIServer) -> None:
    provider = make(openai_server)
    run(provider.complete(ask()))
    copy = pickle.loads(pickle.dumps(provider))
    assert run(copy.complete(ask())) == openai_server.reply
    assert repr(copy) == repr(provider)


# -- retries and timeouts -----------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500])
def test_transient_failure_is_retried_then_succeeds(
    openai_server: OpenAIServer, status: int
) -> None:
    # 700 ms is longer than the client's own first back-off (at most 0.5 s): a wait at least
    # that long shows the server's retry-after-ms was honoured (a bound no busy machine breaks).
    openai_server.fail_next(1, status=status, retry_after_ms=700)
    provider = make(openai_server, max_retries=2)

    started = time.monotonic()
    assert run(provider.complete(ask())) == openai_server.reply

    assert len(openai_server.requests) == 2
    assert time.monotonic() - started >= 0.7


def test_stream_retries_a_failure_before_the_first_chunk(openai_server: OpenAIServer) -> None:
    openai_server.fail_next(1, status=429)
    chunks = run(collect(make(openai_server).stream(ask())))
    assert "".join(chunks) == openai_server.reply
    assert len(openai_server.requests) == 2


def test_persistent_500_raises_provider_error_after_all_retries(
    openai_server: OpenAIServer,
) -> None:
    openai_server.fail_next(10, status=500)
    provider = make(openai_server, max_retries=2)

    error = raised(lambda: run(provider.complete(ask())))

    assert isinstance(error, ProviderError) and isinstance(error, IrgraphError)
    assert len(openai_server.requests) == 3
    assert error.status_code == 500
    assert error.model == "test-model"
    assert error.base_url == openai_server.base_url
    assert error.node == "writer"
    text = str(error)
    assert "'test-model'" in text and openai_server.base_url in text
    assert "HTTP 500" in text and "scripted failure" in text
    assert "3 attempts" in text and "max_retries" in text


def test_persistent_429_hint_mentions_rate_limiting(openai_server: OpenAIServer) -> None:
    openai_server.fail_next(10, status=429)
    error = raised(lambda: run(make(openai_server, max_retries=1).complete(ask())))
    assert error.status_code == 429
    assert "rate limiting" in str(error)
    assert len(openai_server.requests) == 2


@pytest.mark.parametrize(
    ("body", "said"),
    [
        # Ollama: {"error": "<text>"}, no OpenAI error object
        (
            (
                "application/json",
                b'{"error": "model \\"llama3\\" not found, try pulling it first"}',
            ),
            'model "llama3" not found, try pulling it first.',
        ),
        (("application/json", b'{"detail": "Not Found"}'), "Not Found."),  # FastAPI's
        (("text/plain", b"Bad Gateway"), "Bad Gateway."),  # a proxy in front of the server
        (("text/html", b"<html><body>404 Not Found</body></html>"), "<html><body>404 Not Found"),
    ],
)
def test_an_error_body_of_another_shape_is_quoted(
    openai_server: OpenAIServer, body: tuple[str, bytes], said: str
) -> None:
    # The server's own words were lost ("answered HTTP 404: Error code: 404.") unless the body
    # was OpenAI's {"error": {"message": ...}}.
    openai_server.fail_next(5, status=404, body=body)
    error = raised(lambda: run(make(openai_server, max_retries=0).complete(ask())))
    assert said in str(error) and "Error code" not in str(error)
    assert error.status_code == 404


def test_timeout_raises_provider_error_quickly(openai_server: OpenAIServer) -> None:
    openai_server.delay_next(60.0)  # a reply after the timeout would make this no error at all
    provider = make(openai_server, timeout=0.2, max_retries=0)

    error = raised(lambda: run(provider.complete(ask())))

    assert error.status_code is None
    assert "Timed out" in str(error) and "0.2 s" in str(error) and "timeout=" in str(error)


def test_timeout_is_retried(openai_server: OpenAIServer) -> None:
    openai_server.delay_next(60.0)
    # the retry must be answered within the timeout: room for a loaded machine's round trip
    provider = make(openai_server, timeout=1.5, max_retries=1)

    assert run(provider.complete(ask())) == openai_server.reply
    assert len(openai_server.requests) == 2


def test_unreachable_server_raises_provider_error() -> None:
    with OpenAIServer() as server:
        base_url = server.base_url  # the port is free again once the server stops
    provider = OpenAIProvider("test-model", base_url, KEY, max_retries=0, timeout=2.0)

    error = raised(lambda: run(provider.complete(ask())))

    assert "Could not reach" in str(error) and base_url in str(error)
    assert "base_url" in error.hint


# -- unusable answers ---------------------------------------------------------------------


def test_null_content_is_a_clear_provider_error(openai_server: OpenAIServer) -> None:
    openai_server.reply = None
    error = raised(lambda: run(make(openai_server).complete(ask())))
    assert "gave no text" in str(error) and "missing" in str(error)
    assert "'test-model'" in str(error) and "'writer'" in str(error)


def test_empty_content_is_a_clear_provider_error(openai_server: OpenAIServer) -> None:
    openai_server.reply = ""
    error = raised(lambda: run(make(openai_server).complete(ask())))
    assert "gave no text" in str(error) and "empty" in str(error)


def test_empty_stream_is_a_clear_provider_error(openai_server: OpenAIServer) -> None:
    openai_server.chunks = []
    error = raised(lambda: run(collect(make(openai_server).stream(ask()))))
    assert "streamed no text" in str(error)


PAGE = b"<!doctype html><html><head><title>Open WebUI</title></head></html>"


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/json"])
def test_a_web_page_at_the_base_url_is_named_with_its_start(
    openai_server: OpenAIServer, content_type: str
) -> None:
    # base_url at a web app's page rather than its API (no /v1): HTTP 200 and HTML, which the
    # client handed back as text (text/html) or failed to parse with a bare JSONDecodeError.
    openai_server.page = (content_type, PAGE)
    error = raised(lambda: run(make(openai_server).complete(ask())))
    text = str(error)
    assert "'test-model'" in text and openai_server.base_url in text and "'writer'" in text
    assert "not a chat completion" in text and "<!doctype html><html><head><title>" in text
    assert "/v1" in error.hint and "tools" not in text


def test_a_web_page_sent_for_a_stream_is_named(openai_server: OpenAIServer) -> None:
    openai_server.page = ("text/html", PAGE)
    error = raised(lambda: run(collect(make(openai_server).stream(ask()))))
    assert "streamed no text" in str(error) and "text/html" in str(error)
    assert "/v1" in error.hint


def test_a_whole_json_answer_sent_for_a_stream_says_the_server_may_not_stream(
    openai_server: OpenAIServer,
) -> None:
    # A server that ignores stream=True and sends its whole answer as JSON is no web page:
    # the hint about base_url pointing at one would mislead.
    whole = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}}]}
    openai_server.page = ("application/json", json.dumps(whole).encode())
    error = raised(lambda: run(collect(make(openai_server).stream(ask()))))
    assert "application/json" in str(error) and "may not stream" in error.hint
    assert "web page" not in error.hint


@pytest.mark.parametrize("streamed", [False, True])
def test_a_refusal_is_quoted_not_called_a_missing_answer(
    openai_server: OpenAIServer, streamed: bool
) -> None:
    openai_server.refusal = "I'm sorry, I cannot help with that request."
    provider = make(openai_server)
    if streamed:
        error = raised(lambda: run(collect(provider.stream(ask()))))
    else:
        error = raised(lambda: run(provider.complete(ask())))
    text = str(error)
    assert "refused" in text and "I'm sorry, I cannot help with that request." in text
    assert "'writer'" in text and "tools" not in text and "missing" not in text


@pytest.mark.parametrize("streamed", [False, True])
def test_a_structured_answer_cut_at_the_token_limit_names_the_limit(
    openai_server: OpenAIServer, streamed: bool
) -> None:
    # Cut JSON was asked again as "not JSON", with hints (retries, a looser schema) that never
    # help; a cut that still parses ('12' of '1234') would have been kept as the answer.
    openai_server.reply = '{"category": "bu'
    openai_server.chunks = ['{"category', '": "bu']
    openai_server.finish_reason = "length"
    schema = {"type": "object", "properties": {"category": {"type": "string"}}}
    request = ModelRequest("writer", "writer", "Classify.", output_schema=schema)
    provider = make(openai_server)
    if streamed:
        error = raised(lambda: run(collect(provider.stream(request))))
    else:
        error = raised(lambda: run(provider.complete(request)))
    text = str(error)
    assert "'writer'" in text and "token limit" in text and '\'{"category": "bu\'' in text
    assert "max_tokens" in error.hint


@pytest.mark.parametrize("streamed", [False, True])
def test_a_text_answer_cut_at_the_token_limit_is_still_the_answer_with_a_warning(
    openai_server: OpenAIServer, streamed: bool
) -> None:
    # The cut text was kept as if the model had finished, without a word.
    openai_server.reply = "Owls hunt at"
    openai_server.chunks = ["Owls hunt", " at"]
    openai_server.finish_reason = "length"  # max_tokens may bound a text answer on purpose
    request = ModelRequest("writer", "writer", "Write.", settings={"max_tokens": 3})
    provider = make(openai_server)
    with pytest.warns(CutAnswerWarning) as told:
        if streamed:
            assert "".join(run(collect(provider.stream(request)))) == "Owls hunt at"
        else:
            assert run(provider.complete(request)) == "Owls hunt at"
    text = str(told[0].message)
    assert "stopped at its token limit (the agent's max_tokens=3)" in text
    assert "node 'writer'" in text and "ending 'Owls hunt at'" in text
    assert ".settings(max_tokens=...) on 'writer'" in text


def test_a_text_answer_the_model_finished_gives_no_warning(openai_server: OpenAIServer) -> None:
    openai_server.reply = "Owls hunt at night."
    with warnings.catch_warnings():
        warnings.simplefilter("error", CutAnswerWarning)
        assert run(make(openai_server).complete(ask())) == "Owls hunt at night."


def test_a_cut_text_answer_without_max_tokens_names_the_server_s_limit(
    openai_server: OpenAIServer,
) -> None:
    openai_server.reply = "Owls hunt at"
    openai_server.finish_reason = "length"
    with pytest.warns(CutAnswerWarning, match="the server's or the model's own limit"):
        run(make(openai_server).complete(ask()))


# -- the key stays secret -----------------------------------------------------------------


def test_key_is_masked_in_repr_and_str(openai_server: OpenAIServer) -> None:
    provider = make(openai_server)
    for text in (repr(provider), str(provider), f"{provider}", repr(vars(provider))):
        assert KEY not in text
    assert "api_key='***'" in repr(provider)
    assert openai_server.base_url in repr(provider)


def test_password_in_base_url_is_masked() -> None:
    provider = OpenAIProvider("m", "http://user:hunter2@localhost:1/v1", KEY)
    assert "hunter2" not in repr(provider)
    assert "localhost:1" in repr(provider)


def test_key_appears_in_no_error_and_no_log(
    openai_server: OpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []

    openai_server.fail_next(2, status=500)
    errors.append(raised(lambda: run(make(openai_server, max_retries=1).complete(ask()))))
    openai_server.delay_next(2.0)
    errors.append(
        raised(lambda: run(make(openai_server, timeout=0.2, max_retries=0).complete(ask())))
    )
    openai_server.reply = None
    errors.append(raised(lambda: run(make(openai_server).complete(ask()))))
    openai_server.chunks = []
    errors.append(raised(lambda: run(collect(make(openai_server).stream(ask())))))

    for error in errors:
        assert_no_key(error)
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in openai_server.requests)
    assert KEY not in caplog.text
    assert "Retrying request" in caplog.text  # the client's logs were captured


def test_key_echoed_by_the_server_is_redacted(openai_server: OpenAIServer) -> None:
    # Some servers quote the key they rejected; that text must not reach our error.
    openai_server.fail_next(1, status=401, message=f"Incorrect API key provided: {KEY}")

    error = raised(lambda: run(make(openai_server).complete(ask())))

    assert_no_key(error)
    assert error.__cause__ is None
    assert "HTTP 401" in str(error) and "Incorrect API key provided: ***" in str(error)
    assert "OPENAI_API_KEY" in error.hint
    assert len(openai_server.requests) == 1  # 401 is not retried


# -- configuration ------------------------------------------------------------------------


def test_provider_from_spec_uses_env_base_url(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)

    provider = provider_from_spec("openai:my-model")

    assert isinstance(provider, OpenAIProvider)
    assert provider.model == "my-model"
    assert provider.base_url == openai_server.base_url
    assert run(provider.complete(ask())) == openai_server.reply
    request = openai_server.requests[0]
    assert request.body["model"] == "my-model"
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_local_server_needs_no_key(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    provider = OpenAIProvider("test-model", openai_server.base_url)
    assert "api_key=None" in repr(provider)
    assert run(provider.complete(ask())) == openai_server.reply


def test_openai_without_a_key_is_an_error_at_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ProviderError, match="OPENAI_API_KEY"):
        OpenAIProvider("gpt-4o-mini")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"model": ""}, "needs a model name"),
        ({"timeout": 0}, "timeout must be a positive, finite number"),
        ({"timeout": float("inf")}, "timeout must be a positive, finite number"),
        ({"timeout": True}, "timeout must be a positive, finite number"),
        ({"max_retries": -1}, "max_retries must be a whole number, 0 or more"),
        ({"max_retries": 1.5}, "max_retries must be a whole number, 0 or more"),
        ({"temperature": float("nan")}, "temperature must be a finite number"),
        ({"temperature": -0.5}, "temperature must be a finite number"),
        ({"base_url": ""}, "base_url must be a non-empty string"),
        ({"api_key": ""}, "api_key must be a non-empty string"),
    ],
)
def test_bad_settings_are_rejected(options: dict[str, Any], match: str) -> None:
    settings: dict[str, Any] = {"model": "m", "base_url": "http://127.0.0.1:1/v1"} | options
    with pytest.raises(ProviderError, match=match):
        OpenAIProvider(**settings)


@pytest.mark.parametrize("url", ["localhost:11434/v1", "127.0.0.1:8000/v1", "htp://host/v1"])
def test_a_base_url_without_its_scheme_is_refused_where_it_is_given(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    # Every request failed as "Could not reach ... it usually ends in /v1", which the URL did.
    with pytest.raises(ProviderError) as given:
        OpenAIProvider("m", base_url=url)
    assert f"base_url {url!r} does not start with http:// or https://" in str(given.value)
    assert "e.g. 'http://localhost:11434/v1'" in str(given.value)
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    with pytest.raises(ProviderError, match=r"base_url \(OPENAI_BASE_URL\) '"):
        provider_from_spec("openai:m")


def test_missing_openai_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)  # makes `import openai` fail
    with pytest.raises(MissingExtraError, match=r"pip install 'irgraph\[openai\]'"):
        OpenAIProvider("m", "http://127.0.0.1:1/v1")


def test_importing_the_module_does_not_import_openai() -> None:
    code = "import sys, irgraph.openai_provider; sys.exit('openai' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# -- system prompt, settings and structured outputs (issue #17) ------------------------------


def test_a_plain_request_sends_one_user_message_and_no_extra_fields(
    openai_server: OpenAIServer,
) -> None:
    run(make(openai_server).complete(ask("Say hello.")))
    body = openai_server.requests[0].body
    assert body["messages"] == [{"role": "user", "content": "Say hello."}]
    assert not {"response_format", "temperature", "max_tokens"} & set(body)


def test_system_prompt_and_settings_are_sent(openai_server: OpenAIServer) -> None:
    request = ModelRequest(
        "writer",
        "writer",
        "Say hello.",
        system="You are terse.",
        settings={"temperature": 0.2, "max_tokens": 40, "stop": ["\n"], "top_k": 5},
    )
    run(make(openai_server, temperature=0.9).complete(request))
    run(collect(make(openai_server).stream(request)))

    for recorded in openai_server.requests:
        body = recorded.body
        assert body["messages"] == [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello."},
        ]
        # the node's temperature wins over the provider's; unknown settings pass through
        assert (body["temperature"], body["max_tokens"], body["stop"]) == (0.2, 40, ["\n"])
        assert body["top_k"] == 5


def test_provider_temperature_applies_when_the_node_sets_none(
    openai_server: OpenAIServer,
) -> None:
    request = ModelRequest("w", "w", "Hi.", settings={"max_tokens": 10})
    run(make(openai_server, temperature=0.7).complete(request))
    assert openai_server.requests[0].body["temperature"] == 0.7


def test_output_schema_uses_the_servers_structured_output_mode(
    openai_server: OpenAIServer,
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    request = ModelRequest("count words #1", "counter", "Count.", output_schema=schema)
    run(make(openai_server).complete(request))

    assert openai_server.requests[0].body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "count_words_1", "schema": schema, "strict": False},
    }


def test_feedback_is_sent_as_an_extra_message(openai_server: OpenAIServer) -> None:
    request = ModelRequest(
        "w",
        "w",
        "Count.",
        output_schema={"type": "integer"},
        attempt=2,
        feedback="Your previous reply was not usable: ... Previous reply: 'many'.",
    )
    run(make(openai_server).complete(request))
    messages = openai_server.requests[0].body["messages"]
    assert messages == [
        {"role": "user", "content": "Count."},
        {"role": "user", "content": request.feedback},
    ]


def test_a_structured_agent_runs_end_to_end_against_the_server(
    openai_server: OpenAIServer,
) -> None:
    from irgraph import Agent
    from irgraph import run as run_pipeline

    openai_server.reply = '{"category": "bug"}'
    agent = (
        Agent("classify")
        .instruct("Classify {text}.")
        .system("You triage issues.")
        .settings(temperature=0)
        .output(
            {
                "type": "object",
                "properties": {"category": {"enum": ["bug", "feature"]}},
                "required": ["category"],
            }
        )
        .writes("triage")
    )
    result = run_pipeline(agent, provider=make(openai_server), state={"text": "a crash"})

    assert result.state["triage"] == {"category": "bug"}
    body = openai_server.requests[0].body
    assert body["response_format"]["json_schema"]["name"] == "classify"
    assert body["messages"][0] == {"role": "system", "content": "You triage issues."}
    assert body["temperature"] == 0
