"""End to end: ``borderesim workshop scenarios/region/north.yaml`` in headless chromium.

The region page starts at the file's setting; a slider move shows the marker naming the
new setting, new numbers, words on what changed, and downloads of that same setting.
An upload naming a server file is refused, and nothing of that file reaches the page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from borderesim.workshop import server

from .test_workshop_e2e import (  # noqa: F401 - browser is a pytest fixture
    SHOWN,
    TIMEOUT,
    browser,
    click_with_marker,
    download,
    numbers,
    png_setting,
    shown,
    value,
    yaml_setting,
)
from .test_workshop_region import secret_files, secrets_in, upload_region

REGION = Path(__file__).resolve().parent.parent / "scenarios" / "region" / "north.yaml"


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    log = tmp_path_factory.mktemp("workshop_region") / "server.log"
    proc, address = server.start(REGION, log=log)
    try:
        server.wait_healthy(address, timeout=120, proc=proc)
        yield address
    finally:
        server.stop(proc)
    served = log.read_text(errors="replace").split("Stopping...", 1)[0]
    assert "Traceback" not in served, served


@pytest.fixture
def page(browser, url):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT)
    tab.goto(url)
    shown(tab)
    yield tab
    context.close()


def test_a_slider_move_shows_the_new_setting_and_saves_it(page, tmp_path):
    words, first = shown(page, "informed of posted waits 40%;")
    before = numbers(page)
    assert len(before) == 8 and before[0].endswith("min")
    slider = page.get_by_role("slider", name="Travellers informed of posted waits")
    assert value(slider) == "40"
    slider.focus()
    slider.press("ArrowRight")
    words, setting = shown(page, "informed of posted waits 45%;")
    saved = download(page, "Save setting as region YAML", tmp_path / "region.yaml")
    png = download(page, "Map PNG", tmp_path / "map.png")
    assert setting != first and numbers(page) != before
    assert yaml_setting(saved) == setting and png_setting(png) == setting
    data = yaml.safe_load(saved)
    assert data["information"]["informed_share"] == 0.45 and data["replications"] == 3
    page.get_by_text(re.compile(r"^Changed from the previous setting: informed of posted "
                                r"waits 40% → 45%\. Effect: ")).wait_for()


def test_a_download_clicked_while_the_page_recomputes_holds_the_setting_shown(page, tmp_path):
    slider = page.get_by_role("slider", name="Travellers informed of posted waits")
    slider.focus()
    for i, key in enumerate(["ArrowLeft", "ArrowLeft"]):
        slider.press(key)  # and click at once, while the page recomputes
        saved, marker = click_with_marker(page, "Save setting as region YAML",
                                          tmp_path / f"r{i}.yaml")
        words, setting = SHOWN.match(marker.strip()).groups()
        share = float(re.search(r"informed of posted waits (\d+)%;", words).group(1)) / 100
        assert yaml_setting(saved) == setting
        assert yaml.safe_load(saved)["information"].get("informed_share", 0.4) == share
    words, setting = shown(page, "informed of posted waits 30%;")
    final = download(page, "Save setting as region YAML", tmp_path / "final.yaml")
    assert yaml_setting(final) == setting
    assert yaml.safe_load(final)["information"]["informed_share"] == 0.3


def test_an_upload_cannot_reach_a_server_file(page, tmp_path):
    secret = secret_files(tmp_path)[0]
    upload = page.locator('input[type="file"]')
    upload.set_input_files({"name": "mine.yaml", "mimeType": "application/x-yaml",
                            "buffer": upload_region(str(secret))})
    alert = page.wait_for_selector('[data-testid="stAlert"]')
    assert alert.inner_text().strip().startswith(
        "mine.yaml: crossings.north.scenario: ")
    assert not secrets_in(page.inner_text("body") + page.content())
    upload.set_input_files({"name": "mine.yaml", "mimeType": "application/x-yaml",
                            "buffer": upload_region("../land_crossing.yaml")})
    page.get_by_text("Uploaded region", exact=True).wait_for()
    words, _ = shown(page, "informed of posted waits 50%;")
    assert "north: officers at primary (busiest hour) 11;" in words
    assert not secrets_in(page.inner_text("body") + page.content())
