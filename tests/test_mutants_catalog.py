"""The mutant catalog stays true to the code: every mutant applies (its text is in its file
exactly once, and replacing it changes the file), names tests that exist, and belongs to a
known area; there are enough of them in every area the issue names. Running them is
``python3 dev.py mutants`` (minutes, not part of the suite)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.mutation.mutants import AREAS, MUTANTS, Mutant

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_the_mutant_applies_to_the_code_as_it_is(mutant: Mutant) -> None:
    text = (ROOT / mutant.file).read_text(encoding="utf-8")
    assert text.count(mutant.old) == 1, f"{mutant.id}: its text is not in {mutant.file} once"
    assert mutant.old != mutant.new
    assert mutant.area in AREAS
    for test in mutant.tests:
        assert (ROOT / test.partition("::")[0]).exists(), test


def test_ids_are_unique_and_every_area_has_mutants() -> None:
    ids = [m.id for m in MUTANTS]
    assert len(ids) == len(set(ids))
    per_area = Counter(m.area for m in MUTANTS)
    assert set(per_area) <= set(AREAS)
