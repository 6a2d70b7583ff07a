"""The exporters' calls are checked as every public function's are: a left-out pipeline, a
setting given by position or a misspelt option is an ArgumentError (an IrgraphError and a
TypeError) saying the call to write; a direction is read in any case, as the command line's."""

from __future__ import annotations

import pytest

from irgraph import Agent, to_graph
from irgraph.analysis import diff
from irgraph.backends.dot import to_dot, to_png, to_svg
from irgraph.backends.mermaid import mermaid_ids, to_mermaid
from irgraph.backends.mermaid_diff import diff_to_mermaid
from irgraph.errors import ArgumentError

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated - use:DeprecationWarning")

PIPELINE = Agent("a").writes("x") >> Agent("b").instruct("{x}")


@pytest.mark.parametrize("export", [to_mermaid, to_dot, to_svg, to_png])
def test_an_exporter_called_without_the_pipeline_says_the_call_to_write(export):
    name = export.__name__
    with pytest.raises(ArgumentError) as info:
        export()
    assert str(info.value) == (
        f"{name}() needs G_or_pipeline, and got no argument: G_or_pipeline is missing. "
        f"Call it as {name}(G_or_pipeline)."
    )


@pytest.mark.parametrize("export", [to_mermaid, to_dot, to_svg, to_png])
def test_a_direction_given_by_position_is_told_to_be_given_by_name(export):
    with pytest.raises(ArgumentError, match=r"give the others by name: \w+\(G_or_pipeline"):
        export(PIPELINE, "LR")


def test_the_other_drawing_functions_check_their_calls_too():
    with pytest.raises(ArgumentError, match=r"mermaid_ids\(\) needs G"):
        mermaid_ids()
    with pytest.raises(ArgumentError, match=r"Did you mean 'style'\?"):
        mermaid_ids(to_graph(PIPELINE), styl="seed")
    change = diff(to_graph(Agent("a")), to_graph(PIPELINE))
    with pytest.raises(ArgumentError, match=r"Did you mean 'direction'\?"):
        diff_to_mermaid(change, directon="LR")


def test_a_direction_is_read_in_any_case():
    assert to_mermaid(PIPELINE, direction="lr") == to_mermaid(PIPELINE, direction="LR")
    assert to_dot(PIPELINE, direction="rl").get("rankdir") == "RL"


def test_a_style_is_read_in_any_case_and_the_ids_agree():
    G = to_graph(PIPELINE)
    assert to_mermaid(G, style="Seed") == to_mermaid(G, style="seed")
    assert mermaid_ids(G, style="SEED") == mermaid_ids(G, style="seed") != mermaid_ids(G)
