"""The frequency-prior baseline of part states: the most frequent state of each part given the action
(issue 5, model 1), from the training GT; an unknown action falls back to the most frequent state overall.
Saved as a small JSON file that ``deeperaction parse --state-model`` loads like a trained checkpoint."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError
from deeperaction.kinematics.vocab import PART_STATES
from deeperaction.schema import PARTS, VideoParse

MAX_STATES = max(len(v) for v in PART_STATES.values())


class FrequencyPrior:
    """``counts (A + 1, 10, MAX_STATES)``: state counts per (action, part); row ``A`` = all actions."""

    def __init__(self, classes: list[str], counts: np.ndarray):
        self.classes = list(classes)
        self.counts = np.asarray(counts, np.float64)
        if self.counts.shape != (len(classes) + 1, len(PARTS), MAX_STATES):
            raise ValueError(f"counts must be ({len(classes) + 1}, {len(PARTS)}, {MAX_STATES}), "
                             f"got {self.counts.shape}")
        self.index = {c: i for i, c in enumerate(self.classes)}

    @classmethod
    def fit(cls, classes: list[str], action: np.ndarray, states: np.ndarray) -> "FrequencyPrior":
        """Count ``states (N, 10)`` (negative = absent) per ``action (N,)`` id (``len(classes)`` = unknown)."""
        counts = np.zeros((len(classes) + 1, len(PARTS), MAX_STATES))
        a = np.repeat(np.asarray(action), len(PARTS))
        p = np.tile(np.arange(len(PARTS)), len(action))
        s = np.asarray(states).reshape(-1)
        ok = (s >= 0) & (a < len(classes))
        np.add.at(counts, (a[ok], p[ok], s[ok]), 1)
        counts[-1] = counts[:-1].sum(0)
        return cls(classes, counts)

    def action_id(self, action: str | None) -> int:
        return self.index.get(action or "", len(self.classes))

    def probs(self, action_ids: np.ndarray) -> np.ndarray:
        """``(N, 10, MAX_STATES)`` state frequencies; an action never seen uses the overall row."""
        c = self.counts[np.asarray(action_ids)]
        empty = c.sum(-1, keepdims=True) == 0
        c = np.where(empty, self.counts[-1][None], c)
        return c / np.maximum(c.sum(-1, keepdims=True), 1)

    def predict(self, action_ids: np.ndarray) -> np.ndarray:
        """``(N, 10)`` most frequent state id per part (ties: the lower id, i.e. "none" first)."""
        return self.probs(action_ids).argmax(-1)

    def predict_states(self, video_path: str | Path | None, parse: VideoParse) -> None:
        """Rewrite every part's states in ``parse`` with the prior of ``parse.action`` (predictor contract)."""
        best = self.predict(np.array([self.action_id(parse.action)]))[0]
        for fp in parse.frames:
            for person in fp.persons:
                for name, det in person.parts.items():
                    k = PARTS.index(name)
                    det.states = [PART_STATES[name][best[k]]] * len(det.boxes)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"kind": "frequency_prior", "classes": self.classes,
                                          "parts": list(PARTS), "counts": self.counts.tolist()}))

    @classmethod
    def load(cls, path: str | Path) -> "FrequencyPrior":
        try:
            obj = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"not a frequency-prior JSON file ({e})", file=path) from None
        if not isinstance(obj, dict) or obj.get("kind") != "frequency_prior" or obj.get("parts") != list(PARTS):
            raise InputError("not a frequency-prior file (kind/parts fields)", file=path)
        try:
            return cls(obj["classes"], np.array(obj["counts"], np.float64))
        except (KeyError, ValueError) as e:
            raise InputError(f"bad frequency-prior file: {e}", file=path) from None
