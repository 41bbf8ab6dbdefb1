"""Average precision from precision/recall arrays (numpy only)."""
from __future__ import annotations

import numpy as np


def average_precision_all_point(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC / ActivityNet all-point interpolated AP.

    Pads with (recall 0, precision 0) and (recall 1, precision 0), makes precision monotonically
    non-increasing from the right, and sums precision over the recall steps, exactly as the
    ActivityNet, AVA (object_detection) and MultiSports-2022 scorers do.
    """
    mprec = np.concatenate(([0.0], np.asarray(precision), [0.0]))
    mrec = np.concatenate(([0.0], np.asarray(recall), [1.0]))
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))
