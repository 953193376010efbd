"""End to end: `auralab demo` driven in headless Chromium (Debian's, no browser download).

The real command serves the page; Playwright uploads the bundled examples in each tab, waits
for the outputs, checks an error reaches the page as a message, checks that the page asked
nothing from outside this machine, and saves a screenshot per tab (to $AURALAB_SCREENSHOTS
when set, else the test's temporary folder).

Skips without Chromium or Playwright, unless AURALAB_REQUIRE_BROWSER=1 (CI sets it).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from auralab.enhance.evaluate import example_dirs
from auralab.eq.generate import example_music_path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google's hosts.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 240_000  # one enhancement with metrics on a busy 2-core machine


def _browser_or_skip():
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("Debian's chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append('playwright (pip install -e ".[dev]")')
    if missing:
        why = "browser test needs " + " and ".join(missing)
        if os.environ.get("AURALAB_REQUIRE_BROWSER") == "1":
            pytest.fail(why + " (AURALAB_REQUIRE_BROWSER=1)")
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    _browser_or_skip()
    port = _free_port()
    log = tmp_path_factory.mktemp("demo") / "server.log"
    cmd = [sys.executable, "-m", "auralab.cli", "demo", "--port", str(port)]
    with open(log, "w") as out:
        server = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"auralab demo did not start:\n{log.read_text()}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The server log must hold no traceback, whatever the page was sent.
    assert "Traceback" not in log.read_text(), log.read_text()


@pytest.fixture(scope="module")
def page(demo_url):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.outside = []  # requests to anything but the demo server
        local = re.compile(rf"^({re.escape(demo_url)}|data:|blob:)")
        page.on("request", lambda r: None if local.match(r.url) else page.outside.append(r.url))
        page.goto(demo_url)
        yield page
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    out = os.environ.get("AURALAB_SCREENSHOTS")
    path = Path(out) if out else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _upload(page, elem_id: str, path: Path) -> None:
    page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))
    page.locator(f"#{elem_id} audio").first.wait_for(state="attached")


def test_enhance_tab_gives_audio_spectrograms_and_metrics_beside_noisy(page, shots):
    from playwright.sync_api import expect

    noisy_dir, clean_dir = example_dirs()
    _upload(page, "enhance-noisy", noisy_dir / "p232_007.wav")
    _upload(page, "enhance-clean", clean_dir / "p232_007.wav")
    page.click("#enhance-run")
    metrics = page.locator("#enhance-metrics table")
    expect(metrics).to_contain_text("PESQ-wb")
    expect(metrics).to_contain_text("noisy (unprocessed)")
    expect(page.locator("#enhance-spectrograms img")).to_be_visible()
    expect(page.locator('#enhance-out a[download="p232_007-enhanced.wav"]')).to_be_attached()
    rows = {r.split("\t")[0]: r.split("\t")[1:] for r in metrics.inner_text().splitlines()}
    noisy_pesq, enhanced_pesq, delta = (float(v) for v in rows["PESQ-wb"])
    assert enhanced_pesq > noisy_pesq and delta == pytest.approx(enhanced_pesq - noisy_pesq, 2e-3)
    page.screenshot(path=str(shots / "demo-enhance.png"), full_page=True)


def test_classify_tab_shows_top5_and_logmel_and_errors_in_page(page, shots):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Classify").click()
    page.click("#classify-run")  # nothing uploaded: the page says so
    expect(page.get_by_text("no audio given")).to_be_visible()
    _upload(page, "classify-audio", example_dirs()[0] / "p232_010.wav")
    page.click("#classify-run")
    expect(page.locator("#classify-figure img")).to_be_visible()
    labels = page.locator("#classify-labels")
    expect(labels.locator(".confidence-set")).to_have_count(5)
    page.screenshot(path=str(shots / "demo-classify.png"), full_page=True)


def test_eq_tab_interpolates_and_equalises_the_bundled_music(page, shots):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="EQ").click()
    towards = page.locator("#eq-towards input")
    towards.fill("bright")
    towards.press("Enter")
    _upload(page, "eq-audio", example_music_path())
    page.click("#eq-run")
    expect(page.locator("#eq-response img")).to_be_visible()
    expect(page.locator('#eq-out a[download="lets_go_fishin_5s-eq.wav"]')).to_be_attached()
    expect(page.locator("#eq-setting")).to_contain_text("band1_freq")
    expect(page.locator("#eq-note")).to_contain_text("loudness matched")
    page.screenshot(path=str(shots / "demo-eq.png"), full_page=True)


def test_page_fetched_nothing_from_outside(page):
    assert page.outside == [], page.outside
