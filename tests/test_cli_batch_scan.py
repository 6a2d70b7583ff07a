"""A resume reads each result line without :func:`json.loads`'s detour through detecting the
text's encoding (most of a resume's time over a big file): the lines it accepts and refuses,
and the values it reads, are json.loads's own."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from irgraph.cli_batch_scan import _json, result_of, scan_results

LINE = b'{"index": 0, "key": "ab12", "state": {"t": "\\u00e9t\\u00e9 \xc3\xa9"}, "pipeline": "d"}\n'


def outcome(read: Any, raw: bytes) -> tuple[str, Any]:
    """What ``read`` makes of ``raw``: its value, or that it refused it."""
    try:
        return ("value", read(raw))
    except (ValueError, RecursionError):
        return ("refused", None)


@pytest.mark.parametrize(
    "raw",
    [
        LINE,
        LINE.rstrip(b"\n"),
        LINE.replace(b"\n", b" \t\r\n"),
        LINE + b"x",  # extra data
        LINE.rstrip(b"\n") + b" {}\n",
        LINE[: len(LINE) // 2],  # cut short
        b"\xef\xbb\xbf" + LINE,  # a byte-order mark: json.loads reads it
        " ".join("{}").encode("utf-16-le"),  # UTF-16: json.loads reads it
        '{"a": 1}'.encode("utf-32-le"),
        b'{"a": "\xed\xa0\x80"}\n',  # a lone surrogate, as json.loads decodes it
        b'{"a": "\xff"}\n',  # not UTF-8
        b'{"a": NaN}\n',
        b'{"a": 1, "a": 2}\n',
        b"{\n",
        b"{",
        b"{}",
        b" {}",
        b"[1]\n",
        b"\n",
        b"",
        b"{" * 100_000,
    ],
)
def test_a_line_reads_as_json_loads_reads_it(raw):
    assert outcome(_json, raw) == outcome(json.loads, raw)


@given(st.binary(max_size=40).map(lambda tail: b"{" + tail))
def test_any_bytes_after_a_brace_read_as_json_loads_reads_them(raw):
    assert outcome(_json, raw) == outcome(json.loads, raw)


@given(st.dictionaries(st.text(max_size=5), st.recursive(st.none() | st.text(), st.lists)))
def test_a_written_line_reads_back(record):
    for ascii_only in (True, False):
        raw = (json.dumps(record, ensure_ascii=ascii_only) + "\n").encode("utf-8", "surrogatepass")
        assert _json(raw) == json.loads(raw)


def test_the_scan_reads_what_a_batch_wrote(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_bytes(LINE + LINE.replace(b'"index": 0', b'"index": 3') + b'{"index": 4, "k')
    assert dict(scan_results(str(path))) == {0: (0, "ab12", True, "d"), 3: (1, "ab12", True, "d")}
    assert result_of(LINE + b"}") is None
