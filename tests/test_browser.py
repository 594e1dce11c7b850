"""The rendered book as a reader's browser sees it (headless Chromium through Playwright).

Runs against ``_build/html`` (``make test`` builds it first), served on 127.0.0.1. For every
page of the table of contents: no console errors, every image loads and says in words what it
shows, display math is typeset by MathJax, the page stays within its weight budget, the
sidebar lists the chapters in order, notebook pages launch the right Colab notebook. Plus:
the chapter list opens on a phone and a tablet and collapses on a desktop, one search box at
every width, search itself, solutions hidden until asked for, the kernel-free explorers, and
screenshots at phone, tablet and desktop width in ``_build/screenshots``.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from headless import launch, needs_chromium

from ptb_utils import notebooks as nbtools
from ptb_utils.notebooks import repository_url

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [TOC["root"]] + [c["file"] for part in TOC["parts"] for c in part["chapters"]]
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]
VIEWPORTS = {"desktop": (1280, 900), "tablet": (768, 1024), "phone": (390, 844)}
#: Budgets of what a first visit to a page transfers (uncompressed; a server that compresses
#: sends about a third). The page's own files: at most 600 kB of HTML (text, code, the inline
#: frames of its explorers) and its figures, 6 to 8 at 2x density for the heaviest chapter;
#: 1.5 MB is about 8 s on a slow 3G phone link. The files every page shares and the browser
#: then caches: MathJax (1.2 MB), the theme's style sheets and scripts (0.5 MB) and its icon
#: fonts (0.4 MB), measured at 2.2 MB; the budget leaves room for one small addition, not for
#: another script the size of the theme's 1.5 MB icon script.
HTML_BUDGET = 600_000
OWN_BUDGET = 1_500_000
SHARED_BUDGET = 2_400_000

pytestmark = [pytest.mark.slow, needs_chromium]


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
        browser = launch(p)
        yield browser
        browser.close()


def new_page(browser, device: str = "desktop"):
    width, height = VIEWPORTS[device]
    return browser.new_context(viewport={"width": width, "height": height}).new_page()


@pytest.fixture
def page(browser):
    page = new_page(browser)
    context = page.context
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
        "article img",
        "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.src.slice(0, 80))",
    )
    assert broken == [], f"{doc}: images that did not load: {broken}"
    display_math = page.locator("article div.math").count()
    if display_math:
        page.wait_for_function(
            f"document.querySelectorAll('article div.math mjx-container').length >= {display_math}",
            timeout=20_000,
        )
    assert page.errors == [], f"{doc}: console errors {page.errors}"


def test_sidebar_lists_every_chapter_in_order(page, site: str) -> None:
    open_page(page, site, TOC["root"])
    hrefs = page.eval_on_selector_all(
        "nav.bd-docs-nav a.reference.internal", "links => links.map(a => a.href)"
    )
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
    links = page.eval_on_selector_all(
        "a[href*='colab.research.google.com']", "links => links.map(a => a.href)"
    )
    owner_repo = repository_url().removeprefix("https://github.com/")
    expected = (
        f"https://colab.research.google.com/github/{owner_repo}/blob/{TOC_BRANCH}/{doc}.ipynb"
    )
    assert expected in links, f"{doc}: Colab links {links}"


TOC_BRANCH = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["branch"]


@pytest.mark.skipif(not CHAPTERS, reason="no chapters yet")
def test_search_finds_a_word_from_the_last_chapter(page, site: str) -> None:
    last = CHAPTERS[-1]
    page.goto(f"{site}/search.html?q=perplexity", wait_until="load")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    results = page.eval_on_selector_all(
        "#search-results ul.search li a", "links => links.map(a => a.href)"
    )
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
    page = new_page(browser, device)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for doc in PAGES:
        open_page(page, site, doc)
        shot = SHOTS / f"{Path(doc).name}-{device}.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 5_000
        figure = page.locator("article figure").first
        if figure.count():  # the first figure as a reader at this width sees it
            figure.screenshot(path=str(SHOTS / f"{Path(doc).name}-figure-{device}.png"))
    page.context.close()


# --- navigation at every width -----------------------------------------------------------

SIDEBAR = ".bd-sidebar-primary"


def sidebar_shown(page) -> bool:
    """Whether the chapter list lies on screen (the drawer slides it in from the left)."""
    box = page.locator(SIDEBAR).bounding_box()
    return box is not None and box["width"] > 100 and box["x"] + box["width"] > 100


@pytest.mark.parametrize("device", ["phone", "tablet"])
def test_chapter_list_opens_as_a_drawer_and_leads_to_a_chapter(
    browser, site: str, device: str
) -> None:
    page = new_page(browser, device)
    open_page(page, site, TOC["root"])
    assert not sidebar_shown(page), f"{device}: the chapter list covers the page at first"
    page.locator(".primary-toggle").filter(visible=True).click()
    page.wait_for_function(f"document.querySelector('{SIDEBAR}').getBoundingClientRect().x >= 0")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"drawer-open-{device}.png"))
    target = CHAPTERS[2]
    page.locator(f"{SIDEBAR} a[href$='{Path(target).name}.html']").click()
    page.wait_for_url(f"**/{target}.html")
    title = page.locator("article h1").first.inner_text()
    assert title.startswith("3."), f"{device}: landed on {title!r}"
    assert not sidebar_shown(page), f"{device}: the drawer stays open over the chapter"
    page.context.close()


def test_sidebar_collapses_and_comes_back_on_a_desktop(page, site: str) -> None:
    open_page(page, site, CHAPTERS[0])
    assert sidebar_shown(page)
    width = page.locator("article").bounding_box()["width"]
    toggle = page.locator(".primary-toggle").filter(visible=True)
    toggle.click()
    page.wait_for_function(
        f"document.querySelector('{SIDEBAR}').getBoundingClientRect().right <= 0"
    )
    assert page.locator("article").bounding_box()["width"] > width, "the text did not widen"
    toggle.click()
    page.wait_for_function(f"document.querySelector('{SIDEBAR}').getBoundingClientRect().x >= 0")


@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_one_search_box_at_every_width(browser, site: str, device: str) -> None:
    page = new_page(browser, device)
    open_page(page, site, CHAPTERS[0])
    boxes = page.locator(".search-button__button, .search-button-field, form.bd-search")
    assert boxes.filter(visible=True).count() == 1, f"{device}: search controls shown"
    page.context.close()


# --- solutions -----------------------------------------------------------------------------

SOLUTION_TAG = "solution"


def chapters_with_exercises() -> list[str]:
    def markdown(doc: str) -> str:
        cells = nbtools.read(ROOT / f"{doc}.ipynb").cells
        return "\n".join(c.source for c in cells if c.cell_type == "markdown")

    return [doc for doc in CHAPTERS if "## Exercises" in markdown(doc)]


@pytest.mark.parametrize("doc", chapters_with_exercises())
def test_solutions_stay_hidden_until_asked_for(page, site: str, doc: str) -> None:
    open_page(page, site, doc)
    section = page.locator("section#exercises")
    cells = section.locator("div.cell")
    solutions = section.locator(f"div.cell.tag_{SOLUTION_TAG}")
    assert solutions.count() > 0, f"{doc}: exercises without a solution cell tagged solution"
    assert cells.count() == solutions.count(), (
        f"{doc}: {cells.count() - solutions.count()} code cells under Exercises are not "
        f"solutions tagged '{SOLUTION_TAG}' (and hide-cell)"
    )
    assert not section.get_by_text("Solution.", exact=True).count(), (
        f"{doc}: a 'Solution.' paragraph shows under Exercises; the solution and its "
        f"explanation belong inside the hidden cell"
    )
    for i in range(solutions.count()):
        cell = solutions.nth(i)
        shown = cell.locator(".cell_input, .cell_output").filter(visible=True).count()
        assert shown == 0, f"{doc}: solution {i + 1} shows its code or output before the click"
        control = cell.locator("summary")
        assert control.inner_text().strip().startswith("Show solution"), (
            f"{doc}: solution {i + 1} is behind {control.inner_text()!r}, not 'Show solution'"
        )
        control.click()
        assert cell.locator(".cell_output").filter(visible=True).count() > 0, (
            f"{doc}: solution {i + 1} shows no output after the click"
        )


# --- figures and weight --------------------------------------------------------------------


@pytest.mark.parametrize("doc", PAGES)
def test_every_image_says_what_it_shows(page, site: str, doc: str) -> None:
    open_page(page, site, doc)
    images = page.eval_on_selector_all(
        "article img", "imgs => imgs.map(i => [i.getAttribute('alt') || '', i.src.slice(0, 60)])"
    )
    for alt, src in images:
        words = alt.strip()
        assert len(words) >= 10, f"{doc}: image {src} has alt text {alt!r}"
        assert not words.lower().endswith((".png", ".jpg", ".svg", ".webp", ".gif")), (
            f"{doc}: image {src} has its file name as alt text"
        )
        assert words != "precomputed view", f"{doc}: explorer frame without a description"


@pytest.mark.parametrize("doc", PAGES)
def test_page_weight_stays_within_budget(page, site: str, doc: str) -> None:
    responses = []
    page.on("requestfinished", lambda request: responses.append(request))
    open_page(page, site, doc)
    page.wait_for_timeout(300)  # fonts requested late by MathJax
    sizes = {
        r.url.split("?")[0].removeprefix(site): r.sizes()["responseBodySize"] for r in responses
    }
    html = sizes[f"/{doc}.html"]
    shared = sum(n for url, n in sizes.items() if url.startswith("/_static/"))
    own = sum(sizes.values()) - shared
    heaviest = sorted(sizes.items(), key=lambda kv: -kv[1])[:4]
    print(
        f"{doc}: HTML {html / 1e3:.0f} kB, own files {own / 1e6:.2f} MB, "
        f"shared {shared / 1e6:.2f} MB"
    )
    assert html <= HTML_BUDGET, f"{doc}: {html / 1e3:.0f} kB of HTML (budget {HTML_BUDGET})"
    assert own <= OWN_BUDGET, f"{doc}: {own / 1e6:.2f} MB of its own files; {heaviest}"
    assert shared <= SHARED_BUDGET, f"{doc}: {shared / 1e6:.2f} MB of shared files; {heaviest}"
    assert not any("fontawesome" in url and url.endswith(".js") for url in sizes), (
        "the 1.5 MB icon script is loaded again"
    )
