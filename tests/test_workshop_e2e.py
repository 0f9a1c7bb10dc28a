"""End to end: ``borderesim workshop`` serves the page; headless chromium drives it.

The server is the real command in a subprocess on a free port of 127.0.0.1; the
browser is Debian's chromium driven by Playwright (no browser download).
"""

from __future__ import annotations

import copy
import io
import re

import pytest
import yaml

from borderesim.errors import ScenarioError
from borderesim.model.scenario import load_scenario
from borderesim.workshop import logic, server

from .conftest import SCENARIOS
from .test_workshop_logic import SMALL

if not server.CHROMIUM.exists():
    pytest.skip(f"Debian's chromium is not installed at {server.CHROMIUM} "
                "(.ci/run installs it: apt-get install chromium)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs the test extra")
pytest.importorskip("streamlit", reason="needs the workshop extra")
Image = pytest.importorskip("PIL.Image", reason="matplotlib's Pillow reads the PNG")

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
    # what the page did while the tests drove it; after "Stopping..." Streamlit's own
    # web server may log a websocket it is closing under a browser that is still open
    # (WebSocketDisconnected), which is the library's shutdown, not the page's doing
    served = text.split("Stopping...", 1)[0]
    assert "Traceback" not in served, text
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
    shown(page)
    yield page
    context.close()


SHOWN = re.compile(re.escape(logic.MARKER) + r" (.*) \(setting ([0-9a-f]{10})\)$")


def shown(page, words: str = "") -> tuple[str, str]:
    """Wait until the page says it shows a setting (whose words contain ``words``).

    The page writes this marker after everything it computed for a setting, downloads
    included, so once it is there the numbers, charts and download buttons are that
    setting's. Returns the setting in words and its id.
    """
    pattern = re.compile(re.escape(logic.MARKER) + ".*" + re.escape(words))
    text = page.get_by_text(pattern).inner_text().strip()
    found = SHOWN.match(text)
    assert found, text
    return found.group(1), found.group(2)


def numbers(page) -> list[str]:
    return [e.inner_text() for e in page.query_selector_all(METRIC)]


def minutes(text: str) -> float:
    return float(re.match(r"([\d.,]+) min", text).group(1).replace(",", ""))


def value(slider) -> str:
    """A slider's value as assistive technology reads it (a range input, or ARIA's valuenow)."""
    return slider.evaluate("e => e.getAttribute('aria-valuenow') ?? e.value")


def download(page, button: str, path) -> bytes:
    """Click the download ``button`` at once and return the file it gives (saved at ``path``)."""
    with page.expect_download() as started:
        page.get_by_role("button", name=button).click()
    started.value.save_as(path)
    return path.read_bytes()


def yaml_setting(data: bytes) -> str:
    """The setting id written into a saved scenario's first line."""
    found = re.match(r"# Saved from the borderesim workshop \(setting ([0-9a-f]{10})\)\n",
                     data.decode())
    assert found, data[:200]
    return found.group(1)


def png_setting(data: bytes) -> str:
    """The setting id stored in a PNG snapshot's Description text chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data)).text["Description"].rsplit(" ", 1)[-1]


def test_moving_a_slider_changes_the_numbers_and_the_downloads(page, tmp_path):
    body = page.inner_text("body")
    for words in ("(worst stage)", "the standard — ", "95 % of travellers wait at most",
                  "Throughput", "Detection", "Innocent travellers referred", "95% interval"):
        assert words in body
    words, first = shown(page, "secondary 4")
    before = numbers(page)
    assert len(before) == 4 and before[0].endswith("min")
    slider = page.get_by_role("slider", name="Officers at secondary (busiest hour)")
    assert value(slider) == "4"
    slider.focus()
    for _ in range(2):
        slider.press("ArrowLeft")
    words, setting = shown(page, "secondary 2")
    # No pause: the marker guarantees the buttons on the page are this setting's.
    saved = download(page, "Save setting as scenario YAML", tmp_path / "setting.yaml")
    png = download(page, "PNG snapshot", tmp_path / "snapshot.png")
    after = numbers(page)
    assert setting != first and value(slider) == "2"
    assert minutes(after[0]) > minutes(before[0])  # fewer officers: longer waits
    assert yaml_setting(saved) == setting and png_setting(png) == setting
    assert load_scenario(tmp_path / "setting.yaml").stages["secondary"].servers == 2
    assert "officers at the busiest hour: primary 11, secondary 2;" in words


CLICK_WITH_MARKER = """([label, marker]) => {
    const button = [...document.querySelectorAll('button')]
        .find(b => b.innerText.trim() === label);
    const shown = [...document.querySelectorAll('p')]
        .find(p => p.innerText.startsWith(marker));
    if (!button || !shown) return null;
    button.click();
    return shown.innerText;
}"""
"""In one browser task (nothing can redraw in between): read the marker and click."""


def click_with_marker(page, button: str, path) -> tuple[bytes, str]:
    """Click ``button`` as soon as it is on the page; the file and the marker seen then."""
    with page.expect_download() as started:
        marker = page.wait_for_function(CLICK_WITH_MARKER, arg=[button, logic.MARKER],
                                        polling=20).json_value()
    started.value.save_as(path)
    return path.read_bytes(), marker


def test_a_download_clicked_while_the_page_recomputes_holds_the_setting_shown(page, tmp_path):
    slider = page.get_by_role("slider", name="Officers at secondary (busiest hour)")
    slider.focus()
    for i, key in enumerate(["ArrowRight", "ArrowRight", "ArrowLeft"]):
        slider.press(key)  # and click at once, while the page recomputes
        saved, marker = click_with_marker(page, "Save setting as scenario YAML",
                                          tmp_path / f"s{i}.yaml")
        words, setting = SHOWN.match(marker.strip()).groups()
        officers = int(re.search(r"secondary (\d+);", words).group(1))
        assert yaml_setting(saved) == setting
        assert load_scenario(tmp_path / f"s{i}.yaml").stages["secondary"].servers == officers
        png, marker = click_with_marker(page, "PNG snapshot", tmp_path / f"s{i}.png")
        assert png_setting(png) == SHOWN.match(marker.strip()).group(2)
    words, setting = shown(page, "secondary 5;")
    final = download(page, "Save setting as scenario YAML", tmp_path / "final.yaml")
    assert yaml_setting(final) == setting
    assert load_scenario(tmp_path / "final.yaml").stages["secondary"].servers == 5


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


OUTSIDE = "http://example.invalid"
DESCRIPTION = (f"See ![x]({OUTSIDE}/a.png), [a link]({OUTSIDE}/b) and "
               f'<img src="{OUTSIDE}/c.png"> with $x^2$, :red[colour] and **bold** # text')


def test_markdown_in_a_scenario_is_shown_as_text_and_fetches_nothing(page, url):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    data = copy.deepcopy(SMALL)
    data["name"] = "Crossing *one*"
    data["description"] = DESCRIPTION
    page.locator('input[type="file"]').set_input_files(
        {"name": "markdown.yaml", "mimeType": "application/x-yaml",
         "buffer": yaml.safe_dump(data).encode()})
    page.get_by_text(DESCRIPTION, exact=True).wait_for()  # the literal text, not Markdown
    page.get_by_text("Crossing *one*", exact=True).wait_for()
    shown(page)
    assert page.locator(f'[src^="{OUTSIDE}"], [href^="{OUTSIDE}"]').count() == 0
    elsewhere = [u for u in requested if not u.startswith((url, "data:", "blob:"))]
    assert requested and not elsewhere
