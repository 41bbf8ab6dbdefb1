"""Default part states: kinematic rules on each track's joint angles and their change over a short window.

A heuristic, not a learned model: the same readable rules (``deeperaction.kinematics``) that label the
synthetic generator's ground truth, in its vocabulary. ``--state-model PATH`` replaces it.
"""
from __future__ import annotations

import numpy as np

from deeperaction.kinematics.states import part_states
from deeperaction.schema import JOINTS, PARTS


def track_states(keypoints: np.ndarray, fps: float) -> list[dict[str, str]]:
    """Per sample of one track ``(T, J, 3)`` (NaN where absent) sampled at ``fps``: ``{part: state}``."""
    kp = np.asarray(keypoints, float)
    if kp.size == 0:
        return []
    kp = kp.reshape(-1, len(JOINTS), 3).copy()
    kp[~np.isfinite(kp).all(-1)] = 0.0  # absent -> confidence 0, which the rules treat as missing
    if len(kp) < 2:
        return [{p: "none" for p in PARTS} for _ in range(len(kp))]
    return part_states(kp, max(float(fps), 1e-3))
