"""Open a report in headless Chromium: it loads from disk without console errors, a table sorts on a
header click, the filter box works, and a screenshot is kept as a test artifact.

Chromium and its driver come from the Debian packages ``chromium`` and ``chromium-driver``; the fixture
installs them with apt-get when missing (as root) and skips, saying why, only if that fails. Selenium
comes from PyPI (test extra). Screenshots go to ``$DEEPERACTION_TEST_ARTIFACTS`` (default
``bench_out/test_artifacts``, git-ignored).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--window-size=1280,1800")


def _install_chromium() -> str | None:
    """apt-get install chromium chromium-driver; returns why it failed, or None."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "chromium/chromedriver missing and not root with apt-get to install them"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"]):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            return f"{' '.join(cmd)} failed: {r.stderr.strip()[-300:]}"
    return None


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_bin = shutil.which("chromedriver")
    if not (chromium and driver_bin):
        why = _install_chromium()
        chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
        if why or not (chromium and driver_bin):
            pytest.skip(f"no headless Chromium: {why or 'not on PATH after install'}")
    try:
        from selenium import webdriver
    except ImportError:
        pytest.skip("selenium is not installed (pip install selenium; it is in the test extra)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for f in FLAGS:
        opts.add_argument(f)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=driver_bin))
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def tal_report(official, tmp_path_factory) -> Path:
    from deeperaction.formats.activitynet import read_activitynet_gt, read_activitynet_pred
    from deeperaction.metrics.tal import evaluate_tal
    from deeperaction.viz.report import write_report

    d = official / "fineaction" / "tiefree"
    g, p = read_activitynet_gt(d / "gt.json"), read_activitynet_pred(d / "pred.json")
    return write_report("tal", evaluate_tal(g, p), g, p, tmp_path_factory.mktemp("browser") / "tal.html")


def _column(drv, table_id: str, col: int) -> list:
    from selenium.webdriver.common.by import By
    rows = drv.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")
    vals = [r.find_elements(By.TAG_NAME, "td")[col].get_attribute("data-v") for r in rows]
    return [None if v in (None, "") else float(v) for v in vals]


def test_report_in_headless_chromium(browser, tal_report):
    from selenium.webdriver.common.by import By

    browser.get(tal_report.as_uri())
    assert "evaluation report" in browser.title
    headers = browser.find_elements(By.CSS_SELECTOR, "#per-class thead th")
    assert [h.text for h in headers][:2] == ["class", "average AP"]
    before = _column(browser, "per-class", 1)
    headers[1].click()
    asc = _column(browser, "per-class", 1)
    assert headers[1].get_attribute("aria-sort") == "ascending"
    assert asc == sorted(before) and asc != before
    headers[1].click()
    assert _column(browser, "per-class", 1) == sorted(before, reverse=True)
    assert headers[1].get_attribute("aria-sort") == "descending"
    headers[0].click()  # text column sorts alphabetically
    names = [r.find_elements(By.TAG_NAME, "td")[0].text
             for r in browser.find_elements(By.CSS_SELECTOR, "#per-class tbody tr")]
    assert names == sorted(names)
    box = browser.find_element(By.CSS_SELECTOR, 'input.filter[data-table="per-class"]')
    box.send_keys(names[0])
    shown = [r for r in browser.find_elements(By.CSS_SELECTOR, "#per-class tbody tr") if r.is_displayed()]
    assert len(shown) == 1
    images = browser.find_elements(By.TAG_NAME, "img")
    assert images and all(browser.execute_script("return arguments[0].naturalWidth", i) > 0 for i in images)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    out = Path(os.environ.get("DEEPERACTION_TEST_ARTIFACTS", REPO / "bench_out" / "test_artifacts"))
    out.mkdir(parents=True, exist_ok=True)
    box.clear()
    browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(str(out / "report_tal.png"))
    assert (out / "report_tal.png").stat().st_size > 10_000
