"""Assemble mediapipe's multi-person PoseLandmarker ``.task`` bundle offline, from the wheel's own files.

mediapipe 0.10.21 ships BlazePose's ``pose_detection.tflite`` and ``pose_landmark_full.tflite`` (model
complexity 1) but no ``.task`` bundle; the Tasks API wants one and would otherwise be pointed at a download.
We add the input-normalization metadata with mediapipe's own metadata writer (detector: mean/std 127.5,
i.e. [-1, 1]; landmarker: mean 0, std 255, i.e. [0, 1]) and zip both models, once, into a cache folder.
The lite/heavy models are not in the wheel and are never requested.
"""
from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

from deeperaction.errors import InputError

os.environ.setdefault("GLOG_minloglevel", "2")  # mediapipe's C++ logging: warnings and up only
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DETECTOR = ("pose_detection", "pose_detection.tflite")
LANDMARKER = ("pose_landmark", "pose_landmark_full.tflite")
BUNDLE_NAMES = {"detector": "pose_detector.tflite", "landmarker": "pose_landmarks_detector.tflite"}


def cache_dir() -> Path:
    """Where assembled bundles are kept: ``$DEEPERACTION_CACHE`` or ``~/.cache/deeperaction``."""
    root = os.environ.get("DEEPERACTION_CACHE") or Path.home() / ".cache" / "deeperaction"
    return Path(root) / "mediapipe"


def wheel_models() -> tuple[Path, Path]:
    """Paths of the detector and full landmarker tflite files inside the installed mediapipe wheel."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("mediapipe is not installed (pip install mediapipe==0.10.21)")
    modules = Path(spec.submodule_search_locations[0]) / "modules"
    paths = modules / DETECTOR[0] / DETECTOR[1], modules / LANDMARKER[0] / LANDMARKER[1]
    for p in paths:
        if not p.is_file():
            raise InputError("BlazePose model missing from the mediapipe wheel (need mediapipe 0.10.21)", file=p)
    return paths


def _with_metadata(model: bytes, name: str, mean: float, std: float) -> bytes:
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

    w = metadata_writer.MetadataWriter.create(bytearray(model)).add_general_info(name, "BlazePose (mediapipe)")
    w.add_image_input(norm_mean=[mean], norm_std=[std])
    for _ in writer_utils.get_output_tensor_types(bytearray(model)):
        w.add_feature_output()
    return bytes(w.populate()[0])


def pose_task_path(folder: Path | None = None) -> Path:
    """Path of ``pose_landmarker_full.task``, assembled on first use (about 1 s), atomically."""
    import mediapipe

    folder = Path(folder) if folder is not None else cache_dir()
    out = folder / f"pose_landmarker_full-mp{mediapipe.__version__}.task"
    if out.is_file() and out.stat().st_size > 0:
        return out
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    det_path, lm_path = wheel_models()
    models = {
        BUNDLE_NAMES["detector"]: _with_metadata(det_path.read_bytes(), "pose_detector", 127.5, 127.5),
        BUNDLE_NAMES["landmarker"]: _with_metadata(lm_path.read_bytes(), "pose_landmarks_detector", 0.0, 255.0),
    }
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".task", dir=folder)
    os.close(fd)
    try:
        model_asset_bundle_utils.create_model_asset_bundle(models, tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
