"""End to end (issue 12, S1): an uploaded scenario can never make the page read a server file.

The upload names a YAML file outside the upload through ``extends:`` (absolute, and
relative with ``../``); the page must refuse it, and nothing of that file — its name,
description or keys — may reach the page.
"""

from __future__ import annotations

import copy

import yaml

from .test_workshop_e2e import browser, page, url  # noqa: F401 - pytest fixtures
from .test_workshop_logic import SMALL

MARK = "zq81"
"""A marker in the server file; it must never appear on the page."""


def server_files(folder) -> dict[str, str]:
    """Two server YAML files: a valid scenario (its name would show) and one with an
    unknown key (an error message would quote it)."""
    valid = copy.deepcopy(SMALL)
    valid["name"] = f"Secret-{MARK} crossing"
    valid["description"] = f"internal-{MARK} staffing"
    keyed = {f"db_password_{MARK}": f"hunter2-{MARK}", **copy.deepcopy(SMALL)}
    out = {}
    for name, data in (("valid", valid), ("keyed", keyed)):
        path = folder / f"secret_{MARK}_{name}.yaml"
        path.write_text(yaml.safe_dump(data))
        out[name] = str(path)
    return out


def upload(tab, name: str, text: str) -> str:
    """Upload ``text`` as file ``name``; the text of the alert the page then shows."""
    tab.locator('input[type="file"]').set_input_files(
        {"name": name, "mimeType": "application/x-yaml", "buffer": text.encode()})
    alert = '[data-testid="stAlert"]'
    tab.wait_for_function(  # an alert, or (before the fix) the server file's scenario shown
        "([sel, mark]) => document.querySelector(sel) || document.body.innerText.includes(mark)",
        arg=[alert, MARK])
    shown = tab.query_selector(alert)
    return shown.inner_text().strip() if shown else ""


def test_an_upload_cannot_extend_a_server_file(page, tmp_path):  # noqa: F811
    files = server_files(tmp_path)
    relative = "../" * 12 + files["valid"].lstrip("/")  # reaches it from any folder
    for target in (files["valid"], files["keyed"], relative):
        text = f"extends: {target}\nreplications: 3\n"
        shown = upload(page, "child.yaml", text)
        body = page.inner_text("body") + page.content()
        assert f"Secret-{MARK}" not in body and f"internal-{MARK}" not in body
        assert f"db_password_{MARK}" not in body and f"hunter2-{MARK}" not in body
        assert shown == ("child.yaml: extends: an uploaded file cannot use 'extends' (it would "
                         "name a file on the server); upload the combined scenario instead")
