"""Numbers from a run, pasted into the chapter's prose, so that the text cannot drift.

A chapter stores a measured value with ``glue("ch01_ar_rmse", value)`` and its markdown
pastes it with ``{glue:text}`ch01_ar_rmse:.1f```; the rendered book shows the number of the
run whose outputs are committed. The stored output is the one the book's builder (myst-nb)
reads: a hidden ``application/papermill.record/text/plain`` output named in the
``scrapbook`` metadata. It is written here rather than with ``myst_nb.glue`` so that a
chapter needs no book-building tools to run (in Colab, for instance), and so that the
value is checked: a plain number or string, under a name that says its chapter.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

#: Prefix of the hidden output's type: the reader shows nothing, the book finds the value.
RECORD_PREFIX = "application/papermill.record/"
NAME = re.compile(r"ch\d{2}_[a-z0-9_]+")


def glue_output(name: str, value: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """The ``(data, metadata)`` of the hidden output that stores ``value`` under ``name``.

    ``value`` is a Python or NumPy number, or a string (stored by its ``repr``, which the
    book reads back exactly). Raises ``ValueError`` for a name that is not ``chNN_lower_case``
    or a value of another type (an array, a bool).
    """
    if not NAME.fullmatch(name):
        raise ValueError(
            f"glue name {name!r} must look like 'ch01_ar_rmse': 'ch', the "
            f"chapter's two digits, '_', lower-case letters, digits and '_'"
        )
    if isinstance(value, np.generic):
        value = value.item()  # NumPy 2 prints np.float64(...), which the book cannot format
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(
            f"glue {name!r}: expected a number or a string, got {type(value).__name__}"
        )
    data = {RECORD_PREFIX + "text/plain": repr(value)}
    return data, {"scrapbook": {"name": name, "mime_prefix": RECORD_PREFIX}}


def glue(name: str, value: Any) -> None:
    """Store ``value`` for the prose as ``{glue:text}`name:format```; show nothing."""
    from IPython.display import display

    data, metadata = glue_output(name, value)
    display(data, raw=True, metadata=metadata)
