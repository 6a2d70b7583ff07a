"""A pytest plugin: a failure whose text holds a lone surrogate (a property test's string)
cannot cross from a pytest-xdist worker to the controller, which then stops the whole run with
an INTERNALERROR and shows no failure at all. Such text is sent with its surrogates escaped.
``tests/conftest.py`` loads it; ``pytest -p tests.support.report_text`` loads it anywhere."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest


def _escaped(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[Any]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        if not _encodable(str(report.longrepr)):
            report.longrepr = _escaped(str(report.longrepr))
        report.sections = [(_escaped(title), _escaped(text)) for title, text in report.sections]
