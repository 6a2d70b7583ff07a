"""Live progress of a run (irgraph.run_progress, and ``irgraph run``'s live table in
irgraph.cli_live): real asyncio runs on the fake provider, their frames read back on a
terminal stream, through IPython's own display machinery, and from a pseudo-terminal."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, MapOver, RunError, Transform, arun, run
from irgraph.demo import research_pipeline
from irgraph.errors import IrgraphError
from irgraph.run_progress import RunProgress
from irgraph.testing import FakeProvider
from tests.support.terminal import Terminal, line_frames, read_terminal

NODES = ["researcher", "analyst", "fact_checker", "writer"]
STATE = {"topic": "owls"}
ROOT = Path(__file__).resolve().parents[1]
ORDER = {"waiting": 0, "running": 1, "done": 2, "failed": 2}


def running_in(frame: str) -> set[str]:
    found = re.search(r"running: ([^(]*) \(", frame)
    return set(found.group(1).split(", ")) if found else set()


def moves(frames: list[dict[str, str]]) -> dict[str, list[str]]:
    """Each node's statuses frame by frame, repeats dropped."""
    seen: dict[str, list[str]] = {}
    for frame in frames:
        for node, status in frame.items():
            path = seen.setdefault(node, [])
            if not path or path[-1] != status:
                path.append(status)
    return seen


def svg_statuses(markup: str) -> dict[str, str]:
    return dict(re.findall(r"data-node=\"([^\"]+)\" data-status='(\w+)'", markup))


def test_a_terminal_gets_one_line_redrawn_as_nodes_start_and_end():
    screen, seen = Terminal(), []
    result = run(
        research_pipeline,
        provider=FakeProvider(latency=0.01),
        state=STATE,
        progress=RunProgress(stream=screen, every=0),
        on_event=seen.append,
    )
    # the user's own handler still got every event, in order
    assert seen == result.trace and len(seen) == 2 * len(NODES)
    frames = line_frames(screen.getvalue())
    assert frames[0].startswith("0/4 nodes done") and "running" not in frames[0]
    running = [running_in(frame) for frame in frames]
    for node in NODES:  # each node shows running, and once done never again
        shown = [i for i, names in enumerate(running) if node in names]
        assert shown and shown == list(range(shown[0], shown[-1] + 1)), (node, frames)
    assert {"analyst", "fact_checker"} in running  # the parallel pair ran together
    assert re.fullmatch(r"Run finished in .+: 4 nodes \(4 done\)\n", frames[-1])
    assert "\n" not in "".join(frames[:-1])  # one line, redrawn, until the end


def test_a_log_gets_only_the_final_line():
    log = io.StringIO()
    run(research_pipeline, provider=FakeProvider(), state=STATE, progress=RunProgress(stream=log))
    assert re.fullmatch(r"Run finished in .+: 4 nodes \(4 done\)\n", log.getvalue())


def test_a_failed_run_ends_on_a_frame_saying_where():
    screen, seen = Terminal(), []
    with pytest.raises(RunError) as caught:
        run(
            research_pipeline,
            provider=FakeProvider(fail={"fact_checker": 1}),
            state=STATE,
            progress=RunProgress(stream=screen, every=0),
            on_event=seen.append,
        )
    assert caught.value.node == "fact_checker"
    last = line_frames(screen.getvalue())[-1]
    assert last.startswith("Run failed at 'fact_checker' in ")
    assert "1 failed" in last and "1 not reached" in last and "running" not in last
    assert seen == caught.value.trace  # the user's handler got every event


@pytest.mark.usefixtures("shell")
def test_in_jupyter_the_diagram_is_updated_in_place():
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = run(
            research_pipeline,
            provider=FakeProvider(latency=0.01),
            state=STATE,
            progress=RunProgress(jupyter=True, every=0),
        )
    assert result.state["report"] and captured.stdout == captured.stderr == ""
    first, *updates = captured.outputs
    assert not first.update and updates and all(output.update for output in updates)
    assert len({output.transient["display_id"] for output in captured.outputs}) == 1
    frames = [svg_statuses(output.data["text/html"]) for output in captured.outputs]
    assert frames[0] == dict.fromkeys(NODES, "waiting")
    for node, path in moves(frames).items():
        assert path == ["waiting", "running", "done"], (node, path)
    assert frames[-1] == dict.fromkeys(NODES, "done")
    assert updates[-1].data["text/plain"].startswith("Run finished in ")


@pytest.mark.usefixtures("shell")
def test_in_jupyter_a_failed_node_ends_red():
    from IPython.utils.capture import capture_output

    with capture_output() as captured, pytest.raises(RunError):
        run(
            research_pipeline,
            provider=FakeProvider(fail={"writer": 1}),
            state=STATE,
            progress=RunProgress(jupyter=True, every=0),
        )
    final = captured.outputs[-1].data
    assert svg_statuses(final["text/html"]) == {
        "researcher": "done",
        "analyst": "done",
        "fact_checker": "done",
        "writer": "failed",
    }
    assert final["text/plain"].startswith("Run failed at 'writer'")


def split(topic: str) -> list[str]:
    return topic.split()


MAPPED = Transform("split", split).reads("topic").writes("words") >> MapOver("define_all").over(
    "words", item="word"
).step(Agent("define").instruct("Define {word}.").writes("definition")).writes("definitions")


@pytest.mark.usefixtures("shell")
def test_a_large_graph_shows_a_bar_and_the_nodes_running():
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        asyncio.run(
            arun(
                MAPPED,
                provider=FakeProvider(latency=0.01),
                state={"topic": "owls bats cats"},
                progress=RunProgress(jupyter=True, every=0, large=2),
            )
        )
    pages = [output.data["text/html"] for output in captured.outputs]
    assert all("<progress value=" in page and "<svg" not in page for page in pages)
    texts = [output.data["text/plain"] for output in captured.outputs]
    # the map-over's body runs three times at once: one node running, inside its scope
    assert any(running_in(text) == {"define_all", "define"} for text in texts), texts
    assert "<progress value='3' max='3'" in pages[-1]
    assert texts[-1].startswith("Run finished in ") and "3 done" in texts[-1]


def test_a_display_that_breaks_does_not_break_the_run():
    class Broken(Terminal):
        def write(self, text: str) -> int:
            raise RuntimeError("the terminal is gone")

    result = run(
        research_pipeline,
        provider=FakeProvider(),
        state=STATE,
        progress=RunProgress(stream=Broken(), every=0),
    )
    assert result.state == run(research_pipeline, provider=FakeProvider(), state=STATE).state


def test_bad_progress_options_are_refused_before_running():
    seen: list[Any] = []
    with pytest.raises(IrgraphError, match="progress='yes'"):
        run(
            research_pipeline,
            provider=FakeProvider(),
            state=STATE,
            progress="yes",
            on_event=seen.append,
        )
    assert seen == []
    with pytest.raises(IrgraphError, match="on_event"):
        run(research_pipeline, provider=FakeProvider(), state=STATE, progress=True, on_event=3)
    with pytest.raises(IrgraphError, match="every"):
        RunProgress(every=-1)
    used = RunProgress(stream=io.StringIO())
    run(research_pipeline, provider=FakeProvider(), state=STATE, progress=used)
    with pytest.raises(IrgraphError, match="watched a run already"):
        run(research_pipeline, provider=FakeProvider(), state=STATE, progress=used)


# ``irgraph run`` on a pseudo-terminal: its live table on standard error.

PROVIDERS = """
from irgraph.testing import FakeProvider


def slow():
    return FakeProvider(latency=0.3)


def failing():
    return FakeProvider(latency=0.05, fail={"writer": 1})
"""


def irgraph_run(tmp_path: Path, *argv: str, terminal: bool = True) -> tuple[int, str, str]:
    """``irgraph run`` of the demo in a child process with standard error on a
    pseudo-terminal (or a pipe): its exit code, standard output and what standard error got."""
    import pty

    (tmp_path / "live_providers.py").write_text(textwrap.dedent(PROVIDERS))
    command = [sys.executable, "-m", "irgraph.cli", "run", "irgraph.demo:research_pipeline"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    leader, follower = pty.openpty() if terminal else (-1, subprocess.PIPE)
    proc = subprocess.Popen(
        [*command, "--state", "topic=owls", *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    shown = b""
    if terminal:
        os.close(follower)
        shown = read_terminal(leader)
    stdout, stderr = proc.communicate(timeout=60)
    return proc.returncode, stdout.decode(), (shown or stderr or b"").decode()


def table_frames(screen: str) -> list[dict[str, str]]:
    """The node statuses of each frame rich drew (a frame starts at its headline)."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    frames = []
    for part in plain.split("irgraph run")[1:]:
        rows = re.findall(r"^ *(\w+) +(waiting|running|done|failed|not reached)\b", part, re.M)
        frames.append(dict(rows))
    return frames


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_irgraph_run_on_a_terminal_draws_a_live_table(tmp_path):
    pytest.importorskip("rich")
    code, out, screen = irgraph_run(tmp_path, "--provider", "live_providers:slow")
    assert code == 0, screen
    frames = table_frames(screen)
    assert frames[0] == dict.fromkeys(NODES, "waiting")
    # rich redraws on its own clock: a node may finish between two frames, but none goes back
    paths = moves(frames)
    for node, path in paths.items():
        assert path[0] == "waiting" and path[-1] == "done", (node, path)
        assert [ORDER[s] for s in path] == sorted(ORDER[s] for s in path), (node, path)
    assert any("running" in path for path in paths.values())
    assert frames[-1] == dict.fromkeys(NODES, "done")
    assert "irgraph run finished in " in screen
    # standard output has the result, not the per-node lines the table replaces
    assert out.startswith("Finished in ") and "  report = " in out and " started" not in out


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_irgraph_run_on_a_terminal_ends_on_the_failed_node(tmp_path):
    pytest.importorskip("rich")
    code, _, screen = irgraph_run(tmp_path, "--provider", "live_providers:failing")
    assert code == 1
    assert table_frames(screen)[-1] == {
        "researcher": "done",
        "analyst": "done",
        "fact_checker": "done",
        "writer": "failed",
    }
    assert "irgraph run failed at 'writer'" in screen and "RunError" in screen


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_the_progress_flag_forces_the_table_on_or_off(tmp_path):
    pytest.importorskip("rich")
    code, out, screen = irgraph_run(tmp_path, "--no-progress")
    assert code == 0 and screen == ""
    assert "  > researcher started" in out and "  ok writer (" in out
    code, out, piped = irgraph_run(tmp_path, "--progress", terminal=False)
    assert code == 0 and table_frames(piped)[-1] == dict.fromkeys(NODES, "done")
    assert " started" not in out
