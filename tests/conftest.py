"""Shared test fixtures: where the official-scorer fixtures live (read in place, never copied)."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
OFFICIAL = SHARED / "fixtures" / "official"


@pytest.fixture(scope="session")
def official() -> Path:
    """Folder of the official-scorer fixtures (``../shared/fixtures/official``)."""
    if not OFFICIAL.is_dir():
        pytest.fail(f"official fixtures not found at {OFFICIAL}; shared/ must sit beside the repo")
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
