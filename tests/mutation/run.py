"""Run the curated mutants of :mod:`tests.mutation.mutants` and print the score per area.

    python3 dev.py mutants              # every mutant
    python3 dev.py mutants scheduler    # the mutants of one area (or of several)
    python3 dev.py mutants --list       # what there is, without running anything

Each mutant is applied to a copy of the checkout (laid out as pip installs it, so the copy's
``irgraph.backends`` is the mutated one and the working tree is never touched), the tests the
mutant names run there with ``pytest -x``, and the mutant counts as *killed* when a test fails;
the first failing test is named. A mutant whose text is no longer in its file is *stale*: the
code moved on, so the catalog must too. The exit code is 0 only when every mutant is killed
or documented as equivalent.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from tests.mutation.mutants import MUTANTS, Mutant

ROOT = Path(__file__).resolve().parents[2]
_COPIED = ("irgraph", "tests", "docs", "notebooks", "pyproject.toml", "setup.cfg", "README.md")
_SKIP = shutil.ignore_patterns("__pycache__", ".hypothesis", "node_modules", "*.pyc")
_FAILED = re.compile(r"^FAILED (\S+)", re.MULTILINE)
_ERROR = re.compile(r"^ERROR (\S+)", re.MULTILINE)


def _copy_checkout(into: Path) -> None:
    """The checkout as installed: ``backends/`` becomes ``irgraph/backends``."""
    for name in _COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=_SKIP)
        elif source.exists():
            shutil.copy2(source, into / name)
    shutil.copytree(ROOT / "backends", into / "irgraph" / "backends", ignore=_SKIP)
    modules = ROOT / "tests" / "mermaid_check" / "node_modules"
    if modules.exists():
        (into / "tests" / "mermaid_check" / "node_modules").symlink_to(modules)


def _target(copy: Path, mutant: Mutant) -> Path:
    relative = Path(mutant.file)
    if relative.parts[0] == "backends":
        relative = Path("irgraph", *relative.parts)
    return copy / relative


def apply(copy: Path, mutant: Mutant) -> str | None:
    """Apply ``mutant`` in ``copy``; return the original text, or ``None`` if it is stale."""
    path = _target(copy, mutant)
    text = path.read_text(encoding="utf-8")
    if text.count(mutant.old) != 1:
        return None
    path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
    return text


def run_tests(copy: Path, mutant: Mutant, timeout: float) -> tuple[bool, str]:
    """``(killed, by)``: whether the mutant's tests fail, and the first failing test."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("HYPOTHESIS_PROFILE", None)  # the dev profile: what a developer runs
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    command += ["-o", "addopts=", *mutant.tests]
    try:
        done = subprocess.run(
            command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return True, f"(the tests hung for {timeout:.0f} s: a timeout kills it)"
    if done.returncode == 0:
        return False, ""
    found = _FAILED.search(done.stdout) or _ERROR.search(done.stdout)
    if found:
        return True, found.group(1)
    tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["?"]
    return True, f"(pytest exit {done.returncode}: {tail[0][:80]})"


def main(argv: Sequence[str]) -> int:
    if {"-h", "--help"} & set(argv):
        print(__doc__)
        return 0
    options = [a for a in argv if a.startswith("-") and a != "--list"]
    if options:
        print(
            f"Unknown option {options[0]!r}: python3 dev.py mutants takes area names, mutant "
            "ids, --list or --help.",
            file=sys.stderr,
        )
        return 2
    if "--list" in argv:
        for m in MUTANTS:
            print(f"{m.id:38} {m.area:12} {m.file}")
        return 0
    areas = set(argv)
    chosen = [m for m in MUTANTS if not areas or m.area in areas or m.id in areas]
    if not chosen:
        known = sorted({m.area for m in MUTANTS})
        print(f"No mutant in {sorted(areas)}; areas: {', '.join(known)}.", file=sys.stderr)
        return 2
    score: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    problems = 0
    with tempfile.TemporaryDirectory(prefix="irgraph-mutants-") as tmp:
        copy = Path(tmp)
        _copy_checkout(copy)
        for mutant in chosen:
            started = time.monotonic()
            if mutant.equivalent:
                print(f"= {mutant.id}: equivalent ({mutant.equivalent})")
                continue
            original = apply(copy, mutant)
            if original is None:
                problems += 1
                print(f"? {mutant.id}: STALE, its text is not (exactly once) in {mutant.file}")
                continue
            try:
                killed, by = run_tests(copy, mutant, mutant.timeout)
            finally:
                _target(copy, mutant).write_text(original, encoding="utf-8")
            seconds = time.monotonic() - started
            score[mutant.area][1] += 1
            if killed:
                score[mutant.area][0] += 1
                print(f"+ {mutant.id}: killed by {by} ({seconds:.0f} s)", flush=True)
            else:
                problems += 1
                print(f"- {mutant.id}: SURVIVED {mutant.tests} ({seconds:.0f} s)", flush=True)
    print()
    print(f"{'area':14} {'killed':>7} {'of':>4} {'score':>7}")
    total = [0, 0]
    for area in sorted(score):
        killed, count = score[area]
        total[0] += killed
        total[1] += count
        print(f"{area:14} {killed:7} {count:4} {killed / count:7.0%}")
    if total[1]:
        print(f"{'all':14} {total[0]:7} {total[1]:4} {total[0] / total[1]:7.0%}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
