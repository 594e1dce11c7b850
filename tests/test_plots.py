"""The book's figure style: legible on a phone, sharp and light images in IPython."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import base64  # noqa: E402
import io  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.core.pylabtools import print_figure  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from ptb_utils import plots  # noqa: E402


@pytest.fixture
def restore_rc():
    with matplotlib.rc_context():
        yield
    plt.close("all")


def line_figure() -> Figure:
    fig, ax = plt.subplots()
    x = np.linspace(0, 20, 400)
    ax.plot(x, np.sin(x), label="sin")
    ax.plot(x, np.cos(x), "--", label="cos")
    ax.set(title="Two waves", xlabel="time (s)", ylabel="value")
    ax.legend()
    return fig


@pytest.mark.usefixtures("restore_rc")
def test_style_keeps_every_text_legible_on_a_phone() -> None:
    plots.use_book_style()
    rc = matplotlib.rcParams
    assert tuple(rc["figure.figsize"]) == (plots.WIDTH, plots.HEIGHT)
    fig = line_figure()
    ax = fig.axes[0]
    sizes = [t.get_fontsize() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    sizes += [ax.xaxis.label.get_fontsize(), ax.title.get_fontsize()]
    sizes += [t.get_fontsize() for t in ax.get_legend().get_texts()]
    shown_px = min(sizes) * plots.PHONE_COLUMN_PX / (72 * plots.WIDTH)
    assert min(sizes) == plots.SMALLEST_FONT_PT
    assert shown_px >= plots.SMALLEST_TEXT_PX


@pytest.mark.usefixtures("restore_rc")
def test_compact_png_is_twice_the_density_and_lighter() -> None:
    plots.use_book_style()
    fig = line_figure()
    data, size = plots.compact_png(fig)
    png = base64.b64decode(data)
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P"  # a palette of at most 256 colours
    assert (size["width"], size["height"]) == (image.width // 2, image.height // 2)
    assert abs(size["width"] - plots.WIDTH * plots.DPI) < 0.1 * plots.WIDTH * plots.DPI
    full = print_figure(fig, fmt="retina")
    assert len(png) < 0.6 * len(full)
    assert plots.compact_png(plt.figure()) is None  # nothing drawn, nothing shown


@pytest.mark.usefixtures("restore_rc")
def test_in_ipython_figures_are_shown_as_compact_png_only() -> None:
    shell = InteractiveShell.instance()
    try:
        plots.use_book_style()
        fig = line_figure()
        bundle, metadata = shell.display_formatter.format(fig)
        assert set(bundle) == {"text/plain", "image/png"}
        assert Image.open(io.BytesIO(base64.b64decode(bundle["image/png"]))).mode == "P"
        assert metadata["image/png"]["width"] == plots.compact_png(fig)[1]["width"]
    finally:
        InteractiveShell.clear_instance()


def test_arrow_joins_the_two_points_exactly() -> None:
    fig, ax = plt.subplots()
    patch = plots.arrow(ax, (0, 0), (1, 2), curve=0.2)
    assert patch in ax.patches
    assert patch.get_connectionstyle().rad == 0.2
    assert (patch.shrinkA, patch.shrinkB) == (0, 0)
    plt.close(fig)


def test_new_axes_uses_the_given_axes_or_the_book_width() -> None:
    fig, ax = plt.subplots()
    assert plots.new_axes(ax) is ax
    assert tuple(plots.new_axes(None, height=2.0).figure.get_size_inches()) == (plots.WIDTH, 2.0)
    plt.close("all")
