"""Open a pytest-compress HTML report in headless Chromium, screenshot it, and check its plots rendered.

Run: ``python benchmarks/report_screenshot.py [REPORT.html] [--out SHOT.png]``. Without a
report it first runs a small gate on the shipped tiny model (rtn8 and rtn2 on tool_use and
agreement.rank_correlation, 24 cases) and writes one into a temporary directory.

Needs a Chromium binary: ``chromium`` / ``chromium-browser`` / ``google-chrome`` on PATH, or
``$PYTEST_COMPRESS_CHROMIUM`` (Debian: ``apt-get install chromium``). Two checks:

* the DOM after load: every ``<img>`` decoded (``complete`` and ``naturalWidth > 0``), read
  back with ``--dump-dom`` from a copy of the page that records them in an attribute;
* the screenshot: the plots' baseline-bar colour covers a visible area (an image that
  failed to paint would leave none: that colour appears nowhere else on the page).

Prints a JSON summary; exit status 0 when both checks pass. ``tests/report/
test_report_browser.py`` runs the same checks and is skipped when no browser is found.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER_ENV = "PYTEST_COMPRESS_CHROMIUM"
BASELINE_BAR_RGB = (0x54, 0x6E, 0x7A)  # pytest_compress.report.html: the baseline bars' colour (#546e7a)
MIN_BAR_PIXELS = 400
_CHECK_ATTR = "data-image-check"
_CHECK_SCRIPT = f"""<script>
window.addEventListener("load", () => {{
  const images = Array.from(document.images).map(i => ({{alt: i.alt, complete: i.complete,
    width: i.naturalWidth, height: i.naturalHeight}}));
  document.body.setAttribute("{_CHECK_ATTR}", JSON.stringify(images));
}});
</script>"""


def find_browser() -> str | None:
    """The Chromium binary to use, or None."""
    explicit = os.environ.get(BROWSER_ENV)
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def _headless(browser: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    # --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--disable-dev-shm-usage", "--virtual-time-budget=5000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def image_status(browser: str, report: Path) -> list[dict]:
    """Per ``<img>`` of ``report``: alt text, whether it decoded, and its natural size."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(report.read_text(encoding="utf-8").replace("</body>", _CHECK_SCRIPT + "</body>"),
                         encoding="utf-8")
        done = _headless(browser, "--dump-dom", probe.as_uri())
    match = re.search(rf'{_CHECK_ATTR}="([^"]*)"', done.stdout)
    if match is None:
        raise RuntimeError(f"the browser returned no image check (exit {done.returncode}): {done.stderr[-500:]}")
    return json.loads(html.unescape(match.group(1)))


def screenshot(browser: str, report: Path, out: Path, width: int = 1280, height: int = 3600) -> Path:
    done = _headless(browser, f"--screenshot={out}", f"--window-size={width},{height}", report.resolve().as_uri())
    if not out.is_file():
        raise RuntimeError(f"no screenshot written (exit {done.returncode}): {done.stderr[-500:]}")
    return out


def colour_pixels(png: Path, rgb: tuple[int, int, int]) -> int:
    """How many pixels of ``png`` have exactly the colour ``rgb``."""
    from PIL import Image

    with Image.open(png) as image:
        return sum(count for count, colour in image.convert("RGB").getcolors(maxcolors=1 << 24) if colour == rgb)


def check_report(browser: str, report: Path, out: Path) -> dict:
    """Both checks on ``report``; the screenshot goes to ``out``."""
    images = image_status(browser, report)
    screenshot(browser, report, out)
    bar_pixels = colour_pixels(out, BASELINE_BAR_RGB)
    decoded = bool(images) and all(i["complete"] and i["width"] > 0 and i["height"] > 0 for i in images)
    return {"report": str(report), "screenshot": str(out), "images": images, "all_images_decoded": decoded,
            "baseline_bar_pixels": bar_pixels, "plots_painted": bar_pixels >= MIN_BAR_PIXELS,
            "passed": decoded and bar_pixels >= MIN_BAR_PIXELS}


def tiny_report(directory: Path, n: int = 24) -> Path:
    """Run a small gate (``n`` cases per suite) on the tiny model and write its report into
    ``directory``; the HTML path."""
    from pytest_compress.report import write_reports
    from pytest_compress.report.document import build_document
    from pytest_compress.runner import GateRunner, RunConfig
    from pytest_compress.spec import parse_spec

    runner = GateRunner(RunConfig(model="tiny", use_cache=False))
    results = [runner.evaluate(parse_spec(spec), suite, {"n": n})
               for spec in ("rtn8", "rtn2") for suite in ("tool_use", "agreement.rank_correlation")]
    document = build_document(results, config={"model": "tiny", "decision": "point", "seed": 0,
                                               "specs": ["rtn8", "rtn2"]},
                              compression=list(runner.reports.values()), timings=dict(runner.timings))
    write_reports(directory, document)
    return directory / "report.html"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", type=Path, help="report.html (default: make one on the tiny model)")
    parser.add_argument("--out", type=Path, default=Path("report-screenshot.png"), help="screenshot PNG path")
    args = parser.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print(f"no Chromium found: install one (apt-get install chromium) or set ${BROWSER_ENV}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        report = args.report or tiny_report(Path(tmp))
        summary = check_report(browser, report, args.out)
    print(json.dumps(summary, indent=2))
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    sys.exit(main())
