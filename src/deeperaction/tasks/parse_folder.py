"""``deeperaction parse`` into a folder: one video, a frame folder, or a folder of them (sharded), with the
Kinetics-TPS submission files, ``parse.json``, the render and the contact sheet of each, merged at the root."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from deeperaction.errors import InputError
from deeperaction.formats.kinetics_tps import write_tps
from deeperaction.tasks.parse import ParseOptions, Parser
from deeperaction.tasks.folder_runs import each_video, shard_videos
from deeperaction.tasks.parse_outputs import merge_submissions, parse_json, write_json_atomic
from deeperaction.tasks.stopwatch import STAGES


def parse_to_folder(inputs: str | Path, out: str | Path, options: ParseOptions | None = None, *,
                    render: bool = True, shard: tuple[int, int] = (0, 1),
                    on_video: Callable[[Path, int], Callable[[int], None] | None] | None = None,
                    on_error: Callable[[InputError], None] | None = None,
                    on_warning: Callable[[str], None] | None = None) -> dict:
    """Parse a video, frame folder, or folder of them into ``out`` (see ``deeperaction parse --help``).

    A folder of videos gets one sub-folder per video and merged submission files at ``out``; a video of
    the folder that fails is reported through ``on_error`` and skipped (``failed`` in the summary);
    ``on_warning`` hears of videos parsed with a problem (a truncated file). Returns a summary dict.
    """
    from deeperaction.video.render import render_video  # (imports the video writer: only when rendering)

    mine, single, n_inputs = shard_videos(inputs, shard)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    parser = Parser(options)
    summary = {"videos": 0, "failed": 0, "frames": 0, "parsed_frames": 0, "tracks": 0, "cuts": 0, "seconds": 0.0,
               "timings": dict.fromkeys(STAGES, 0.0), "out": str(out), "inputs": n_inputs,
               "shard_videos": len(mine)}
    if not mine:
        return summary
    summary["timings"]["load"] = time.perf_counter() - t_start  # models loaded once per run
    try:
        for video, info, run in each_video(mine, single, lambda v, cb: parser.parse(v, on_frame=cb), summary,
                                           on_video, on_error):
            dest = out if single else out / video.stem
            t = run.timings
            for w in run.warnings:
                if on_warning is not None:
                    on_warning(w)
            dest.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            write_tps(dest, {run.parse.video_id: run.parse}, kind="pred")
            t["write"] += time.perf_counter() - t0
            if render:
                render_video(video, run.parse, dest / "render.mp4", stop=parser.opts.max_frames,
                             sheet_path=dest / "contact_sheet.png", timings=t)
            t0 = time.perf_counter()
            write_json_atomic(dest / "parse.json", parse_json(run, parser.opts.stride))  # once, timings complete
            t["write"] += time.perf_counter() - t0
            summary["videos"] += 1
            summary["frames"] += min(info.n_frames, parser.opts.max_frames or info.n_frames)
            summary["parsed_frames"] += len(run.parse.frames)
            summary["tracks"] += len({p.track_id for f in run.parse.frames for p in f.persons})
            summary["cuts"] += len(run.cuts)
            for k, v in t.items():
                summary["timings"][k] += v
    finally:
        parser.close()
    if not single and summary["videos"]:
        merge_submissions(out)
    summary["seconds"] = time.perf_counter() - t_start
    return summary
