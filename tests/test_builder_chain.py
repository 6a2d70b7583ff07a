"""Builders keep their members in a shared persistent chain (irgraph.builder_chain): long
pipelines build in linear time, and reusing a builder still never aliases."""

from __future__ import annotations

from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from irgraph import Agent, FanOut, Pipeline
from irgraph.builder_chain import HEAD, Chain, chain_items
from irgraph.code import composite_name
from irgraph.ir import SequenceNode


def agents(n: int, prefix: str = "a") -> list[Agent]:
    return [Agent(f"{prefix}{i}").instruct(f"Step {i}.").writes(f"{prefix}k{i}") for i in range(n)]


def names(node: SequenceNode) -> list[str]:
    return [child.name for child in node.children]


def test_a_long_chain_built_with_rshift_has_the_ir_of_one_built_with_step():
    parts = agents(3_000)
    by_ops = reduce(lambda a, b: a >> b, parts).to_ir()
    by_step = reduce(lambda p, a: p.step(a), parts, Pipeline("chain")).to_ir()
    assert by_ops.children == by_step.children
    assert by_ops.name == "a0_then_a1_then_..._then_a2999"


def test_a_wide_fanout_built_with_or_has_the_ir_of_one_built_with_branch():
    parts = agents(3_000)
    by_ops = reduce(lambda a, b: a | b, parts).to_ir()
    by_branch = reduce(lambda f, a: f.branch(a), parts, FanOut("fan")).to_ir()
    assert by_ops.children == by_branch.children


def test_a_long_prefix_reused_in_two_pipelines_gives_two_independent_ones():
    prefix = reduce(lambda a, b: a >> b, agents(50))
    left = prefix >> Agent("left")
    right = prefix >> Agent("right") >> Agent("right_2")
    longer = left >> Agent("left_2")  # growing one does not reach the other or the prefix
    assert names(prefix.to_ir()) == [f"a{i}" for i in range(50)]
    assert names(left.to_ir())[50:] == ["left"]
    assert names(right.to_ir())[50:] == ["right", "right_2"]
    assert names(longer.to_ir())[50:] == ["left", "left_2"]
    assert names(left.to_ir())[:50] == names(right.to_ir())[:50] == names(prefix.to_ir())


def test_an_operand_keeps_its_own_members_when_spliced_into_a_longer_chain():
    tail = Agent("x") >> Agent("y")
    whole = Agent("a") >> tail >> Agent("z")
    assert names(whole.to_ir()) == ["a", "x", "y", "z"]
    assert names(tail.to_ir()) == ["x", "y"]


def test_operator_names_match_the_names_of_all_members_at_every_length():
    for n in range(1, 2 * HEAD + 2):
        parts = agents(n)
        chain = reduce(lambda a, b: a >> b, parts)
        fan = reduce(lambda a, b: a | b, parts)
        every = [a.name for a in parts]
        if n > 1:
            assert chain.name == composite_name(every, "then")
            assert fan.name == composite_name(every, "and")
            assert chain.to_ir().name == chain.name


@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 99)), max_size=40))
def test_growing_any_earlier_chain_matches_copying_lists(steps):
    """Append to any chain made so far, as a builder reused anywhere does; each chain must
    equal the list a copying implementation would hold."""
    chains: list[Chain | None] = [None]
    lists: list[list[int]] = [[]]
    for pick, value in steps:
        index = pick % len(chains)
        chains.append(Chain(chains[index], value, depth=value % 3))
        lists.append([*lists[index], value])
    for chain, expected in zip(chains, lists, strict=True):
        assert chain_items(chain) == expected
        if chain is not None:
            assert chain.size == len(expected)
            assert chain.depth == max(v % 3 for v in expected)
            assert chain.outline() == (
                expected if len(expected) <= HEAD else [*expected[:HEAD], expected[-1]]
            )
