"""Read videos (PyAV) or folders of frames as RGB uint8 arrays: probe, iterate, frame-exact random access.

Frames are 0-based. Rotation metadata (phone videos) is applied, so arrays are upright. A folder of image
files (``img_00001.jpg`` ...) is accepted anywhere a video path is. Bad input raises :class:`InputError`.
Frame index of a decoded frame = ``round((pts - start) * time_base * fps)``: frame-exact for constant
frame rate, which is what the datasets of this field use; seeking falls back to decoding through when
a container has no timestamps.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from deeperaction.errors import InputError
from deeperaction.video import frames as frame_folder

SEEK_GAP = 48
"""Seek instead of decoding through when the next wanted frame is at least this many frames ahead."""


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learns about a video: ``width``/``height`` are after rotation."""

    path: str
    fps: float
    n_frames: int
    width: int
    height: int
    duration_s: float
    rotation: int  # degrees clockwise applied to decoded frames to make them upright (0, 90, 180, 270)


def _open(path: Path):
    if not path.exists():
        raise InputError("no such file", file=path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"cannot open as a video ({type(e).__name__}: {e}); empty, truncated or not a video",
                         file=path) from None
    if not container.streams.video:
        container.close()
        raise InputError("has no video stream (not a video?)", file=path)
    return container


def _fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    return fps if math.isfinite(fps) and fps > 0 else 25.0


def _norm_rotation(deg: float | int | None) -> int:
    return int(round((deg or 0) / 90.0)) % 4 * 90


def _rgb(frame, rotation: int, size: tuple[int, int] | None) -> np.ndarray:
    """Decoded frame -> upright RGB array, resized to ``size=(w, h)`` (of the upright frame) if given."""
    if size is not None:
        w, h = int(size[0]), int(size[1])
        if rotation in (90, 270):
            w, h = h, w
        arr = frame.to_ndarray(format="rgb24", width=w, height=h)
    else:
        arr = frame.to_ndarray(format="rgb24")
    if rotation:
        arr = np.ascontiguousarray(np.rot90(arr, k=-(rotation // 90)))
    return arr


THUMB_SIZE = (64, 36)
"""Width and height of the small YUV frames :func:`iter_frames` hands to ``thumbs`` (shot-cut detection)."""
_PLANAR_YUV8 = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv411p", "yuv410p"}


def thumbnail_yuv(frame) -> np.ndarray:
    """A ``(36, 64, 3)`` uint8 Y, U, V thumbnail of a decoded frame: every plane point-sampled on the same
    grid (0.02 ms on a 768x576 frame, against 2 ms for a scaled RGB conversion, used for other pixel formats)."""
    w, h = THUMB_SIZE
    if frame.format.name in _PLANAR_YUV8 and len(frame.planes) >= 3:
        out = np.empty((h, w, 3), np.uint8)
        for k, pl in enumerate(frame.planes[:3]):
            a = np.frombuffer(pl, np.uint8).reshape(pl.height, pl.line_size)
            rows = (np.arange(h) * pl.height + pl.height // 2) // h
            cols = (np.arange(w) * pl.width + pl.width // 2) // w
            out[:, :, k] = a[rows[:, None], cols[None, :]]
        return out
    rgb = frame.to_ndarray(format="rgb24", width=w, height=h)
    return rgb_thumbnail_yuv(rgb)


def rgb_thumbnail_yuv(rgb: np.ndarray) -> np.ndarray:
    """The :func:`thumbnail_yuv` of an RGB array (frame folders, other pixel formats)."""
    import cv2

    small = cv2.resize(rgb, THUMB_SIZE, interpolation=cv2.INTER_AREA) if rgb.shape[:2] != THUMB_SIZE[::-1] else rgb
    return cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2YUV)


def probe(path: str | Path) -> VideoInfo:
    """Frame rate, frame count, upright size, duration and rotation of a video or a folder of frames.

    The frame count comes from the container; when it has none, packets are counted (no decoding).
    """
    path = Path(path)
    if path.is_dir():
        return frame_folder.probe_folder(path, VideoInfo)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        fps = _fps(stream)
        n = int(stream.frames or 0)
        if n <= 0:
            n = sum(1 for p in container.demux(stream) if p.size)
            container.seek(0)
        if n <= 0:
            raise InputError("has no video frames (empty or truncated)", file=path)
        try:
            first = next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError):
            raise InputError("no frame could be decoded (empty, truncated or corrupt)", file=path) from None
        rotation = _norm_rotation(-first.rotation if first.rotation else 0)
        w, h = first.width, first.height
        if rotation in (90, 270):
            w, h = h, w
        return VideoInfo(str(path), fps, n, w, h, n / fps, rotation)
    finally:
        container.close()


class _Decoder:
    """Sequential decoding with frame indices from timestamps, and seeking by index."""

    def __init__(self, path: Path):
        self.path = path
        self.container = _open(path)
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.fps = _fps(self.stream)
        self.tb = float(self.stream.time_base) if self.stream.time_base else None
        self.start = self.stream.start_time or 0
        self._it: Iterator | None = None
        self.keyframes = self._keyframes()
        self._count = 0  # fallback index when frames lack pts
        self.rotation: int | None = None

    def _keyframes(self) -> np.ndarray:
        """Approximate frame indices of the keyframes from the container index (empty if none)."""
        try:
            ts = [e.timestamp for e in self.stream.index_entries if e.is_keyframe]
        except (AttributeError, av.error.FFmpegError):
            return np.zeros(0, np.int64)
        if not ts or self.tb is None:
            return np.zeros(0, np.int64)
        return np.round((np.asarray(ts, float) - self.start) * self.tb * self.fps).astype(np.int64)

    def worth_seeking(self, pos: int, target: int) -> bool:
        """Seek only over a long gap, and (when the index is known) if a keyframe lies after ``pos``."""
        if target - pos < SEEK_GAP:
            return False
        if not len(self.keyframes):
            return True
        k = np.searchsorted(self.keyframes, target, side="right") - 1
        return k >= 0 and self.keyframes[k] > pos + 1

    def index_of(self, frame) -> int:
        if frame.pts is None or self.tb is None:
            return self._count - 1
        return int(round((frame.pts - self.start) * self.tb * self.fps))

    def frames(self) -> Iterator[tuple[int, "av.VideoFrame"]]:
        """Decoded frames from the current position, with their 0-based index."""
        if self._it is None:
            self._it = self.container.decode(self.stream)
        while True:
            try:
                frame = next(self._it)
            except StopIteration:
                return
            except av.error.FFmpegError as e:
                raise InputError(f"decoding failed after frame {self._count - 1} ({e}); truncated or corrupt"
                                 " video", file=self.path) from None
            self._count += 1
            if self.rotation is None:
                self.rotation = _norm_rotation(-frame.rotation if frame.rotation else 0)
            yield self.index_of(frame), frame

    def seek(self, index: int) -> bool:
        """Position before ``index`` (at a keyframe at or before it); False if timestamps are unusable."""
        if self.tb is None or index <= 0:
            return False
        pts = self.start + int(index / self.fps / self.tb)
        try:
            self.container.seek(pts, stream=self.stream, backward=True, any_frame=False)
        except av.error.FFmpegError:
            return False
        self._it = None
        return True

    def close(self) -> None:
        self.container.close()


def iter_frames(path: str | Path, *, start: int = 0, stop: int | None = None, step: int = 1,
                size: tuple[int, int] | None = None, stats: dict | None = None,
                thumbs: Callable[[int, np.ndarray], None] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, rgb)`` for frames ``start, start+step, ... < stop`` (upright RGB uint8 ``(H, W, 3)``).

    ``size=(w, h)`` resizes (in the decoder, cheaper than afterwards). Frames the video does not have are
    simply not yielded, so ``stop=None`` runs to the end. ``stats["decoded"]`` becomes the number of frames
    the decoder produced (below the header's count for a truncated file). ``thumbs(index, yuv)`` hears of
    every decoded frame from ``start`` on, skipped ones too, with its :func:`thumbnail_yuv` (a frame folder:
    of the yielded frames only), before that frame is yielded.
    """
    path = Path(path)
    if step < 1 or start < 0:
        raise ValueError(f"need start >= 0 and step >= 1, got start={start}, step={step}")
    if path.is_dir():
        for idx, rgb in frame_folder.iter_folder(path, start=start, stop=stop, step=step, size=size):
            if thumbs is not None:
                thumbs(idx, rgb_thumbnail_yuv(rgb))
            yield idx, rgb
        return
    dec = _Decoder(path)
    try:
        if start >= SEEK_GAP:
            dec.seek(start)
        got_any = False
        for idx, frame in dec.frames():
            got_any = True
            if stop is not None and idx >= stop:
                break
            if stats is not None:
                stats["decoded"] = idx + 1
            if idx < start:
                continue
            if thumbs is not None:
                thumbs(idx, thumbnail_yuv(frame))
            if (idx - start) % step:
                continue
            yield idx, _rgb(frame, dec.rotation or 0, size)
        if not got_any and dec._count == 0:
            raise InputError("no frame could be decoded (empty, truncated or corrupt)", file=path)
    finally:
        dec.close()


def read_frames(path: str | Path, indices: Sequence[int] | np.ndarray, *,
                size: tuple[int, int] | None = None) -> np.ndarray:
    """The frames at ``indices`` (any order, repeats allowed) as ``(N, H, W, 3)`` RGB uint8, frame-exact.

    Decodes through short gaps and seeks over long ones. An index past the end raises InputError.
    """
    path = Path(path)
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size == 0:
        raise ValueError("read_frames needs at least one index")
    if (idx < 0).any():
        raise InputError(f"negative frame index {int(idx.min())}", file=path)
    if path.is_dir():
        return frame_folder.read_folder(path, idx, size=size)
    wanted = [int(i) for i in np.unique(idx)]
    got: dict[int, np.ndarray] = {}
    dec = _Decoder(path)
    try:
        it, pos = dec.frames(), -1  # pos: index of the last decoded frame
        for target in wanted:
            sought = dec.worth_seeking(pos, target) and dec.seek(target)
            if sought:
                it = dec.frames()
            while True:
                item = next(it, None)
                if item is None:
                    raise InputError(f"frame {target} is past the last decodable frame {pos}", file=path,
                                     frame=target)
                i, frame = item
                if sought and i > target:  # the seek overshot (bad index): decode from the start instead
                    dec.close()
                    dec = _Decoder(path)
                    it, sought = dec.frames(), False
                    continue
                sought, pos = False, i
                if i >= target:
                    if i == target:
                        got[i] = _rgb(frame, dec.rotation or 0, size)
                    break
    finally:
        dec.close()
    missing = [int(i) for i in wanted if int(i) not in got]
    if missing:
        raise InputError(f"frames {missing[:5]} could not be decoded (timestamp gaps or truncated)", file=path)
    return np.stack([got[int(i)] for i in idx])


def sample_clip_indices(n_frames: int, clip_len: int, stride: int, num_clips: int, mode: str = "uniform",
                        rng: np.random.Generator | None = None) -> np.ndarray:
    """Frame indices of ``num_clips`` clips of ``clip_len`` frames ``stride`` apart: ``(num_clips, clip_len)``.

    ``uniform`` spreads clip starts evenly (test time, multi-clip); ``random`` draws them (training).
    Indices past the end are clamped to the last frame, so short videos repeat their last frame.
    """
    if n_frames <= 0 or clip_len <= 0 or stride <= 0 or num_clips <= 0:
        raise ValueError(f"need positive n_frames, clip_len, stride, num_clips; got {n_frames}, {clip_len},"
                         f" {stride}, {num_clips}")
    span = (clip_len - 1) * stride + 1
    room = max(n_frames - span, 0)
    if mode == "uniform":
        starts = (np.full(num_clips, room / 2.0) if num_clips == 1
                  else np.linspace(0, room, num_clips))
        starts = np.round(starts).astype(np.int64)
    elif mode == "random":
        rng = rng if rng is not None else np.random.default_rng()
        starts = rng.integers(0, room + 1, size=num_clips)
    else:
        raise ValueError(f"mode must be 'uniform' or 'random', got {mode!r}")
    idx = starts[:, None] + stride * np.arange(clip_len)[None, :]
    return np.minimum(idx, n_frames - 1)
