"""Explorers that are live ipywidgets in Jupyter and Colab and still work in the static book.

A live widget needs a kernel; the rendered book has none. :func:`explorer` therefore
returns one output carrying two views of the same control:

* ``application/vnd.jupyter.widget-view+json``: the live controls and drawing, which
  Jupyter and Colab display and which redraw on every change;
* ``text/html``: the same drawing precomputed for a handful of values of one control, behind
  an HTML range slider and a few lines of inline JavaScript. The book (configured to prefer
  ``text/html``) shows this one; it needs no kernel and no network.

Executing the cell never waits for input, so papermill and nbval just record both views.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

Render = Callable[..., "Figure | str"]
_ids = itertools.count()


def frame_html(content: Figure | str) -> str:
    """One precomputed view as HTML: a figure as an inline PNG, text as preformatted text."""
    if isinstance(content, Figure):
        buffer = io.BytesIO()
        content.savefig(buffer, format="png", dpi=content.dpi, bbox_inches="tight")
        plt.close(content)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        return f'<img alt="precomputed view" src="data:image/png;base64,{data}">'
    return f'<pre style="white-space: pre-wrap">{html.escape(content)}</pre>'


def static_slider(label: str, values: Sequence[Any], frames: Sequence[str], start: int) -> str:
    """HTML that shows ``frames[i]`` for the slider position ``i``; plain inline JavaScript."""
    if len(values) != len(frames) or not frames:
        raise ValueError("static_slider needs one frame per value, and at least one")
    uid = f"ptb-explorer-{next(_ids)}"
    names = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
    names_js = json.dumps(names).replace("</", "<\\/")  # "</script>" must not end the script
    panes = "".join(
        f'<div class="ptb-frame" data-index="{i}"{"" if i == start else " hidden"}>{f}</div>'
        for i, f in enumerate(frames)
    )
    return (
        f'<div class="ptb-explorer" id="{uid}">'
        f'<label>{html.escape(label)} <input type="range" min="0" max="{len(frames) - 1}" '
        f'step="1" value="{start}" aria-label="{html.escape(label)}"> '
        f'<output>{html.escape(names[start])}</output></label>'
        f"{panes}"
        f"<script>(function() {{"
        f"const root = document.getElementById('{uid}');"
        f"const names = {names_js};"
        f"const slider = root.querySelector('input'), shown = root.querySelector('output');"
        f"slider.addEventListener('input', function() {{"
        f"  root.querySelectorAll('.ptb-frame').forEach(function(f) {{"
        f"    f.hidden = f.dataset.index !== slider.value; }});"
        f"  shown.textContent = names[Number(slider.value)]; }});"
        f"}})();</script></div>"
    )


class Explorer:
    """A live widget plus its static fallback, displayed as one output."""

    def __init__(self, widget: ipywidgets.Widget, static_html: str) -> None:
        self.widget = widget
        self.static_html = static_html

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/html"] = self.static_html
        return bundle


def explorer(render: Render, sweep: str, values: Sequence[Any],
             **controls: ipywidgets.ValueWidget) -> Explorer:
    """Build the explorer of ``render(**values_of_controls)``, which returns a figure or text.

    ``controls`` maps each argument of ``render`` to the widget that sets it (their
    ``value`` is the default view). The static page sweeps the control ``sweep`` over
    ``values``, the other controls staying at their defaults.
    """
    if sweep not in controls:
        raise ValueError(f"sweep={sweep!r} must name one of the controls {sorted(controls)}")
    defaults = {name: w.value for name, w in controls.items()}
    frames = [frame_html(render(**{**defaults, sweep: v})) for v in values]
    start = min(range(len(values)), key=lambda i: _distance(values[i], defaults[sweep]))
    label = controls[sweep].description or sweep
    return Explorer(live_widget(render, controls), static_slider(label, values, frames, start))


def live_widget(render: Render, controls: dict[str, ipywidgets.ValueWidget]) -> ipywidgets.VBox:
    """The controls above an output area that ``render`` redraws whenever a control changes.

    The drawing is placed in the output area with ``append_display_data`` rather than by
    capturing ``display`` calls (``with output: ...``): a capture sends messages that a
    headless executor (nbclient) can wait on forever.
    """
    out = ipywidgets.Output()

    def redraw(_change: object = None) -> None:
        content = render(**{name: w.value for name, w in controls.items()})
        out.outputs = ()
        if isinstance(content, Figure):
            out.append_display_data(content)
            plt.close(content)
        else:
            out.append_stdout(f"{content}\n")

    for name, control in controls.items():
        control.description = control.description or name
        control.observe(redraw, names="value")
    redraw()
    return ipywidgets.VBox([*controls.values(), out])


def _distance(a: Any, b: Any) -> float:
    try:
        return abs(float(a) - float(b))
    except (TypeError, ValueError):
        return 0.0 if a == b else 1.0
