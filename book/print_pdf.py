"""Print the single-page HTML build of the book to one PDF with headless Chromium.

``make pdf`` builds ``_build/singlehtml`` (every page of the table of contents in one HTML
page) and then runs::

    python book/print_pdf.py _build/singlehtml/index.html _build/pdf/book.pdf

The page is served on 127.0.0.1 (nothing leaves the machine), equations are typeset by the
book's own MathJax before printing, and every folded block is opened, since paper has no
"Show solution" button: the PDF holds the solutions and the folded code too. Chromium comes
from Debian's ``chromium`` package (``make browser``).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import sys
import threading
from pathlib import Path

#: Flags for Chromium on a machine without a display or network (the tests launch it here too).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FOOTER = (
    '<div style="font-size: 8px; width: 100%; text-align: center;">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


def chromium_path() -> str | None:
    """Path of the Chromium executable (Debian's package), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright):
    """Start headless Chromium through Playwright; a clear error when it is not installed."""
    path = chromium_path()
    if path is None:
        raise SystemExit(
            "error: Chromium is not installed; run `make browser` (apt-get install chromium) first"
        )
    return playwright.chromium.launch(executable_path=path, args=FLAGS)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the build folder, and the book's page at ``/book.html``.

    A single-page build links its files as seen from the build's root folder, wherever the
    page itself lies (``book/intro.html`` here), so the page is served from the root.
    """

    page = ""

    def translate_path(self, path: str) -> str:
        return super().translate_path(self.page if path.split("?")[0] == "/book.html" else path)

    def log_message(self, *args: object) -> None:
        pass


def book_page(index: Path) -> str:
    """The page that ``index`` stands for: a singlehtml build's index.html only redirects."""
    if not index.is_file():
        raise SystemExit(
            f"error: {index} does not exist; build it first "
            f"(jupyter-book build . --builder singlehtml)"
        )
    text = index.read_text()
    if 'http-equiv="Refresh"' in text:
        return text.split("url=", 1)[1].split('"', 1)[0]
    return index.name


def print_pdf(index: Path, out: Path) -> int:
    """Print ``index`` (the HTML page of a built book) to ``out``; returns the page count."""
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader

    target = book_page(index)
    handler = functools.partial(
        type("Handler", (_Handler,), {"page": f"/{target}"}), directory=str(index.parent)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page()
            url = f"http://127.0.0.1:{server.server_address[1]}/book.html"
            page.goto(url, wait_until="networkidle")
            page.wait_for_function("() => window.MathJax && MathJax.startup", timeout=60_000)
            page.evaluate("() => MathJax.startup.promise")
            page.evaluate(
                "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"
            )
            page.wait_for_load_state("networkidle")
            page.pdf(
                path=str(out),
                format="A4",
                print_background=True,
                margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
                display_header_footer=True,
                header_template="<div></div>",
                footer_template=FOOTER,
                outline=True,
                tagged=True,
            )
            browser.close()
    finally:
        server.shutdown()
    return len(PdfReader(out).pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "index", type=Path, help="the single-page build, e.g. _build/singlehtml/index.html"
    )
    parser.add_argument("out", type=Path, help="the PDF to write")
    args = parser.parse_args(argv)
    pages = print_pdf(args.index, args.out)
    print(f"{args.out}: {pages} pages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
