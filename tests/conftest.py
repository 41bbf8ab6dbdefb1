"""Shared test fixtures: the official-scorer cases kept in the repository, one torch thread."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OFFICIAL = REPO / "tests" / "data" / "official"
LEARN_SEED = int(os.environ.get("DEEPERACTION_LEARN_SEED", "0"))
"""Offset of every seed of the learning tests (data and initialisation): ``scripts/learning_margins.sh`` runs
them with several offsets and both numpy kernels to measure the margin each bar holds."""


def learn_print(test: str, **numbers) -> None:
    """One parsable line of a learning test's measured numbers (collected by scripts/learning_margins.sh)."""
    print(f"LEARN {test} seed={LEARN_SEED} " + " ".join(f"{k}={float(v):.4f}" for k, v in numbers.items()))


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
