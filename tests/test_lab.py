"""The JupyterLab route: chapter 7 opened in JupyterLab 4, as ``make lab`` serves it.

JupyterLab runs headless on 127.0.0.1 with a token chosen here, its settings, workspaces and
runtime files in a temporary folder, and serves a copy of chapter 7 (so nothing it saves
touches the repository). Chromium opens the notebook and finds its saved outputs and its
explorer drawn from the saved widget state before any cell runs; then one new cell runs in
the kernel and its output appears.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from headless import launch, needs_chromium

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "notebooks" / "07_ptb_language_model.ipynb"
SHOTS = ROOT / "_build" / "screenshots"
SETTINGS = {
    # draw every cell at once, so that the explorer far down the page exists in the DOM
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # no news or update checks: the test machine has no network
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}

pytestmark = [pytest.mark.slow, needs_chromium]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    root.mkdir()
    shutil.copy2(CHAPTER, root / CHAPTER.name)
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "PTB_OFFLINE": "1",
    }
    # as `make lab` does: JupyterLab draws widgets only in notebooks the reader trusts
    subprocess.run(
        [Path(sys.executable).with_name("jupyter-trust"), root / CHAPTER.name],
        env=env,
        check=True,
        capture_output=True,
    )
    for name, values in SETTINGS.items():
        package, plugin = name.rsplit("/", 1)
        path = base / "settings" / package / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    token, port = secrets.token_hex(16), free_port()
    log = (base / "lab.log").open("w")
    server = subprocess.Popen(
        [
            Path(sys.executable).with_name("jupyter-lab"),
            "--no-browser",
            "--ip=127.0.0.1",
            "--allow-root",  # CI runs as root
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--notebook-dir={root}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{(base / 'lab.log').read_text()}")
                time.sleep(0.5)
        yield f"{url}/lab/tree/{CHAPTER.name}?token={token}"
    finally:
        server.terminate()  # the server shuts its kernel down first
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def notebook(lab: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(lab)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        yield page
        browser.close()


def test_saved_outputs_and_the_widget_view_render_before_any_cell_runs(notebook) -> None:
    saved = json.loads(CHAPTER.read_text())["cells"]
    notebook.wait_for_function(
        f"document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length === {len(saved)}",
        timeout=60_000,
    )
    images = notebook.locator(".jp-OutputArea-output img")
    images.first.wait_for(timeout=30_000)
    assert (
        images.count()
        >= sum("image/png" in o.get("data", {}) for c in saved for o in c.get("outputs", []))
        > 0
    )
    # drawn from the state saved in the notebook: the kernel knows nothing of these widgets
    explorer = notebook.locator(".jupyter-widgets-disconnected .widget-slider").first
    explorer.wait_for(state="attached", timeout=30_000)
    explorer.scroll_into_view_if_needed()
    assert explorer.is_visible(), "the explorer's saved widget view is not drawn"
    counts = notebook.locator(".jp-InputArea-prompt").all_inner_texts()
    assert not any("*" in c for c in counts), "a cell is running though none was asked to"
    SHOTS.mkdir(parents=True, exist_ok=True)
    explorer.locator("xpath=ancestor::div[contains(@class, 'jp-Cell')][1]").screenshot(
        path=str(SHOTS / "jupyterlab-chapter-7-explorer.png")
    )


def test_a_new_cell_runs_in_the_kernel(notebook) -> None:
    notebook.locator(".jp-NotebookPanel .jp-Cell").last.click()
    notebook.keyboard.press("Escape")
    notebook.keyboard.press("b")  # a new code cell below, in command mode
    notebook.keyboard.press("Enter")
    notebook.keyboard.type("import ptb_utils; print('ptb_utils', ptb_utils.__version__, 6 * 7)")
    notebook.keyboard.press("Shift+Enter")
    from ptb_utils import __version__

    notebook.get_by_text(f"ptb_utils {__version__} 42").wait_for(timeout=120_000)
