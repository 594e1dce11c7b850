"""The rendered book as a reader's browser sees it (headless Chromium through Playwright).

Runs against ``_build/html`` (``make test`` builds it first), served on 127.0.0.1. For every
page of the table of contents: no console errors, every image loads, display math is
typeset by MathJax, the sidebar lists the chapters in order, notebook pages launch the right
Colab notebook; plus search, the kernel-free explorers, and screenshots at desktop and phone
width in ``_build/screenshots``.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ptb_utils.notebooks import repository_url

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [TOC["root"]] + [c["file"] for part in TOC["parts"] for c in part["chapters"]]
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                       "(apt-get install chromium; make test does this on Debian)"),
]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    if not (HTML / "index.html").is_file():
        pytest.fail("the book is not built: run `make book` first")
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=dict(zip(("width", "height"),
                                                    VIEWPORTS["desktop"], strict=True)))
    page = context.new_page()
    page.errors = []  # console errors and uncaught exceptions, collected per page
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


def open_page(page, site: str, doc: str) -> None:
    page.goto(f"{site}/{doc}.html", wait_until="load")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("doc", PAGES)
def test_page_loads_cleanly_with_images_and_typeset_math(page, site: str, doc: str) -> None:
    open_page(page, site, doc)
    broken = page.eval_on_selector_all(
        "article img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0))"
                       ".map(i => i.src.slice(0, 80))")
    assert broken == [], f"{doc}: images that did not load: {broken}"
    display_math = page.locator("article div.math").count()
    if display_math:
        page.wait_for_function(
            f"document.querySelectorAll('article div.math mjx-container').length >= "
            f"{display_math}", timeout=20_000)
    assert page.errors == [], f"{doc}: console errors {page.errors}"


def test_sidebar_lists_every_chapter_in_order(page, site: str) -> None:
    open_page(page, site, TOC["root"])
    hrefs = page.eval_on_selector_all(
        "nav.bd-docs-nav a.reference.internal", "links => links.map(a => a.href)")
    listed = [h.split("/", 3)[3].removesuffix(".html") for h in hrefs]
    assert [p for p in listed if p in PAGES] == PAGES[1:]


@pytest.mark.parametrize("doc", CHAPTERS)
def test_chapter_links_to_its_neighbours(page, site: str, doc: str) -> None:
    open_page(page, site, doc)
    i = PAGES.index(doc)
    links = page.eval_on_selector_all(".prev-next-area a", "links => links.map(a => a.href)")
    targets = [h.split("/", 3)[3].removesuffix(".html") for h in links]
    assert targets == [PAGES[i - 1], PAGES[i + 1]], f"{doc}: previous/next links {targets}"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_colab_link_points_at_this_notebook(page, site: str, doc: str) -> None:
    open_page(page, site, doc)
    links = page.eval_on_selector_all("a[href*='colab.research.google.com']",
                                      "links => links.map(a => a.href)")
    owner_repo = repository_url().removeprefix("https://github.com/")
    expected = (f"https://colab.research.google.com/github/{owner_repo}/blob/"
                f"{TOC_BRANCH}/{doc}.ipynb")
    assert expected in links, f"{doc}: Colab links {links}"


TOC_BRANCH = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["branch"]


@pytest.mark.skipif(not CHAPTERS, reason="no chapters yet")
def test_search_finds_a_word_from_the_last_chapter(page, site: str) -> None:
    last = CHAPTERS[-1]
    page.goto(f"{site}/search.html?q=perplexity", wait_until="load")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    results = page.eval_on_selector_all("#search-results ul.search li a",
                                        "links => links.map(a => a.href)")
    assert any(last in r for r in results), f"search results: {results}"


def test_explorers_work_without_a_kernel(page, site: str) -> None:
    explorers = 0
    for doc in CHAPTERS:
        open_page(page, site, doc)
        for root in page.locator(".ptb-explorer").all():
            explorers += 1
            slider = root.locator("input[type=range]")
            before = root.locator(".ptb-frame:not([hidden])").inner_html()
            maximum = int(slider.get_attribute("max"))
            target = 0 if int(slider.input_value()) else maximum
            slider.fill(str(target))
            after = root.locator(".ptb-frame:not([hidden])")
            assert after.count() == 1, f"{doc}: one frame must be visible"
            assert after.inner_html() != before, f"{doc}: moving the slider changed nothing"
    assert page.errors == []
    if CHAPTERS and explorers == 0:
        pytest.skip("no explorer in the book yet")


@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_screenshots(browser, site: str, device: str) -> None:
    width, height = VIEWPORTS[device]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for doc in PAGES:
        open_page(page, site, doc)
        shot = SHOTS / f"{Path(doc).name}-{device}.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 5_000
    context.close()
