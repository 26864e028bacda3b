"""Shared fixtures: the real sample transcripts of /work/shared (the repo root's sibling)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Timing is measured in bench/, never asserted in tests: a loaded CI machine must not fail a
# property test because one example was slow.
settings.register_profile(
    "ctxviz", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("ctxviz")

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The folder of real sample transcripts; tests using it skip when it is absent."""
    if not SAMPLES.is_dir():
        pytest.skip(
            f"real sample transcripts not found at {SAMPLES} (shared/samples beside the repo)"
        )
    return SAMPLES


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Real-browser tests are slow, and run one after another on a single xdist worker: each
    drives a Chromium and a Streamlit server, and two at once starve a 2-core machine."""
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group("browser"))
