"""Explorers: a live widget and a static, kernel-free view in one output."""

from __future__ import annotations

import re

import ipywidgets
import matplotlib.pyplot as plt
import pytest

from ptb_utils import widgets


def line(slope: float, label: str = "y") -> plt.Figure:
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    ax.plot([0, 1], [0, slope], label=label)
    return fig


def test_explorer_carries_a_live_widget_and_a_static_slider() -> None:
    ex = widgets.explorer(
        line, "slope", [0.5, 1.0, 2.0],
        slope=ipywidgets.FloatSlider(value=1.0, min=0.5, max=2.0, description="slope"),
        label=ipywidgets.Text(value="y"),
    )
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    page = bundle["text/html"]
    assert page.count('class="ptb-frame"') == 3
    assert page.count("data:image/png;base64,") == 3
    # the default value (1.0) is the frame shown first, the others hidden
    visible = re.findall(r'data-index="(\d)">', page)
    assert visible == ["1"]
    assert 'value="1"' in page and "<output>1</output>" in page


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
