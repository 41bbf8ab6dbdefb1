"""Shared test fixtures: the official-scorer cases kept in the repository, one torch thread."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OFFICIAL = REPO / "tests" / "data" / "official"


@pytest.fixture(scope="session")
def official() -> Path:
    """Folder of the official-scorer fixtures (``tests/data/official``: the official scorers' outputs on small
    seeded cases, with a README of each scorer's rules)."""
    assert OFFICIAL.is_dir(), f"official fixtures missing at {OFFICIAL}"
    return OFFICIAL


@pytest.fixture
def torch_one_thread():
    """One torch intra-op thread for the test: on a shared, oversubscribed 2-core CI machine OpenMP spinning
    makes 2 threads ~10x slower. Modules opt in with ``pytestmark = pytest.mark.usefixtures(...)``."""
    import torch  # noqa: PLC0415 - only the tests that use torch pay its import

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
