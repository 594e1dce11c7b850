"""The PDF of the whole book (``make pdf``): every chapter, with its title and its figures.

Reads ``_build/pdf/book.pdf``, which ``make test`` prints before running the tests.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
import yaml
from headless import needs_chromium

from ptb_utils import notebooks as nbtools

ROOT = Path(__file__).resolve().parents[1]
PDF = ROOT / "_build" / "pdf" / "book.pdf"
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
DOCS = [c["file"] for part in TOC["parts"] for c in part["chapters"]]

# slow: it reads what make test builds first, so make unit leaves it out; and without
# Chromium, make pdf prints nothing
pytestmark = [pytest.mark.slow, needs_chromium]


def title(doc: str) -> str:
    """The first heading of a page of the book, as the reader sees it."""
    path = next(p for p in ROOT.glob(f"{doc}.*") if p.suffix in (".md", ".ipynb"))
    text = path.read_text() if path.suffix == ".md" else nbtools.read(path).cells[0].source
    return re.search(r"^# (.+)$", text, re.M).group(1).strip()


def figures(doc: str) -> int:
    if not (ROOT / f"{doc}.ipynb").is_file():  # a markdown page
        return 0
    cells = nbtools.read(ROOT / f"{doc}.ipynb").cells
    return sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))


@functools.cache
def reader():
    from pypdf import PdfReader

    if not PDF.is_file():
        pytest.fail("the PDF is not built: run `make pdf` first")
    return PdfReader(PDF)


def image_count(resources) -> int:
    """Images drawn through ``resources`` (a page's, or a form's within it), without decoding."""
    objects = resources.get_object().get("/XObject", {}) if resources else {}
    count = 0
    for ref in objects.values():
        xobject = ref.get_object()
        subtype = xobject.get("/Subtype")
        count += 1 if subtype == "/Image" else image_count(xobject.get("/Resources"))
    return count


def squeeze(text: str) -> str:
    return "".join(text.split())


def bookmarks(items: list | None = None) -> dict[str, int]:
    """Every bookmark of the PDF's outline, nested ones included: its title and page index."""
    found = {}
    for item in reader().outline if items is None else items:
        if isinstance(item, list):
            found = bookmarks(item) | found  # the first bookmark of a title wins
        else:
            found.setdefault(squeeze(item.title), reader().get_destination_page_number(item))
    return found


@pytest.mark.parametrize("doc", DOCS)
def test_every_page_of_the_book_is_in_the_pdf_under_its_title(doc: str) -> None:
    page = bookmarks().get(squeeze(title(doc)))
    assert page is not None, f"no bookmark for {title(doc)!r} in {PDF.name}"
    printed = squeeze(reader().pages[page].extract_text())
    assert squeeze(title(doc)) in printed, f"{title(doc)!r} is not printed on page {page + 1}"


def test_chapters_come_in_order_with_room_for_their_figures() -> None:
    pages = [bookmarks()[squeeze(title(doc))] for doc in DOCS]
    assert pages == sorted(pages), "the chapters are out of order"
    expected = sum(figures(doc) for doc in DOCS)
    images = sum(image_count(page.get("/Resources")) for page in reader().pages)
    assert images >= expected, f"{images} images in the PDF, the chapters have {expected}"
    assert len(reader().pages) >= 4 * len(DOCS), f"only {len(reader().pages)} pages"
