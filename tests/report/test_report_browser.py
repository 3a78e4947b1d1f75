"""The HTML report in headless Chromium: every plot decodes and paints (skipped without a browser).

CI installs no browser, so there this test is skipped with the reason; on a machine with
Chromium (``apt-get install chromium``) it runs in a few seconds. The same check as a script:
``python benchmarks/report_screenshot.py``.
"""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "report_screenshot.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("report_screenshot", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


screenshot = _load_script()
BROWSER = screenshot.find_browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason=f"no Chromium found (install one: apt-get install chromium, or set ${screenshot.BROWSER_ENV})")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return screenshot.tiny_report(tmp_path_factory.mktemp("report"), n=12)


def test_report_plots_render_in_headless_chromium(report, tmp_path):
    summary = screenshot.check_report(BROWSER, report, tmp_path / "shot.png")
    assert [i["alt"] for i in summary["images"]] == [
        "Score per suite per method", "Drop with its 95% interval", "Rank correlation by k"]
    assert summary["all_images_decoded"], summary["images"]
    assert summary["plots_painted"], summary["baseline_bar_pixels"]


def test_a_broken_image_is_caught(report, tmp_path):
    page = report.read_text()
    start = page.index("base64,") + len("base64,")
    broken = tmp_path / "broken.html"
    broken.write_text(page[:start] + "bm90IGEgcG5n" + page[page.index("'", start):])  # first plot: not a PNG
    summary = screenshot.check_report(BROWSER, broken, tmp_path / "shot.png")
    assert not summary["all_images_decoded"] and not summary["passed"]
    assert [i["width"] for i in summary["images"]][0] == 0
