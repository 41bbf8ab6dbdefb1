"""H.264 MP4 writer through PyAV (libx264, yuv420p), used by the renderer and the synthetic generator."""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


class VideoWriter:
    """Write RGB uint8 frames ``(H, W, 3)`` to an H.264 MP4.

    ``with VideoWriter(path, fps=25, size=(w, h)) as w: w.write(frame)``. Odd sizes are padded to even
    (yuv420p needs it) by repeating the last row/column. ``crf`` trades size for quality (lower = better).
    The file is written under a temporary name and renamed into place on a clean close, so a failure
    midway never leaves half a video at ``path``. ``threads``: encoder threads, 0 lets libx264 choose.
    ``reproducible``: the same frames give the same bytes, whatever ran before in the process (the synthetic
    generator's promise). libx264's default output is not a function of its input: its macroblock tree and
    frame threads read memory whose contents depend on earlier allocations (measured: one clip's frames
    encoded to 4 different files in 6 tries, and a generator run's videos changed with the length of its
    folder's path), so this asks for one thread and no macroblock tree (files ~5 % larger).
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int], *, crf: int = 20,
                 preset: str = "veryfast", threads: int = 0, reproducible: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.tmp{self.path.suffix or '.mp4'}")
        self.width, self.height = int(size[0]), int(size[1])
        self._w2, self._h2 = self.width + self.width % 2, self.height + self.height % 2
        self._container = av.open(str(self._tmp), mode="w")
        rate = Fraction(fps).limit_denominator(1001)
        self._rate = rate
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width, self._stream.height = self._w2, self._h2
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(crf), "preset": preset,
                                **({"x264-params": "mbtree=0"} if reproducible else {})}
        if threads or reproducible:
            self._stream.codec_context.thread_count = 1 if reproducible else threads
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame of the declared size."""
        if frame.shape[:2] != (self.height, self.width) or frame.dtype != np.uint8:
            raise ValueError(f"{self.path}: frame {self.frames_written} has shape {frame.shape} "
                             f"{frame.dtype}, expected ({self.height}, {self.width}, 3) uint8")
        if (self._w2, self._h2) != (self.width, self.height):
            frame = np.pad(frame, ((0, self._h2 - self.height), (0, self._w2 - self.width), (0, 0)), mode="edge")
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        vf.pts, vf.time_base = self.frames_written, 1 / self._rate  # steady 1/fps timestamps for rate control
        for packet in self._stream.encode(vf):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder, close the file and move it into place."""
        if self._container is None:
            return
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Drop what was written (nothing appears at ``path``)."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 - the file is dropped anyway
                pass
            self._container = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
