"""Fixes to the HTML pages, so that they work offline, log no errors, stay light and accessible.

1. MathJax is served from the book itself, so equations render with no network. The
   MathJax 3 files come from the PyPI package ``django-static-mathjax`` (the Python package
   ``mathjax``, plain static files despite its name). Only the TeX-to-HTML bundle and its
   web fonts are copied into ``_static/mathjax``; ``mathjax_path`` points there.
2. Inline scripts that the Jupyter Book 1 extensions register twice (each time the
   environment is read) are dropped the second time: a repeated ``const`` declaration is a
   JavaScript error in the reader's console. The saved widget state that myst-nb copies into
   a notebook's page is dropped too: the book shows each explorer's kernel-free view and
   loads no widget code, so the state (hundreds of kB) would be dead weight.
3. A figure whose image has no alt text of its own (``mystnb.image.alt``) gets its caption's
   text as alt text, instead of the file name that Sphinx would write.
4. The icons are drawn by the theme's Font Awesome style sheet and web fonts alone: the
   theme's 1.5 MB script that redraws the same icons as SVG is not loaded (nor copied).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

BUNDLE = "tex-chtml.js"
FONTS = Path("output/chtml/fonts/woff-v2")
ICON_SCRIPT = re.compile(
    r'<script src="[^"]*/vendor/fontawesome/[^"/]+/js/all\.min\.js[^"]*">'
    r"</script>\s*"
)


def _mathjax_es5() -> Path:
    import mathjax

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def _copy(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source, target = _mathjax_es5(), Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / BUNDLE, target / BUNDLE)
    shutil.copytree(source / FONTS, target / FONTS, dirs_exist_ok=True)


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _tidy_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object
) -> None:
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        if attributes.get("type") == WIDGET_STATE:
            continue
        # the same script may be registered with filename None and ""
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


class CaptionAsAlt(SphinxPostTransform):
    """Give each figure's image without alt text the text of the figure's caption."""

    default_priority = 400

    def run(self, **kwargs: object) -> None:
        for figure in self.document.findall(nodes.figure):
            caption = next(iter(figure.findall(nodes.caption)), None)
            if caption is None:
                continue
            for image in figure.findall(nodes.image):
                if not image.get("alt"):
                    image["alt"] = " ".join(caption.astext().split())


def _drop_icon_script(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if ICON_SCRIPT.search(text):
            page.write_text(ICON_SCRIPT.sub("", text), encoding="utf-8")
    for script_dir in (outdir / "_static" / "vendor" / "fontawesome").glob("*/js"):
        shutil.rmtree(script_dir)


def setup(app: Sphinx) -> dict[str, bool]:
    app.config.mathjax_path = f"mathjax/{BUNDLE}"
    app.add_post_transform(CaptionAsAlt)
    app.connect("build-finished", _copy)
    app.connect("build-finished", _drop_icon_script)
    app.connect("html-page-context", _tidy_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
