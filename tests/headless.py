"""Headless Chromium for the browser tests, started as ``make pdf`` starts it.

``book/print_pdf.py`` (on the tests' import path, see ``pyproject.toml``) knows where Chromium
is and how to start it on a machine without a display or network; the tests that need it are
skipped, saying why, where it is not installed.
"""

from __future__ import annotations

import pytest
from print_pdf import chromium_path, launch

__all__ = ["CHROMIUM", "launch", "needs_chromium"]

CHROMIUM = chromium_path()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install chromium; make test does this on Debian)",
)
