"""``deeperaction train``: train models from a YAML config (torchrun-ready), and build clip caches."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from deeperaction.cli.app import app
from deeperaction.cli.common import console, guarded, write_json

train_app = typer.Typer(help="Train models from a YAML config; multi-GPU with torchrun, no code change.",
                        no_args_is_help=True)
app.add_typer(train_app, name="train")

_SET = typer.Option(None, "--set", help="Override one key: section.key=value (repeatable), e.g. optim.lr=0.01.")


_RESUME = typer.Option("", "--resume", help="'auto' (OUT/last.pt if present) or a checkpoint path.")
_JSON = typer.Option(None, "--json", help="Write the final metrics (and throughput) as JSON.")
_SUMMARY = ("eval", "best", "step", "epoch", "throughput", "out", "model_path")


def _train(entry: Callable[[], tuple[Callable, Callable]], config: Path, set_: list[str] | None, resume: str,
           json_out: Path | None) -> None:
    """Load the config and train with ``entry() -> (load_config, train)`` (imported late: `--help` stays
    fast); rank 0 prints and writes the summary."""
    def run() -> None:
        load, fit = entry()
        res = fit(load(config, set_ or []), resume or None)
        import torch.distributed as dist  # noqa: PLC0415
        if not dist.is_initialized() or dist.get_rank() == 0:
            summary = {k: res[k] for k in _SUMMARY if k in res}
            console.print(f"done: {summary.get('eval')} -> {res.get('model_path', res['out'])}", highlight=False)
            write_json(summary, json_out)

    guarded(run)


def _tps_entry() -> tuple[Callable, Callable]:
    from deeperaction.train.action import train_action  # noqa: PLC0415
    from deeperaction.train.config import load_config  # noqa: PLC0415
    return load_config, train_action


def _parts_entry() -> tuple[Callable, Callable]:
    from deeperaction.train.part_states import load_part_states_config, train_part_states  # noqa: PLC0415
    return load_part_states_config, train_part_states


def _partdet_entry() -> tuple[Callable, Callable]:
    from deeperaction.train.part_detector import load_part_detector_config, train_part_detector  # noqa: PLC0415
    return load_part_detector_config, train_part_detector


def _persondet_entry() -> tuple[Callable, Callable]:
    from deeperaction.train.person_detector import load_person_detector_config, train_person_detector  # noqa: PLC0415
    return load_person_detector_config, train_person_detector


def _mosi_entry() -> tuple[Callable, Callable]:
    from deeperaction.train.mosi import load_mosi_config, train_mosi  # noqa: PLC0415
    return load_mosi_config, train_mosi


def _stad_entry() -> tuple[Callable, Callable]:
    from deeperaction.train.stad import load_stad_config, train_stad  # noqa: PLC0415
    return load_stad_config, train_stad


@train_app.command("stad")
def train_stad_cmd(
    config: Path = typer.Argument(..., help="YAML config; keys override deeperaction.train.stad.STAD_DEFAULTS."),
    set_: list[str] = _SET, resume: str = _RESUME, json_out: Path = _JSON,
) -> None:
    """Train the spatio-temporal action detector (MultiSports / AVA style) on the people of keyframes: RoI
    features + context, memory and pose-part blocks (stad.context, stad.memory, stad.pose_parts); data.root is
    a MultiSports GT pickle (or its folder) with videos/ beside it, or with data.format=ava an AVA keyframe CSV
    (label map beside it or data.labelmap; person proposals data.proposals / data.val_proposals). Evaluation:
    frame-mAP@0.5 on the held-out videos (the GT's test_videos, or data.val_root). Writes OUT/model.pt (kind stad).

    Examples:

      deeperaction train stad configs/stad_cpu.yaml

      deeperaction train stad configs/stad_cpu.yaml --set stad.memory_model=runs/stad_base/model.pt

      torchrun --nproc_per_node 8 -m deeperaction train stad configs/stad_cpu.yaml --set model.name=r3d_18

      deeperaction train stad configs/stad_cpu.yaml --set data.format=ava --set data.root=ava/ava_train_v2.2.csv
      --set data.val_root=ava/ava_val_v2.2.csv --set data.video_start_s=900 --set stad.loss=sigmoid
      --set stad.pose_parts=false --set stad.memory=false
    """
    _train(_stad_entry, config, set_, resume, json_out)


def _tal_entry() -> tuple[Callable, Callable]:
    from deeperaction.train.tal import load_tal_config, train_tal  # noqa: PLC0415
    return load_tal_config, train_tal


@train_app.command("tal")
def train_tal_cmd(
    config: Path = typer.Argument(..., help="YAML config; keys override deeperaction.train.tal.TAL_DEFAULTS."),
    set_: list[str] = _SET, resume: str = _RESUME, json_out: Path = _JSON,
) -> None:
    """Train the temporal action localizer (ActivityNet / HACS / FineAction / THUMOS style) on per-video
    feature rows: a local-attention pyramid (ActionFormer-style) with the proposal relation module and the
    video-level head (tal.relation, tal.video_head). data.gt is an ActivityNet-style annotation JSON (or a
    `synth --task tal` folder), data.features the folder of VIDEO.npy files (sidecars, or data.feature_fps /
    feature_window / feature_stride). Evaluation: average mAP on data.subset_val, with the rows without relation
    and fusion. Writes OUT/model.pt (kind tal).

    Examples:

      deeperaction train tal configs/tal_tiny.yaml

      deeperaction train tal configs/tal_tiny.yaml --set data.subset_train=validation --set data.subset_val=test

      torchrun --nproc_per_node 8 -m deeperaction train tal configs/tal_tiny.yaml --set model.width=512
    """
    _train(_tal_entry, config, set_, resume, json_out)


@train_app.command("mosi")
def train_mosi_cmd(
    config: Path = typer.Argument(..., help="YAML config; keys override deeperaction.train.mosi.MOSI_DEFAULTS."),
    set_: list[str] = _SET, resume: str = _RESUME, json_out: Path = _JSON,
) -> None:
    """Self-supervised initialisation of a video backbone (MoSI): learn the speed and direction of windows
    sliding over still images (synthetic frames or --set mosi.images=FOLDER); writes OUT/model.pt, which
    `model.weights` of `train tps` accepts (the head is skipped).

    Examples:

      deeperaction train mosi configs/mosi_cpu.yaml

      deeperaction train tps configs/tps_rgb_cpu.yaml --set model.weights=runs/mosi_cpu/model.pt
    """
    _train(_mosi_entry, config, set_, resume, json_out)


@train_app.command("tps")
def train_tps_cmd(
    config: Path = typer.Argument(..., help="YAML config; keys override deeperaction.train.config.DEFAULTS."),
    set_: list[str] = _SET, resume: str = _RESUME, json_out: Path = _JSON,
) -> None:
    """Train the Kinetics-TPS action classifier (video backbone or skeleton model).

    Examples:

      deeperaction train tps configs/tps_r3d18.yaml --set data.root=data/tps_train

      deeperaction train tps configs/tps_skeleton.yaml --resume auto

      torchrun --nproc_per_node 8 -m deeperaction train tps configs/tps_r3d18.yaml
    """
    _train(_tps_entry, config, set_, resume, json_out)


@train_app.command("parts")
def train_parts_cmd(
    config: Path = typer.Argument(..., help="YAML config; keys override deeperaction.train.part_states.PARTS_DEFAULTS."),
    set_: list[str] = _SET, resume: str = _RESUME, json_out: Path = _JSON,
) -> None:
    """Train a part-level model: the part-state head (parts.kind=part_state), video-level part states
    (video_states) or the frequency prior (prior); writes OUT/model.pt (or prior.json) for
    `deeperaction parse --state-model`.

    Examples:

      deeperaction train parts configs/parts_r3d18.yaml

      deeperaction train parts configs/parts_tiny3d.yaml --set parts.kind=prior

      torchrun --nproc_per_node 8 -m deeperaction train parts configs/parts_r3d18.yaml
    """
    _train(_parts_entry, config, set_, resume, json_out)


@train_app.command("partdet")
def train_partdet_cmd(
    config: Path = typer.Argument(..., help="YAML config; keys override "
                                            "deeperaction.train.part_detector.PARTDET_DEFAULTS."),
    set_: list[str] = _SET, resume: str = _RESUME, json_out: Path = _JSON,
) -> None:
    """Train the pose-guided part detector (keypoints drawn on person crops -> 10 part boxes); writes
    OUT/model.pt for `deeperaction parse --part-model`. Needs keypoints beside the videos (labels/V.npz,
    as `deeperaction synth` writes them). Evaluation: part IoU >= 0.3 recall beside the geometric boxes.

    Examples:

      deeperaction train partdet configs/partdet_tiny.yaml --set data.root=data/tps_train

      deeperaction train partdet configs/partdet_r18.yaml --set partdet.arch=fasterrcnn --set partdet.mode=heatmaps

      torchrun --nproc_per_node 8 -m deeperaction train partdet configs/partdet_r18.yaml
    """
    _train(_partdet_entry, config, set_, resume, json_out)


@train_app.command("persondet")
def train_persondet_cmd(
    config: Path = typer.Argument(..., help="YAML config; keys override "
                                            "deeperaction.train.person_detector.PERSONDET_DEFAULTS."),
    set_: list[str] = _SET, resume: str = _RESUME, json_out: Path = _JSON,
) -> None:
    """Train the person detector on the annotated frames (GT person boxes); writes OUT/model.pt for
    `deeperaction parse --person-model` (people first, then a pose in each box). Evaluation: person AP at
    IoU 0.5, recall and precision of the boxes parse keeps.

    Examples:

      deeperaction train persondet configs/persondet_tiny.yaml --set data.root=data/tps_train

      deeperaction train persondet configs/persondet_r18.yaml --set persondet.arch=fasterrcnn

      torchrun --nproc_per_node 8 -m deeperaction train persondet configs/persondet_r18.yaml
    """
    _train(_persondet_entry, config, set_, resume, json_out)


@train_app.command("cache")
def cache_cmd(
    config: Path = typer.Argument(..., help="YAML config naming data.root (and data.val_root) and data.cache."),
    set_: list[str] = _SET,
) -> None:
    """Decode every video of the config's data once into the clip cache (data.cache), with data.workers
    processes, before training (so the GPUs never wait for a decoder).

    Example:

      deeperaction train cache configs/tps_r3d18.yaml --set data.workers=16
    """
    def run() -> None:
        from rich.progress import Progress  # noqa: PLC0415

        from deeperaction.datasets.clip_cache import cache_for  # noqa: PLC0415
        from deeperaction.datasets.tps_folder import train_val_split  # noqa: PLC0415
        from deeperaction.errors import InputError  # noqa: PLC0415
        from deeperaction.train.config import load_config  # noqa: PLC0415

        cfg = load_config(config, set_ or [])
        if not cfg["data"]["cache"]:
            raise InputError("set data.cache to the cache folder", file=config, field="data.cache")
        split = train_val_split(cfg["data"], cfg["train"]["seed"])
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("decoding", total=len(split.train) + len(split.val))
            cache = cache_for(cfg["data"], split.train + split.val, lambda i, n: bar.update(task, completed=i))
        frames = sum(v.n_frames for v in cache.videos)
        console.print(f"cache: {len(cache)} videos, {frames} frames of {cache.size[0]}x{cache.size[1]} "
                      f"({frames * cache.size[0] * cache.size[1] * 3 / 2**30:.2f} GiB) in {cache.folder}",
                      highlight=False)

    guarded(run)
