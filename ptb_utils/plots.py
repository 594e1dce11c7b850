"""How every figure of the book looks: one style, sharp and light images, shared drawing parts.

A chapter calls :func:`use_book_style` once, in its imports cell. Figures then share one size,
one set of fonts and colours, and are sent to the notebook as compact PNGs at twice the
display density, so they stay sharp on high-density screens and legible on a phone.

**The phone rule.** A reader on a phone 390 CSS px wide sees the book's text column about
:data:`PHONE_COLUMN_PX` = 358 px wide (16 px of padding on each side), and every figure is
scaled down to that width. Text of ``s`` points in a figure ``w`` inches wide is then shown
``s * 358 / (72 * w)`` CSS px high. For at least :data:`SMALLEST_TEXT_PX` = 9 px that needs
``s >= 1.81 * w``: with the default width of :data:`WIDTH` = 6 inches, no text below
:data:`SMALLEST_FONT_PT` = 11 points. So keep figures at the default width (make them taller,
not wider: ``plt.subplots(2, 1, figsize=(WIDTH, 6))``) and never pass a font size below
:data:`SMALLEST_FONT_PT`; the drawing functions of :mod:`ptb_utils.diagrams` follow the same
rule.

The drawing parts every diagram shares live here too: :func:`new_axes` gives the figure of a
function called with ``ax=None`` and :func:`arrow` is the one arrow of every diagram.
"""

from __future__ import annotations

import base64
from io import BytesIO

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

#: Default figure width (inches) and height.
WIDTH, HEIGHT = 6.0, 3.6
#: CSS px per inch at which figures are displayed; they are drawn at twice this density.
DPI = 100
#: Width of the book's text column on a phone 390 CSS px wide.
PHONE_COLUMN_PX = 358
#: Smallest text height, in CSS px, the figures keep on that phone.
SMALLEST_TEXT_PX = 9
#: Smallest font size (points) that keeps the rule at the default width (see the module text).
SMALLEST_FONT_PT = 11
#: Colour of lines and outlines in diagrams.
LINE_COLOUR = "#333333"
#: The Okabe-Ito colours, distinguishable with every common kind of colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")

STYLE = {
    "figure.figsize": (WIDTH, HEIGHT),
    "figure.dpi": DPI,
    "savefig.dpi": 2 * DPI,
    "figure.facecolor": "white",
    "figure.constrained_layout.use": True,
    "font.size": SMALLEST_FONT_PT,
    "axes.titlesize": 12,
    "axes.titlelocation": "left",
    "axes.labelsize": SMALLEST_FONT_PT,
    "legend.fontsize": SMALLEST_FONT_PT,
    "xtick.labelsize": SMALLEST_FONT_PT,
    "ytick.labelsize": SMALLEST_FONT_PT,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.5,
    "legend.frameon": False,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
}


def compact_png(fig: Figure) -> tuple[str, dict[str, int]] | None:
    """``fig`` as a base64 PNG at twice :data:`DPI`, reduced to 256 colours, with its size.

    Returns ``(data, {"width": w, "height": h})`` with the display size in CSS px (half the
    pixel size), the form IPython's PNG formatter takes; None for an empty figure. Line art
    has far fewer than 256 colours, so the palette loses nothing visible and the file is
    about a third of the full-colour PNG's size.
    """
    from IPython.core.pylabtools import print_figure
    from PIL import Image

    data = print_figure(fig, fmt="retina")  # bytes at 2 x fig.dpi, cropped to the drawing
    if data is None:
        return None
    image = Image.open(BytesIO(data)).convert("RGB")
    small = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = BytesIO()
    small.save(buffer, format="png", optimize=True)
    width, height = image.size
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return encoded, {"width": width // 2, "height": height // 2}


def use_book_style() -> None:
    """Apply the book's figure style, and in IPython show figures with :func:`compact_png`.

    Sets matplotlib's ``rcParams`` (:data:`STYLE`: size, fonts that keep the phone rule,
    light grid, colour-blind-safe colours) and, when running in IPython (Jupyter, papermill,
    nbval), registers :func:`compact_png` as the only image format of figures. Call it after
    ``import matplotlib.pyplot`` (which sets up Jupyter's inline backend).
    """
    mpl.rcParams.update(STYLE)
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    from IPython.core.pylabtools import select_figure_formats

    # Load the backend now: Jupyter's inline backend registers its own image formats when it
    # loads, which matplotlib otherwise delays until the first figure.
    plt.switch_backend(mpl.get_backend())
    select_figure_formats(shell, {"png"})  # drop any other format registered for figures
    shell.display_formatter.formatters["image/png"].for_type(Figure, compact_png)


def new_axes(ax: Axes | None, height: float = HEIGHT) -> Axes:
    """``ax``, or the Axes of a new figure :data:`WIDTH` wide and ``height`` high."""
    if ax is not None:
        return ax
    return plt.subplots(figsize=(WIDTH, height))[1]


def arrow(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    color: str = LINE_COLOUR,
    curve: float = 0.0,
    width: float = 1.5,
) -> FancyArrowPatch:
    """Draw an arrow from ``start`` to ``end`` (data coordinates) and return it.

    ``curve`` bends it (the ``rad`` of an arc, 0 for straight); the head is a filled
    triangle and the arrow touches both points exactly, so diagrams can chain them.
    """
    patch = FancyArrowPatch(
        start,
        end,
        arrowstyle="-|>",
        mutation_scale=14,
        linewidth=width,
        color=color,
        shrinkA=0,
        shrinkB=0,
        connectionstyle=f"arc3,rad={curve}",
    )
    ax.add_patch(patch)
    return patch
