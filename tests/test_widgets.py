"""Explorers: a live widget and a static, kernel-free view in one output."""

from __future__ import annotations

import io
import re

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from ptb_utils import widgets


def line(slope: float, label: str = "y") -> plt.Figure:
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    ax.plot([0, 1], [0, slope], label=label)
    ax.set(title=f"a {label} line", xlabel="x (m)", ylabel="height (m)")
    return fig


def shaded(level: float) -> plt.Figure:
    """A smooth shaded image, the kind of frame (a spectrogram) that WebP stores best."""
    fig, ax = plt.subplots(figsize=(6, 3))
    x = np.linspace(0, 8, 300)
    ax.pcolormesh(
        x,
        x[:150],
        np.sin(x[None, :] * level) * np.cos(x[:150, None] ** 1.3),
        cmap="magma",
        shading="auto",
    )
    return fig


def slope_explorer(**kwargs) -> widgets.Explorer:
    return widgets.explorer(
        line,
        "slope",
        [0.5, 1.0, 2.0],
        slope=ipywidgets.FloatSlider(value=1.0, min=0.5, max=2.0, description="slope"),
        label=ipywidgets.Text(value="y"),
        **kwargs,
    )


def test_explorer_carries_a_live_widget_and_a_static_slider() -> None:
    ex = slope_explorer()
    bundle = ex._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"] == {
        "version_major": 2,
        "version_minor": 0,
        "model_id": ex.widget.model_id,
    }
    page = bundle["text/html"]
    assert page.count('class="ptb-frame"') == 3
    assert len(re.findall(r'src="data:image/(png|webp);base64,', page)) == 3
    # the default value (1.0) is the frame shown first, the others hidden
    visible = re.findall(r'data-index="(\d)">', page)
    assert visible == ["1"]
    assert 'value="1"' in page and "<output>1</output>" in page


def test_each_frame_says_what_it_shows() -> None:
    page = slope_explorer()._repr_mimebundle_()["text/html"]
    alts = re.findall(r'<img alt="([^"]*)"', page)
    assert alts == [f"slope = {v}. a y line: height (m) against x (m)" for v in ("0.5", "1", "2")]
    page = slope_explorer(alt="Line of slope {slope} <{label}>")._repr_mimebundle_()["text/html"]
    assert 'alt="Line of slope 2.0 &lt;y&gt;"' in page
    page = slope_explorer(alt=lambda slope, label: f"rise {slope}")._repr_mimebundle_()
    assert 'alt="rise 0.5"' in page["text/html"]


def plain_png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=widgets.FRAME_DPI, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make", "expected"),
    [(lambda: line(1.0), "image/png"), (lambda: shaded(3.0), "image/webp")],
    ids=["line-art", "shaded"],
)
def test_frames_are_stored_small_in_the_format_that_suits_them(make, expected: str) -> None:
    raw = plain_png(make())
    mime, data = widgets.encode_figure(make())
    assert mime == expected
    assert len(data) < len(raw) / 2, f"{mime}: {len(data)} bytes, a plain PNG is {len(raw)}"
    assert Image.open(io.BytesIO(data)).size == Image.open(io.BytesIO(raw)).size


def test_unknown_image_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown image format"):
        widgets.encode_figure(line(1.0), formats=("tiff",))


def test_live_view_draws_in_formats_every_jupyter_shows() -> None:
    box = widgets.live_widget(shaded, {"level": ipywidgets.FloatSlider(value=2.0)})
    (output,) = box.children[-1].outputs
    assert set(output["data"]) & {"image/png", "image/jpeg"}


def test_text_frames_are_escaped_and_the_script_cannot_be_closed_early() -> None:
    page = widgets.static_slider("t", ["</script>", "b"], ["<b>x</b>", "y"], start=0)
    assert "</script>" in page  # the closing tag of the script itself
    assert page.count("</script>") == 1
    assert "&lt;b&gt;x&lt;/b&gt;</pre>" in widgets.frame_html("<b>x</b>")


def test_sweep_must_name_a_control() -> None:
    with pytest.raises(ValueError, match="sweep"):
        widgets.explorer(line, "angle", [1], slope=ipywidgets.FloatSlider(value=1.0))


def test_static_slider_needs_one_frame_per_value() -> None:
    with pytest.raises(ValueError, match="one frame per value"):
        widgets.static_slider("x", [1, 2], ["a"], start=0)


def test_live_widget_redraws_when_a_control_changes() -> None:
    slider = ipywidgets.IntSlider(value=2)
    box = widgets.live_widget(lambda n: "x" * n, {"n": slider})
    out = box.children[-1]
    assert out.outputs[0]["text"] == "xx\n"
    assert slider.description == "n"
    slider.value = 4
    assert len(out.outputs) == 1 and out.outputs[0]["text"] == "xxxx\n"
