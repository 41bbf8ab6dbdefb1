"""Write Kinetics-TPS files from schema objects (VideoParse -> official JSON)."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError
from deeperaction.formats.tps_set import frame_file
from deeperaction.outputs import write_atomic
from deeperaction.schema import VideoParse

KINDS = ("gt", "pred")


def official_paths(folder: str | Path, kind: str) -> tuple[Path, Path]:
    """The official file names in ``folder``: ``{kind}_vid_result.json``, ``{kind}_part_result.json``."""
    folder = Path(folder)
    return folder / f"{kind}_vid_result.json", folder / f"{kind}_part_result.json"


def _num(x: float) -> int | float:
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def _box(b: np.ndarray) -> list:
    return [_num(v) for v in b]


def write_tps(out_dir: str | Path, parses: Iterable[VideoParse] | Mapping[str, VideoParse],
              kind: str = "gt") -> tuple[Path, Path]:
    """Write ``{kind}_vid_result.json`` and ``{kind}_part_result.json`` from VideoParse objects.

    GT parts take their first proposal; parts without proposals are left out. Frames are written in
    the order given; a video's action must be set.
    """
    if kind not in KINDS:
        raise InputError(f"kind must be 'gt' or 'pred', got {kind!r}")
    items = list(parses.values()) if isinstance(parses, Mapping) else list(parses)
    actions: dict[str, str] = {}
    part_obj: dict[str, dict] = {}
    for vp in items:
        if vp.action is None:
            raise InputError("video has no action; set VideoParse.action", video=vp.video_id)
        actions[vp.video_id] = vp.action
        frames: dict[str, dict] = {}
        for fp in vp.frames:
            humans = []
            for person in fp.persons:
                parts: dict[str, dict] = {}
                for name, pd in person.parts.items():
                    if kind == "gt":
                        if len(pd.boxes):
                            parts[name] = {"box": _box(pd.boxes[0]), "verb": pd.states[0]}
                    else:
                        parts[name] = {"box": [_box(b) for b in pd.boxes], "verb": list(pd.states)}
                humans.append({"box": _box(person.box), "parts": parts})
            frames[frame_file(fp.frame)] = {"humans": humans}
        part_obj[vp.video_id] = frames
    vid_path, part_path = official_paths(out_dir, kind)
    vid_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(vid_path, json.dumps(actions))
    write_atomic(part_path, json.dumps(part_obj, separators=(",", ":")))
    return vid_path, part_path
