"""Deterministic mutations of every bundled and real sample, one test per case class.

Each case is reproducible from its id (class/seed/number): ``random.Random(id)`` drives the
mutator. ``CTXVIZ_FUZZ_CASES`` sets the cases per seed and class (default 2 in the test run),
``CTXVIZ_FUZZ_FIRST`` the first case number; FINDINGS.md records larger runs.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.fuzz._check import run_case
from tests.fuzz._corpus import SHARED_MISSING, Seed, bundled_seeds, shared_seeds
from tests.fuzz._mutate import MUTATORS

CASES_PER_SEED = int(os.environ.get("CTXVIZ_FUZZ_CASES", "2"))
FIRST_CASE = int(os.environ.get("CTXVIZ_FUZZ_FIRST", "0"))


def _run(cls: str, seeds: tuple[Seed, ...]) -> None:
    mutate = MUTATORS[cls]
    for seed in seeds:
        for i in range(FIRST_CASE, FIRST_CASE + CASES_PER_SEED):
            case = f"{cls}/{seed.name}/{i}"
            data = mutate(seed.data, seed.kind, random.Random(case))
            run_case(data, case, cls)


@pytest.mark.parametrize("cls", sorted(MUTATORS))
@pytest.mark.slow
def test_mutated_bundled_samples(cls: str) -> None:
    _run(cls, bundled_seeds())


@pytest.mark.parametrize("cls", sorted(MUTATORS))
@pytest.mark.slow
def test_mutated_real_samples(cls: str) -> None:
    seeds = shared_seeds()
    if not seeds:
        pytest.skip(SHARED_MISSING)
    _run(cls, seeds)


@pytest.mark.slow
def test_seeds_load_and_simulate() -> None:
    """The unmutated seeds, whole: the baseline every mutation starts from."""
    for seed in (*bundled_seeds(full=True), *shared_seeds(full=True)):
        outcome = run_case(seed.data, f"seed/{seed.name}", "seed")
        assert outcome.conv is not None, f"{seed.name}: {outcome.error}"
