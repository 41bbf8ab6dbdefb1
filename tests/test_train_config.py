"""Config: YAML over commented defaults (one level), --set overrides, every problem reported."""
from __future__ import annotations

from pathlib import Path

import pytest

from deeperaction.errors import InputError
from deeperaction.train.config import DEFAULTS, load_config

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def test_defaults_have_a_comment_per_key():
    src = (Path(__file__).resolve().parents[1] / "src/deeperaction/train/config.py").read_text()
    for section, keys in DEFAULTS.items():
        for key in keys:
            line = next(ln for ln in src.splitlines() if ln.strip().startswith(f'"{key}":'))
            assert "#" in line, f"{section}.{key} has no comment"


def test_yaml_then_set_override(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("optim: {lr: 1, name: adamw}\ndata: {cache_size: [64, 80]}\n")
    cfg = load_config(p, ["optim.lr=0.5", "train.amp=false", "data.scale=[0.5, 1]"])
    assert cfg["optim"]["lr"] == 0.5 and isinstance(cfg["optim"]["lr"], float)
    assert cfg["optim"]["name"] == "adamw" and cfg["train"]["amp"] is False
    assert cfg["data"]["cache_size"] == [64, 80] and cfg["data"]["scale"] == [0.5, 1]
    assert cfg["train"]["epochs"] == DEFAULTS["train"]["epochs"]
    assert DEFAULTS["optim"]["lr"] == 0.05  # defaults untouched


def test_every_problem_is_reported(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("optim: {lr: fast, nesterov: true}\nmodels: {}\ntrain: {amp: 1}\n")
    with pytest.raises(InputError) as e:
        load_config(p)
    text = str(e.value)
    assert len(e.value.problems) == 4
    for what in ("optim.lr", "optim.nesterov", "models", "train.amp", str(p)):
        assert what in text
    with pytest.raises(InputError, match="section.key=value"):
        load_config(None, ["lr=3"])
    with pytest.raises(InputError, match="not valid YAML"):
        (tmp_path / "x.yaml").write_text("a: [1,\n")
        load_config(tmp_path / "x.yaml")


def _loader(name: str):
    """Each shipped config family loads over its own defaults (the `train` subcommand that takes it)."""
    if name.startswith("parts_"):
        from deeperaction.train.part_states import load_part_states_config
        return load_part_states_config, lambda c: c["parts"]["kind"] in ("part_state", "video_states", "prior")
    if name.startswith("partdet_"):
        from deeperaction.train.part_detector import load_part_detector_config
        return load_part_detector_config, lambda c: c["partdet"]["arch"] in ("fcos", "fasterrcnn")
    if name.startswith("persondet_"):
        from deeperaction.train.person_detector import load_person_detector_config
        return load_person_detector_config, lambda c: c["persondet"]["arch"] in ("fcos", "fasterrcnn", "retinanet")
    if name.startswith("mosi_"):
        from deeperaction.train.mosi import load_mosi_config
        return load_mosi_config, lambda c: c["mosi"]["images"] == "synth" and c["data"]["crop"] <= c["mosi"]["size"]
    if name.startswith("stad_"):
        from deeperaction.train.stad import load_stad_config
        return load_stad_config, lambda c: c["stad"]["loss"] in ("softmax", "sigmoid")
    if name.startswith("tal_"):
        from deeperaction.train.tal import load_tal_config
        return load_tal_config, lambda c: c["tal"]["nms"] in ("soft", "hard", "none")
    return load_config, lambda c: c["model"]["kind"] in ("video", "skeleton")


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_configs_load(path):
    load, ok = _loader(path.name)
    assert ok(load(path))
