"""The restricted unpickler: numpy arrays and plain containers load; code in a pickle never runs."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from deeperaction.errors import InputError
from deeperaction.formats.safe_pickle import safe_load, safe_loads


class _Evil:
    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


class _EvalEvil:
    def __reduce__(self):
        import builtins
        return (builtins.eval, ("__import__('os').getpid()",))


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_numpy_and_plain_containers_round_trip(protocol):
    obj = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.float64(2.5), "i": np.int64(7),
           "l": [1, 2.0, "x", None, True, b"\x00\xff"], "t": (np.zeros((0, 8)),), 3: {"nested": [np.bool_(1)]}}
    back = safe_loads(pickle.dumps(obj, protocol=protocol))
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], obj["a"])
    assert back["s"] == 2.5 and back["i"] == 7 and back["l"] == obj["l"] and back[3]["nested"][0]


def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "gt.pkl"
    path.write_bytes(pickle.dumps({"labels": [_Evil(str(target))]}))
    with pytest.raises(InputError) as e:
        safe_load(path)
    assert not target.exists()
    assert str(path) in str(e.value) and "system" in str(e.value)


def test_eval_and_arbitrary_classes_refused(tmp_path):
    with pytest.raises(InputError, match="builtins.eval"):
        safe_loads(pickle.dumps(_EvalEvil()))
    with pytest.raises(InputError, match="_Evil"):  # a class reference alone is refused
        safe_loads(pickle.dumps(_Evil))


def test_truncated_and_garbage_files(tmp_path):
    good = pickle.dumps({"x": np.arange(100)})
    p = tmp_path / "t.pkl"
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match="t.pkl"):
        safe_load(p)
    p.write_bytes(b"not a pickle at all")
    with pytest.raises(InputError):
        safe_load(p)
    with pytest.raises(FileNotFoundError):
        safe_load(tmp_path / "missing.pkl")
