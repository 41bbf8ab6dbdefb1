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


def stad_learning_run(name: str, cfg: dict) -> tuple[float, float, list[float]]:
    """A ``train stad`` run of ``cfg`` measured as its learning tests measure it: held-out frame-mAP@0.5 after
    training and of the untrained network (same seed), and the logged step losses; prints the LEARN line."""
    import time  # noqa: PLC0415 - torch and the trainer only for the tests that train

    from deeperaction.train.ddp import init_distributed  # noqa: PLC0415
    from deeperaction.train.engine import evaluate, seed_everything  # noqa: PLC0415
    from deeperaction.train.logging import read_metrics  # noqa: PLC0415
    from deeperaction.train.stad import stad_task, train_stad  # noqa: PLC0415

    t0 = time.perf_counter()
    seed_everything(cfg["train"]["seed"])
    task = stad_task(cfg)
    untrained = evaluate(task, task.model, cfg, init_distributed())["frame_map@0.5"]
    trained = train_stad(cfg)["eval"]["frame_map@0.5"]
    steps = [r["loss"] for r in read_metrics(Path(cfg["train"]["out"]) / "metrics.jsonl") if r["kind"] == "step"]
    learn_print(name, frame_map=trained, untrained=untrained, loss_ratio=steps[-1] / steps[0],
                seconds=time.perf_counter() - t0)
    return trained, untrained, steps


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
