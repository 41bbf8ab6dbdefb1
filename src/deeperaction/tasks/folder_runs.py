"""Running a pipeline (``parse``, ``detect``) over a video, a frame folder or a folder of them: the videos of a
shard, and the per-video loop that reports a video of a folder that fails and goes on with the others."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from deeperaction.errors import InputError
from deeperaction.tasks.parse_outputs import list_inputs
from deeperaction.video.reader import VideoInfo, probe


def shard_videos(inputs: str | Path, shard: tuple[int, int]) -> tuple[list[Path], bool, int]:
    """The videos of ``inputs`` that fall to shard ``(i, n)`` (every n-th from the i-th), whether ``inputs`` is
    a single video, and how many videos there are in all."""
    videos, single = list_inputs(inputs)
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise InputError(f"shard must be i/n with 0 <= i < n, got {i}/{n}")
    return videos[i::n], single, len(videos)


def each_video(videos: list[Path], single: bool, work: Callable[[Path, Any], Any], summary: dict,
               on_video: Callable[[Path, int], Callable[[int], None] | None] | None = None,
               on_error: Callable[[InputError], None] | None = None) -> Iterator[tuple[Path, VideoInfo, Any]]:
    """``(video, info, work(video, on_frame))`` of each video. A video of a folder whose work fails with an
    :class:`InputError` is reported through ``on_error``, counted in ``summary["failed"]`` and skipped; a
    single video's error (or any, without ``on_error``) is raised."""
    for video in videos:
        try:
            info = probe(video)
            result = work(video, on_video(video, info.n_frames) if on_video else None)
        except InputError as e:
            if single or on_error is None:
                raise
            summary["failed"] += 1
            on_error(e)
            continue
        yield video, info, result
