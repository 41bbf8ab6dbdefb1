"""Contact sheet of synthetic frames with their ground truth drawn on (for docs and eyeballing).

``python -m deeperaction.synth.contact OUT.jpg [--seed S]`` renders a grid: person boxes and track ids,
part boxes, skeletons, and the non-"none" part states of each person.
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np

from deeperaction.kinematics.vocab import PART_STATES
from deeperaction.schema import JOINT_INDEX, PARTS, SKELETON_EDGES
from deeperaction.synth.layouts import make_spec
from deeperaction.synth.video import Scene, VideoLabels

PART_COLOURS = [tuple(int(c) for c in cv2.cvtColor(np.uint8([[[int(180 * i / len(PARTS)), 220, 255]]]),
                                                    cv2.COLOR_HSV2RGB)[0, 0]) for i in range(len(PARTS))]


def draw_gt(img: np.ndarray, lab: VideoLabels, t: int) -> np.ndarray:
    """Copy of ``img`` with frame ``t``'s boxes, skeletons and states drawn."""
    out = img.copy()
    for p in lab.persons:
        if not p.present[t]:
            continue
        for i in range(len(PARTS)):
            if p.part_present[t, i]:
                x1, y1, x2, y2 = p.part_boxes[t, i].round().astype(int)
                cv2.rectangle(out, (x1, y1), (x2, y2), PART_COLOURS[i], 1)
        kp = p.keypoints[t]
        for a, b in SKELETON_EDGES:
            ia, ib = JOINT_INDEX[a], JOINT_INDEX[b]
            if kp[ia, 2] > 0 and kp[ib, 2] > 0:
                cv2.line(out, tuple(kp[ia, :2].round().astype(int)), tuple(kp[ib, :2].round().astype(int)),
                         (255, 255, 255), 1, cv2.LINE_AA)
        x1, y1, x2, y2 = p.boxes[t].round().astype(int)
        cv2.rectangle(out, (x1, y1), (x2, y2), (255, 255, 0), 2)
        act = p.action_at(t) or "idle"
        lines = [f"#{p.track_id} {act}"] + [f"{n}:{PART_STATES[n][p.states[t, i]]}" for i, n in enumerate(PARTS)
                                            if p.states[t, i] and p.part_present[t, i]]
        for k, s in enumerate(lines[:6]):
            y = max(10, y1 + 10 + 10 * k)
            cv2.putText(out, s, (x1 + 2, y), cv2.FONT_HERSHEY_PLAIN, 0.7, (0, 0, 0), 2, cv2.LINE_AA)
            cv2.putText(out, s, (x1 + 2, y), cv2.FONT_HERSHEY_PLAIN, 0.7, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def contact_sheet(seed: int = 0, size: tuple[int, int] = (320, 240), cols: int = 4) -> np.ndarray:
    """A grid of GT-annotated frames from tps (easy/default/hard), stad and tal videos."""
    specs = [make_spec("tps", i, seed, size=size, preset=pr, duration=(3.0, 3.0))
             for i, pr in enumerate(("easy", "default", "hard", "default"))]
    specs += [make_spec("stad", i, seed, size=size, preset=pr, duration=(6.0, 6.0))
              for i, pr in enumerate(("default", "hard", "hard"))]
    specs += [make_spec("tal", 0, seed, size=size, duration=(40.0, 40.0))]
    tiles = []
    for spec in specs:
        scene = Scene(spec)
        lab = scene.labels
        for t in (int(spec.n_frames * 0.35), int(spec.n_frames * 0.7)):
            tiles.append(draw_gt(scene.frame(t), lab, t))
    rows = [np.concatenate(tiles[i:i + cols], 1) for i in range(0, len(tiles), cols)]
    return np.concatenate(rows, 0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    cv2.imwrite(args.out, cv2.cvtColor(contact_sheet(args.seed), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])


if __name__ == "__main__":
    main()
