"""A long node name in the run view's node table: cut with an ellipsis, whole on hover, and
the table laid out by headless Chromium (offline, a page of its own) stays as wide as before."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from typing import Any

import pytest

from irgraph import Agent, run
from irgraph.testing import FakeProvider
from tests.mermaid_check import harness

LONG = "summarise_every_finding_of_the_research_step_" * 6 + "end"

MEASURE = """
<script>
window.addEventListener("load", async () => {
  const rows = [...document.querySelectorAll("tr[data-node]")].map((row) => {
    const cell = row.children[1], name = cell.firstElementChild;
    return { node: row.dataset.node, title: cell.title, cell: cell.getBoundingClientRect().width,
             cut: name.scrollWidth > name.clientWidth };
  });
  const tables = [...document.querySelectorAll("table")]
    .map((t) => t.getBoundingClientRect().width);
  await fetch("/result", { method: "POST", body: JSON.stringify(
    { page: location.pathname, cells: { rows, tables } }) });
});
</script>
"""


def _laid_out(html: str, measure: str = MEASURE) -> dict[str, Any]:
    """What Chromium measures of the node table in ``html`` (a page of its own), or what
    another ``measure`` script posts of it."""
    from tests.support.notebook_pages import CSP, _Site

    chromium = harness.find_chromium()
    if chromium is None:
        if os.environ.get("CI") == "true" or os.environ.get("IRGRAPH_REQUIRE_MERMAID"):
            raise harness.HarnessUnavailable("Chromium is not installed.")
        pytest.skip("Chromium is not installed (apt-get install -y chromium).")
    page = "<!doctype html><html><head><meta charset='utf-8'><meta http-equiv="
    page += f'"Content-Security-Policy" content="{CSP}"></head><body>{html}{measure}</body></html>'
    site = _Site({"view": page})
    profile = tempfile.mkdtemp(prefix="irgraph-chromium-")
    browser = subprocess.Popen(
        [chromium, *harness.CHROMIUM_FLAGS, f"--user-data-dir={profile}", site.url + "/view.html"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert site.done.wait(120), f"Chromium never reported (exit code {browser.poll()!r})"
    finally:
        harness._stop(browser)
        site.close()
        shutil.rmtree(profile, ignore_errors=True)
    return json.loads(json.dumps(site.reports["view"]))


def _table(name: str) -> str:
    pipeline = Agent(name).instruct("Find.").writes("x") >> Agent("writer").instruct("Use it.")
    answers = {name: "Found.", "writer": "Done."}  # the same texts, whatever the name
    return run(pipeline, provider=FakeProvider(responses=answers)).view().table_html()


def test_a_long_node_name_is_cut_in_the_table_and_whole_on_hover():
    table = _table(LONG)
    assert f"<td title='{LONG}'>" in table and "<td title='writer'>" in table
    measured = _laid_out(table + _table("researcher"))
    rows = {row["node"]: row for row in measured["rows"]}
    assert rows[LONG]["title"] == LONG and rows[LONG]["cut"]
    assert rows["writer"]["title"] == "writer" and not rows["writer"]["cut"]
    assert rows["researcher"]["title"] == "researcher" and not rows["researcher"]["cut"]
    # 20em of 12px text, and its padding: the name no longer sets the table's width, which
    # is that of the same table with a short name but for the name column's 20em at most.
    assert rows[LONG]["cell"] <= 20 * 12 + 20
    long, short = measured["tables"]
    assert long <= short + 20 * 12, measured
