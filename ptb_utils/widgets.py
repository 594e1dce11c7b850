"""Explorers that are live ipywidgets in Jupyter and Colab and still work in the static book.

A live widget needs a kernel; the rendered book has none. :func:`explorer` therefore
returns one output carrying two views of the same control:

* ``application/vnd.jupyter.widget-view+json``: the live controls and drawing, which
  Jupyter and Colab display and which redraw on every change;
* ``text/html``: the same drawing precomputed for a handful of values of one control, behind
  an HTML range slider and a few lines of inline JavaScript. The book (configured to prefer
  ``text/html``) shows this one; it needs no kernel and no network.

The precomputed frames are inline images, so they set the weight of the page: each is drawn
at :data:`FRAME_DPI` and stored as the smaller of a 64-colour PNG (line art stays crisp) and
a WebP (shaded images such as spectrograms), with an alt text that says what it shows.
The live view draws the same way, PNG or JPEG (which every Jupyter front end displays).

Works with ipywidgets 7.7 (what Colab ships) and 8. Executing the cell never waits for
input, so papermill and nbval just record both views.
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
from IPython import display
from matplotlib.figure import Figure
from PIL import Image

Render = Callable[..., "Figure | str"]
#: An alt text: fixed, a ``str.format`` template over the controls' values, or a function of them.
Alt = str | Callable[..., str] | None
_ids = itertools.count()

#: Resolution of the explorer frames: a 10-inch-wide figure becomes 1,000 pixels, sharp in the
#: book's 700-pixel column and on a phone, at a fraction of the weight of a 2x image.
FRAME_DPI = 100
PALETTE_COLOURS = 64
WEBP_QUALITY = 60
JPEG_QUALITY = 80


def encode_figure(
    fig: Figure, formats: Sequence[str] = ("png", "webp"), dpi: float = FRAME_DPI
) -> tuple[str, bytes]:
    """Draw ``fig`` (then close it) and return the smallest of its encodings in ``formats``.

    ``png`` is a palette PNG of :data:`PALETTE_COLOURS` colours, ``webp`` and ``jpeg`` lossy.
    Returns the MIME type and the bytes.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    image = Image.open(buffer).convert("RGB")
    encodings = {}
    for fmt in formats:
        out = io.BytesIO()
        if fmt == "png":
            image.quantize(PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT).save(
                out, "PNG", optimize=True
            )
        elif fmt == "webp":
            image.save(out, "WEBP", quality=WEBP_QUALITY, method=6)
        elif fmt == "jpeg":
            image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        else:
            raise ValueError(f"unknown image format {fmt!r}: use png, webp or jpeg")
        encodings[f"image/{fmt}"] = out.getvalue()
    return min(encodings.items(), key=lambda item: len(item[1]))


def describe_figure(fig: Figure) -> str:
    """A plain-words alt text from a figure's titles and axis labels, panel by panel."""
    panels = []
    suptitle = fig.get_suptitle()
    for ax in fig.axes:
        title, xlabel, ylabel = ax.get_title(), ax.get_xlabel(), ax.get_ylabel()
        axes = " against ".join(a for a in (ylabel, xlabel) if a)
        if title or axes:
            panels.append(f"{title}: {axes}" if title and axes else title or axes)
    text = "; ".join(panels) or "a figure"
    return f"{suptitle}. {text}" if suptitle else text


def frame_html(content: Figure | str, alt: str | None = None) -> str:
    """One precomputed view as HTML: a figure as an inline image, text as preformatted text.

    ``alt`` describes the figure; by default it is made from its titles and axis labels.
    """
    if isinstance(content, Figure):
        alt = alt or describe_figure(content)
        mime, data = encode_figure(content)
        encoded = base64.b64encode(data).decode("ascii")
        return f'<img alt="{html.escape(alt)}" src="data:{mime};base64,{encoded}">'
    return f'<pre style="white-space: pre-wrap">{html.escape(content)}</pre>'


def static_slider(label: str, values: Sequence[Any], frames: Sequence[str], start: int) -> str:
    """HTML that shows ``frames[i]`` for the slider position ``i``; plain inline JavaScript."""
    if len(values) != len(frames) or not frames:
        raise ValueError("static_slider needs one frame per value, and at least one")
    uid = f"ptb-explorer-{next(_ids)}"
    names = [_name(v) for v in values]
    names_js = json.dumps(names).replace("</", "<\\/")  # "</script>" must not end the script
    panes = "".join(
        f'<div class="ptb-frame" data-index="{i}"{"" if i == start else " hidden"}>{f}</div>'
        for i, f in enumerate(frames)
    )
    return (
        f'<div class="ptb-explorer" id="{uid}">'
        f'<label>{html.escape(label)} <input type="range" min="0" max="{len(frames) - 1}" '
        f'step="1" value="{start}" aria-label="{html.escape(label)}"> '
        f"<output>{html.escape(names[start])}</output></label>"
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
        # Written out rather than taken from the widget: ipywidgets 7 widgets have no
        # _repr_mimebundle_ (they display themselves), and the view format is the same in 8.
        return {
            "text/plain": f"Explorer({type(self.widget).__name__})",
            "text/html": self.static_html,
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2,
                "version_minor": 0,
                "model_id": self.widget.model_id,
            },
        }


def explorer(
    render: Render,
    sweep: str,
    values: Sequence[Any],
    *,
    alt: Alt = None,
    **controls: ipywidgets.ValueWidget,
) -> Explorer:
    """Build the explorer of ``render(**values_of_controls)``, which returns a figure or text.

    ``controls`` maps each argument of ``render`` to the widget that sets it (their
    ``value`` is the default view). The static page sweeps the control ``sweep`` over
    ``values``, the other controls staying at their defaults.

    ``alt`` describes each precomputed figure for readers who cannot see it: a string,
    formatted with the controls' values (``"Spectrogram, {window_ms} ms windows"``), or a
    function of them. By default it is made from the figure's titles and axis labels, and
    says which value of ``sweep`` the frame shows.
    """
    if sweep not in controls:
        raise ValueError(f"sweep={sweep!r} must name one of the controls {sorted(controls)}")
    defaults = {name: w.value for name, w in controls.items()}
    label = controls[sweep].description or sweep
    frames = []
    for value in values:
        kwargs = {**defaults, sweep: value}
        content = render(**kwargs)
        if callable(alt):
            text = alt(**kwargs)
        elif alt is not None:
            text = alt.format(**kwargs)
        elif isinstance(content, Figure):
            text = f"{label} = {_name(value)}. {describe_figure(content)}"
        else:
            text = None
        frames.append(frame_html(content, text))
    start = min(range(len(values)), key=lambda i: _distance(values[i], defaults[sweep]))
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
            mime, data = encode_figure(content, formats=("png", "jpeg"))
            out.append_display_data(display.Image(data=data, format=mime.split("/")[1]))
        else:
            out.append_stdout(f"{content}\n")

    for name, control in controls.items():
        control.description = control.description or name
        control.observe(redraw, names="value")
    redraw()
    return ipywidgets.VBox([*controls.values(), out])


def _name(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _distance(a: Any, b: Any) -> float:
    try:
        return abs(float(a) - float(b))
    except (TypeError, ValueError):
        return 0.0 if a == b else 1.0
