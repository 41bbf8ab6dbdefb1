"""`deeperaction synth` output passes `deeperaction validate` for every official format it writes (CLI level)."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from deeperaction.cli import app

runner = CliRunner()


def test_synth_then_validate_every_file(tmp_path):
    out = tmp_path / "synth"
    res = runner.invoke(app, ["synth", str(out), "--videos", "6", "--seed", "3", "--task", "all",
                              "--size", "160x120", "--duration", "3:4"])
    assert res.exit_code == 0, res.output
    gt = json.loads((out / "manifest.json").read_text())["ground_truth"]
    checked = 0
    for folder in gt["tps"].values():
        if (out / folder / "gt_vid_result.json").exists():
            res = runner.invoke(app, ["validate", "tps", str(out / folder), "--kind", "gt"])
            assert res.exit_code == 0, res.output
            checked += 1
    stad = gt["stad"]
    res = runner.invoke(app, ["validate", "multisports", str(out / stad["multisports"]), "--kind", "gt"])
    assert res.exit_code == 0, res.output
    for key, path in stad.items():
        if key.startswith("ava_") and key != "ava_labelmap":
            res = runner.invoke(app, ["validate", "ava", str(out / path), "--kind", "gt",
                                      "--labelmap", str(out / stad["ava_labelmap"])])
            assert res.exit_code == 0, res.output
            checked += 1
    res = runner.invoke(app, ["validate", "tal", str(out / gt["tal"]["activitynet"]), "--kind", "gt"])
    assert res.exit_code == 0, res.output
    assert checked >= 4
    # and a broken file is caught by the same command (so the checks above can fail)
    bad = tmp_path / "bad.json"
    doc = json.loads((out / gt["tal"]["activitynet"]).read_text())
    first = next(iter(doc["database"]))
    doc["database"][first]["annotations"] = [{"segment": ["x", 1.0], "label": "wave"}]
    bad.write_text(json.dumps(doc))
    res = runner.invoke(app, ["validate", "tal", str(bad), "--kind", "gt"])
    assert res.exit_code == 2 and first in res.output and "segment" in res.output
