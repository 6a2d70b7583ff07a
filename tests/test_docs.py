"""The documentation builds with ``mkdocs build --strict``, and its examples run.

Every ```python block in docs/ runs, the blocks of one page in order in one namespace, in a
temporary directory, with connections to anything but this machine refused; one followed
directly by a ```text block must print that text. Every
``$ irgraph ...`` line of a ```console block runs through ``irgraph.cli.main`` and must exit
with 0 (or the code a trailing ``# exit N`` gives), printing the output lines shown below it
(a ``...`` line stands for lines left out), in a directory holding each ```python block of
the page whose first line is ``# file: PATH`` as that file (a pipeline a command names).
Without Graphviz's ``dot``, the pages and commands that need it (SVG or PNG pictures) are
skipped, saying so; CI installs Graphviz.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import ipaddress
import itertools
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)
NEEDS_PREFECT = {"guides/batch.md", "guides/prefect.md", "guides/routing.md"}
NEEDS_GRAPHVIZ = {"guides/exporters.md"}
GRAPHVIZ_FORMATS = {"svg", "png"}


def blocks(page: str, language: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of each fenced block of ``language`` in ``page``."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 2, m.group(2))
        for m in FENCE.finditer(text)
        if m.group(1) == language
    ]


def shown_output(page: str) -> dict[int, str]:
    """The text each ```python block of ``page`` directly followed by a ```text block says
    it prints, by the python block's line number (as :func:`blocks` gives it)."""
    text = (DOCS / page).read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    return {
        text.count("\n", 0, code.start()) + 2: shown.group(2)
        for code, shown in itertools.pairwise(fences)
        if code.group(1) == "python"
        and shown.group(1) == "text"
        and not shown.group(2).startswith("$ ")  # a command's transcript, not its output
        and not text[code.end() : shown.start()].strip()
    }


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse connections to anything but loopback (Prefect's local server is allowed)."""
    connect = socket.socket.connect

    def local_only(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            try:
                loopback = ipaddress.ip_address(str(host)).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise OSError(f"the docs examples must not reach the network ({host!r})")
        return connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", local_only)


def _page_params() -> list[object]:
    params = []
    for page in PAGES:
        if not blocks(page, "python"):
            continue  # command-only pages are checked by the console-block test
        marks = [pytest.mark.prefect] if page in NEEDS_PREFECT else []
        params.append(pytest.param(page, marks=marks, id=page))
    return params


def test_every_page_is_in_the_nav_and_has_examples_or_commands():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in PAGES:
        assert page in nav, f"{page} is missing from mkdocs.yml"
    assert any(blocks(page, "python") for page in PAGES)


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "index.html").exists()
    assert (tmp_path / "guides" / "exporters" / "index.html").exists()


@pytest.mark.parametrize("page", _page_params())
def test_python_examples_run(page, tmp_path, monkeypatch, offline):
    found = blocks(page, "python")
    if page in NEEDS_PREFECT:
        pytest.importorskip("prefect")
        from tests.support.prefect_env import ensure_prefect_test_env

        ensure_prefect_test_env()
    if page in NEEDS_GRAPHVIZ and shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    monkeypatch.chdir(tmp_path)
    # A backend a page registers is that page's: other pages list the backends as a fresh
    # process has them.
    registry = importlib.import_module("irgraph.compile")  # the module, not the function
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    namespace: dict[str, object] = {"__name__": f"docs_{Path(page).stem}"}
    shown = shown_output(page)
    for line, code in found:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed) if line in shown else contextlib.nullcontext():
            # dont_inherit: run as a reader's script, not under this module's __future__
            # import, whose string annotations a pydantic model in the block cannot resolve.
            exec(compile(code, f"docs/{page}:{line}", "exec", dont_inherit=True), namespace)
        if line in shown:  # what the page says the block prints, it prints
            assert printed.getvalue().rstrip() == shown[line].rstrip(), f"docs/{page}:{line}"


ATTRIBUTE_ROW = re.compile(r"^\| ([a-z, -]+) \| (`.+?`) \| .* \|$", re.M)


def documented_attributes() -> dict[str, set[str]]:
    """The attribute table of docs/concepts.md: ``{where: {attribute, ...}}``, where is
    ``node`` (every node), a kind (``map_over``), ``edge`` or ``graph``."""
    text = (DOCS / "concepts.md").read_text(encoding="utf-8")
    table: dict[str, set[str]] = {}
    for where, names in ATTRIBUTE_ROW.findall(text):
        for place in where.split(", "):
            found = set(re.findall(r"`(\w+)`", names))
            table.setdefault(place.replace("-", "_"), set()).update(found)
    return table


def test_the_concepts_table_documents_every_graph_attribute_and_no_other():
    from irgraph import Agent, Loop, MapOver, Route, to_graph
    from irgraph.schema import COMMON, SETTINGS

    table = documented_attributes()
    assert table.pop("node") == set(COMMON)
    route = (
        Agent("classify")
        .instruct("Classify {ticket}.")
        .output({"type": "string", "enum": ["bug", "other"]})
        .writes("category")
        >> Route("triage").on("category").when("bug", Agent("fix").writes("patch"))
        >> Loop("again").step(Agent("check").writes("ok")).until("ok").max_iterations(2)
        >> MapOver("each").over("ticket").step(Agent("one").instruct("{item}"))
    )
    G = to_graph(route, inputs={"ticket"})
    assert table.pop("edge") == {name for _, _, data in G.edges(data=True) for name in data}
    assert table.pop("graph") == set(G.graph)
    assert table == {kind: set(names) for kind, names in SETTINGS.items()}


def _commands(page: str) -> list[tuple[str, int, list[str]]]:
    """``(command, expected exit code, shown output lines)`` of each ``$ irgraph`` line."""
    found = []
    for _, block in blocks(page, "console"):
        lines = block.splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("$ irgraph "):
                continue
            command, _, comment = line[2:].partition("  # ")
            code = int(comment.split()[1]) if comment.startswith("exit ") else 0
            shown = []
            for out in lines[i + 1 :]:
                if out.startswith("$ "):
                    break
                shown.append(out)
            found.append((command.strip(), code, shown))
    return found


def page_files(page: str) -> dict[str, str]:
    """The files a page's commands use: each ```python block whose first line is
    ``# file: PATH``, by its path."""
    found = {}
    for _, code in blocks(page, "python"):
        first = code.partition("\n")[0]
        if first.startswith("# file: "):
            found[first.removeprefix("# file: ").strip()] = code
    return found


def needs_graphviz(command: str) -> bool:
    """Whether an ``irgraph`` command draws a picture only Graphviz can make (SVG, PNG)."""
    words = shlex.split(command)
    formats = [b for a, b in itertools.pairwise(words) if a == "--format"]
    formats += [w.removeprefix("--format=") for w in words if w.startswith("--format=")]
    return any(f in GRAPHVIZ_FORMATS for f in formats)


def test_only_svg_and_png_pictures_need_graphviz():
    assert needs_graphviz("irgraph show p:q --format svg -o p.svg")
    assert needs_graphviz("irgraph show p:q --format=png")
    assert not needs_graphviz("irgraph show p:q")
    assert not needs_graphviz("irgraph show p:q --format dot")
    assert not needs_graphviz("irgraph run p:q --state format=svg")


CLI_PAGES = [page for page in PAGES if _commands(page)]


@pytest.mark.parametrize("page", CLI_PAGES)
def test_console_commands_run_and_print_what_is_shown(page, tmp_path, monkeypatch, offline):
    from irgraph.cli import main

    monkeypatch.chdir(tmp_path)
    for name, code in page_files(page).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(code, encoding="utf-8")
    no_graphviz = shutil.which("dot") is None
    not_run = []
    for command, code, shown in _commands(page):
        if no_graphviz and needs_graphviz(command):
            not_run.append(command)
            continue
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(shlex.split(command)[1:], out=out)
        printed = (out.getvalue() + err.getvalue()).splitlines()
        assert status == code, (command, printed)
        position = 0
        for expected in shown:
            if expected == "...":
                continue
            assert expected in printed[position:], (command, expected, printed)
            position = printed.index(expected, position) + 1
    if not_run:
        pytest.skip(f"Graphviz's dot is not installed; the other commands ran, not: {not_run}")


def test_the_readme_example_runs(tmp_path, monkeypatch, offline):
    """README.md is the first page a newcomer reads; its example runs as written too."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = [m.group(2) for m in FENCE.finditer(text) if m.group(1) == "python"]
    assert found
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "docs_readme"}
    for code in found:
        exec(compile(code, "README.md", "exec"), namespace)
