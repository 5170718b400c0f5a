"""``nnctl report``'s page as a person sees it: a real headless chromium opens it from disk.

The browser has no network; the tests check that the page asked for nothing beyond itself, that
its console has no error, and that the screenshot shows pictures (its pixels vary inside each
picture). A control page that does fetch and log an error shows that the checks can fail.
chromium missing is a failure, never a skip.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnctl.config.loader import load_config
from nnctl.workflows.report import report
from nnctl.workflows.train import train_run
from tests.helpers import CONFIGS
from tests.inspection import browser as browser_module
from tests.inspection.browser import Browser, BrowserError, PageVisit


@pytest.fixture(scope="module")
def browser() -> Browser:
    with Browser() as opened:
        yield opened  # type: ignore[misc]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report-digits")
    cfg = load_config(CONFIGS / "digits.yaml", overrides=["training.epochs=2"])
    return train_run(cfg, runs_dir=folder / "runs").path


def _pixels(visit: PageVisit) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(visit.screenshot)).convert("L"), dtype=np.float64)


def _check_page(visit: PageVisit, n_pictures: int) -> None:
    assert visit.requests == []
    assert visit.errors == []
    pixels = _pixels(visit)
    assert pixels.std() > 10  # not a blank page
    pictures = [box for box in visit.boxes if box["width"] > 100 and box["height"] > 50]
    assert len(pictures) >= n_pictures
    for box in pictures:
        x, y = int(box["x"]), int(box["y"])
        inside = pixels[y : y + int(box["height"]), x : x + int(box["width"])]
        assert inside.size > 0 and inside.std() > 10, box  # a chart, not an empty frame


def test_control_page_that_fetches_and_logs_is_caught(tmp_path: Path, browser: Browser) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><body><p>x</p><img src="http://example.com/a.png">'
        '<script>console.error("boom")</script></body></html>',
        encoding="utf-8",
    )
    visit = browser.visit(page)
    assert visit.requests == ["http://example.com/a.png"]
    assert "boom" in visit.errors


def test_control_blank_page_is_caught(tmp_path: Path, browser: Browser) -> None:
    page = tmp_path / "blank.html"
    page.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    assert _pixels(browser.visit(page)).std() == 0


def test_classification_report_opens_offline_with_its_pictures(
    iris_run: Path, tmp_path: Path, browser: Browser
) -> None:
    page = report(iris_run, tmp_path / "iris.html")
    # loss (the run has no metrics), confusion, update ratio, dead/saturated units, network
    _check_page(browser.visit(page), n_pictures=5)


def test_image_report_opens_offline_with_tiles_and_wrong_images(
    digits_run: Path, browser: Browser
) -> None:
    page = report(digits_run)
    assert page == digits_run / "report.html"
    visit = browser.visit(page)
    # loss, accuracy, confusion, update ratio, dead/saturated, network, first layer's weights,
    # most wrong
    _check_page(visit, n_pictures=8)


def test_missing_chromium_is_a_failure_not_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser_module, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BrowserError, match="scripts/test installs it"):
        Browser()
