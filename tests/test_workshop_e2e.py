"""End to end: ``borderesim workshop`` serves the page; headless chromium drives it.

The server is the real command in a subprocess on a free port of 127.0.0.1; the
browser is Debian's chromium driven by Playwright (no browser download).
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from borderesim.errors import ScenarioError
from borderesim.scenario import load_scenario
from borderesim.workshop import server

from .conftest import SCENARIOS
from .test_workshop_logic import SMALL

if not server.CHROMIUM.exists():
    pytest.skip(f"Debian's chromium is not installed at {server.CHROMIUM} "
                "(.ci/run installs it: apt-get install chromium)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs the test extra")
pytest.importorskip("streamlit", reason="needs the workshop extra")

TIMEOUT = 120_000
"""Milliseconds to wait for the page (a cold start compiles or loads the fast engine)."""
METRIC = '[data-testid="stMetricValue"]'


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    log = tmp_path_factory.mktemp("workshop") / "server.log"
    proc, address = server.start(SCENARIOS / "land_crossing.yaml", log=log)
    try:
        server.wait_healthy(address, timeout=120, proc=proc)
        yield address
    finally:
        server.stop(proc)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text
    assert "email" not in text.lower(), "Streamlit must not prompt for an e-mail address"


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = server.launch_chromium(p)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(url)
    page.wait_for_selector(METRIC)
    settle(page)
    yield page
    context.close()


def settle(page) -> None:
    """Wait until the page has finished its current run."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText"
        ".includes('Running')")
    page.wait_for_timeout(300)


def numbers(page) -> list[str]:
    return [e.inner_text() for e in page.query_selector_all(METRIC)]


def minutes(text: str) -> float:
    return float(re.match(r"([\d.,]+) min", text).group(1).replace(",", ""))


def test_moving_a_slider_changes_the_numbers(page, tmp_path):
    body = page.inner_text("body")
    for words in ("Wait", "Throughput", "Detection", "Innocent travellers referred",
                  "95% interval"):
        assert words in body
    before = numbers(page)
    assert len(before) == 4 and before[0].endswith("min")
    slider = page.get_by_role("slider", name="Officers at secondary (busiest hour)")
    assert slider.input_value() == "4"
    slider.focus()
    for _ in range(2):
        slider.press("ArrowLeft")
    page.wait_for_function(
        "(b) => JSON.stringify([...document.querySelectorAll('[data-testid=\"stMetricValue\"]')]"
        ".map(e => e.innerText)) !== JSON.stringify(b)", arg=before)
    settle(page)
    after = numbers(page)
    assert slider.input_value() == "2"
    assert minutes(after[0]) > minutes(before[0])  # fewer officers: longer waits
    assert after[1:] != before[1:] or after[0] != before[0]

    with page.expect_download() as download:
        page.get_by_role("button", name="Save setting as scenario YAML").click()
    saved = tmp_path / "setting.yaml"
    download.value.save_as(saved)
    assert load_scenario(saved).stages["secondary"].servers == 2

    with page.expect_download() as download:
        page.get_by_role("button", name="PNG snapshot").click()
    png = tmp_path / "snapshot.png"
    download.value.save_as(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_crossing_animation_plays(page):
    page.get_by_role("button", name="Play the crossing").click()
    image = page.wait_for_selector('[data-testid="stImage"] img[src$=".gif"]')
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 300", arg=image)
    caption = page.wait_for_selector('[data-testid="stImageCaption"]')
    assert caption.inner_text().strip() == "day 1 17:00 to day 1 18:00"  # the busiest hour


def test_a_bad_upload_shows_the_cli_message(page, tmp_path):
    bad = copy.deepcopy(SMALL)
    bad["stages"]["secondary"]["service"] = {"distribution": "exponential", "mean": "-3 min"}
    data = yaml.safe_dump(bad).encode()
    (tmp_path / "bad.yaml").write_bytes(data)
    with pytest.raises(ScenarioError) as cli:
        load_scenario(tmp_path / "bad.yaml")
    expected = f"bad.yaml: {cli.value.path}: {cli.value.problem}"
    page.locator('input[type="file"]').set_input_files(
        {"name": "bad.yaml", "mimeType": "application/x-yaml", "buffer": data})
    alert = page.wait_for_selector('[data-testid="stAlert"]')
    assert alert.inner_text().strip() == expected
