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
