"""Training configuration: commented catalogs of every key (a comment per key, once), from which each model
family declares its defaults (the shared ``optim`` and ``train`` sections plus its own ``data`` keys, ``model``
keys and family section), overridden one level deep by YAML.

A YAML file names only what differs, section by section (``optim: {lr: 0.01}``); ``--set optim.lr=0.01``
overrides one key. No inheritance, no includes. Unknown keys and wrong types are user errors (exit 2).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from deeperaction.errors import InputError, ProblemList

DATA: dict[str, Any] = {
    "root": "",              # Kinetics-TPS layout: gt_vid_result.json (+ gt_part_result.json) beside the videos
    "val_root": "",          # held-out set in the same layout; "" = split `val_fraction` off `root`
    "val_fraction": 0.2,     # share of `root` videos held out when `val_root` is "" (stratified by action)
    "cache": "",             # on-disk store of decoded clips, crops or frames (memory-mapped, built once); "" = none
    "cache_size": [128, 171],  # frame size (height, width) stored in the clip cache / decoded on the fly
    "cache_step": 1,         # keep every n-th frame in the clip cache (saves disk; frame_stride still in source frames)
    "clip_len": 16,          # frames per clip
    "frame_stride": 2,       # take every n-th frame inside a clip
    "source": "folder",      # training clips: "folder" (data.root) | "synth" (fresh synthetic ones, made in the workers)
    "repeat": 1,             # training clips drawn from each video per epoch (folder source; random starts)
    "synth_clips": 2000,     # synthetic training clips per epoch (source synth; new ones every epoch)
    "synth_preset": "easy",  # generator preset of the synthetic clips (easy | default | hard)
    "synth_size": [160, 120],  # frame size (width, height) the synthetic clips are rendered at
    "crop_mode": "frame",    # "frame" | "person": squares around the main person (GT boxes; the tracker's in parse)
    "person_size": 112,      # side of a person-centred clip before augmentation, pixels
    "person_margin": 0.3,    # context around the person's boxes over the clip, as a share of their size
    "crop": 112,             # square training crop, pixels (s3d and mvit need 224)
    "scale": [0.6, 1.0],     # random-resized-crop area range, fraction of the frame
    "flip": 0.5,             # horizontal flip probability (left/right parts and joints swap where present)
    "colour": 0.2,           # colour jitter strength (brightness/contrast/saturation), 0 = off
    "test_clips": 4,         # clips per video at evaluation (multi-clip testing; scores averaged)
    "workers": 4,            # DataLoader worker processes per rank (decode or read the cache)
    "prefetch": 4,           # batches each worker prepares ahead
}
"""Every ``data`` key of every model family, with its comment; a family keeps the keys it uses (:func:`section`)."""

MODEL: dict[str, Any] = {
    "kind": "video",         # "video" (torchvision 3D backbone) | "skeleton" (keypoint sequence classifier)
    "name": "r3d_18",        # r3d_18 | mc3_18 | r2plus1d_18 | s3d | mvit_v2_s ... | small3d | tiny3d
    "weights": "",           # local state-dict path to start from ("" = random init; never downloaded)
    "frozen_bn": False,      # freeze BatchNorm statistics and affine (small batches / fine-tuning)
    "dropout": 0.5,          # dropout before the classifier
    "channels_last": True,   # 3-D convolutions in the channels_last_3d memory format on CUDA (faster)
    "adaptive_graph": False,  # skeleton kind: each graph block also learns a free joint-to-joint matrix
    "dense_head": False,     # skeleton kind: a second head labels every 4-frame step of the window (trained by
                             # scripts/train_detect_skeleton.py on per-step labels; train tps refuses it)
}
"""Every ``model`` key shared by families (a family's own architecture keys live in its own section)."""

OPTIM: dict[str, Any] = {
    "name": "sgd",           # "sgd" (momentum, nesterov) | "adamw"
    "lr": 0.05,              # peak learning rate (for the total batch: batch_size x ranks; not rescaled)
    "momentum": 0.9,         # SGD momentum
    "weight_decay": 1e-4,    # on weights only; norms and biases are not decayed
    "warmup_epochs": 1.0,    # linear warm-up from 1% of lr, in epochs (fractions allowed)
    "min_lr": 0.0,           # cosine schedule floor, as a fraction of the peak lr
    "clip_grad": 1.0,        # max global gradient norm, 0 = no clipping
    "label_smoothing": 0.1,  # cross-entropy label smoothing (classification losses)
}
"""The ``optim`` section every family shares (values may differ per family)."""

TRAIN: dict[str, Any] = {
    "epochs": 30,            # passes over the training set
    "batch_size": 16,        # samples per rank per step
    "seed": 0,               # seeds Python, numpy, torch, the sampler and the augmentation
    "amp": True,             # bf16 autocast on CUDA (ignored on CPU)
    "ema": 0.0,              # EMA decay of the weights (e.g. 0.999), 0 = off; evaluated instead when on
    "out": "runs/tps",       # run folder: config.yaml, metrics.jsonl, last.pt, best.pt (model.pt)
    "eval_every": 1,         # evaluate every n epochs (and after the last)
    "log_every": 20,         # steps between metric lines
    "ckpt_every_steps": 0,   # also checkpoint inside an epoch every n steps (preemptible jobs), 0 = off
    "deterministic": False,  # torch deterministic algorithms (slower on GPU; exact resume on CPU anyway)
    "max_steps": 0,          # stop after this many optimizer steps in total (smoke runs), 0 = no limit
    "progress": True,        # rich progress bar on rank 0 when attached to a terminal
}
"""The ``train`` section every family shares (the engine's options)."""

TPS_DATA = ("root", "val_root", "val_fraction", "cache", "workers", "prefetch")
"""``data`` keys of every family (a Kinetics-TPS folder, its split, the on-disk store, the loader)."""
CLIP_DATA = ("cache_size", "cache_step", "clip_len", "frame_stride", "test_clips")
"""``data`` keys of the families that read video clips (action, part states)."""


def section(catalog: dict[str, Any], keys: tuple[str, ...], **values: Any) -> dict[str, Any]:
    """The keys ``keys`` of a catalog (:data:`DATA`, :data:`MODEL`, ...) with their defaults, ``values``
    replacing some: a family's section, declared once, never mutated."""
    unknown = set(values) - set(keys)
    if unknown:
        raise KeyError(f"values for keys not in the section: {sorted(unknown)}")
    return {k: copy.deepcopy(values.get(k, catalog[k])) for k in keys}


DEFAULTS: dict[str, dict[str, Any]] = {
    "data": section(DATA, TPS_DATA + CLIP_DATA + ("source", "repeat", "synth_clips", "synth_preset", "synth_size",
                                                  "crop_mode", "person_size", "person_margin", "crop", "scale",
                                                  "flip", "colour")),
    "model": section(MODEL, tuple(MODEL)),
    "optim": section(OPTIM, tuple(OPTIM)),
    "train": section(TRAIN, tuple(TRAIN)),
}
"""The action classifiers' options (``deeperaction train tps``), the defaults of :func:`load_config`; the other
families declare theirs beside their trainer (``PARTS_DEFAULTS``, ``PARTDET_DEFAULTS``, ``PERSONDET_DEFAULTS``)."""


def parse_value(text: str) -> Any:
    """A ``--set`` value as YAML (``0.1``, ``true``, ``[128, 171]``, ``r3d_18``)."""
    return yaml.safe_load(text) if text.strip() else ""


def _coerce(value: Any, default: Any, where: str, problems: ProblemList) -> Any:
    """``value`` checked against the type of ``default`` (int is accepted for float)."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            problems.add(f"expected true/false, got {value!r}", field=where)
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, list):
        if not isinstance(value, list) or len(value) != len(default):
            problems.add(f"expected a list of {len(default)} numbers, got {value!r}", field=where)
        return value
    if not isinstance(value, type(default)) or isinstance(value, bool) != isinstance(default, bool):
        problems.add(f"expected {type(default).__name__}, got {value!r}", field=where)
    return value


def merge(base: dict, override: dict, problems: ProblemList, source: str = "") -> dict:
    """Return ``base`` with ``override`` (``{section: {key: value}}``) applied; problems are collected."""
    out = copy.deepcopy(base)
    if not isinstance(override, dict):
        problems.add(f"expected a mapping of sections, got {type(override).__name__}")
        return out
    for section, values in override.items():
        if section not in out:
            problems.add(f"unknown section; known: {', '.join(out)}", field=str(section))
            continue
        if not isinstance(values, dict):
            problems.add("expected a mapping of keys", field=str(section))
            continue
        for key, value in values.items():
            where = f"{section}.{key}"
            if key not in out[section]:
                problems.add(f"unknown key; known: {', '.join(out[section])}", field=where)
                continue
            out[section][key] = _coerce(value, out[section][key], where, problems)
    return out


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                defaults: dict | None = None) -> dict:
    """DEFAULTS, then the YAML file at ``path``, then ``section.key=value`` overrides; validated."""
    cfg = copy.deepcopy(defaults or DEFAULTS)
    if path is not None:
        path = Path(path)
        problems = ProblemList(path)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise InputError(f"not valid YAML: {str(e).splitlines()[0]}", file=path) from None
        cfg = merge(cfg, data, problems)
        problems.raise_if_any()
    problems = ProblemList("--set")
    for item in overrides or []:
        key, sep, value = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot:
            problems.add(f"expected section.key=value, got {item!r}")
            continue
        cfg = merge(cfg, {section: {name: parse_value(value)}}, problems)
    problems.raise_if_any()
    return cfg


def dump_config(cfg: dict, path: str | Path) -> None:
    """Write the full resolved config as YAML (the run folder keeps what was actually used)."""
    Path(path).write_text(yaml.safe_dump(cfg, sort_keys=False))
