"""Two fixes to the HTML pages, so that they work offline and log no errors.

1. MathJax is served from the book itself, so equations render with no network. The
   MathJax 3 files come from the PyPI package ``django-static-mathjax`` (the Python package
   ``mathjax``, plain static files despite its name). Only the TeX-to-HTML bundle and its
   web fonts are copied into ``_static/mathjax``; ``mathjax_path`` points there.
2. Inline scripts that the Jupyter Book 1 extensions register twice (each time the
   environment is read) are dropped the second time: a repeated ``const`` declaration is a
   JavaScript error in the reader's console.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx

BUNDLE = "tex-chtml.js"
FONTS = Path("output/chtml/fonts/woff-v2")


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


def _drop_repeated_scripts(app: Sphinx, pagename: str, templatename: str,
                           context: dict, doctree: object) -> None:
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        # the same script may be registered with filename None and ""
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, bool]:
    app.config.mathjax_path = f"mathjax/{BUNDLE}"
    app.connect("build-finished", _copy)
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
