"""Diagrams of recurrent cells drawn with matplotlib, so that the figures are code too.

Chapter 5 draws the LSTM cell with :func:`draw_lstm_cell`: the cell state runs along the
top, the hidden state and the input enter at the bottom, and the four gate layers sit in
between, in the order Keras stores them (input, forget, candidate, output).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyBboxPatch

#: Colours of the three kinds of parts: learned layers, element-wise operations, signals.
LAYER_COLOUR = "#f6d08b"
OPERATION_COLOUR = "#f2a7a7"
LINE_COLOUR = "#333333"


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.annotate("", xy=end, xytext=start,
                arrowprops={"arrowstyle": "-|>", "color": LINE_COLOUR, "lw": 1.6,
                            "shrinkA": 0, "shrinkB": 0})


def _line(ax: Axes, *points: tuple[float, float]) -> None:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    ax.plot(xs, ys, color=LINE_COLOUR, lw=1.6, solid_capstyle="round")


def _layer(ax: Axes, x: float, y: float, label: str, name: str) -> None:
    """A learned layer: a box with its activation inside and the gate's name under it."""
    ax.add_patch(FancyBboxPatch((x - 0.42, y - 0.3), 0.84, 0.6,
                                boxstyle="round,pad=0.02,rounding_size=0.1",
                                facecolor=LAYER_COLOUR, edgecolor=LINE_COLOUR, zorder=3))
    ax.text(x, y, label, ha="center", va="center", fontsize=12, zorder=4)
    ax.text(x - 0.5, y + 0.42, name, ha="right", va="center", fontsize=10, style="italic")


def _operation(ax: Axes, x: float, y: float, symbol: str) -> None:
    """An element-wise operation: a circle with its symbol."""
    ax.add_patch(Circle((x, y), 0.25, facecolor=OPERATION_COLOUR, edgecolor=LINE_COLOUR,
                        zorder=3))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=12, zorder=4)


def draw_lstm_cell(ax: Axes | None = None) -> Axes:
    """Draw one LSTM cell on ``ax`` (a new figure, 9 x 5 inches, when ``None``); return it.

    The drawing follows the equations of chapter 5: ``f``, ``i`` and ``o`` are sigmoid
    gates and ``g`` the tanh candidate, all computed from ``[h_{t-1}, x_t]``; the cell state
    becomes ``c_t = f * c_{t-1} + i * g`` (the top line, with no squashing on it) and the
    hidden state ``h_t = o * tanh(c_t)``.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 5))
    ax.set_xlim(0, 10.4)
    ax.set_ylim(-0.4, 6.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.add_patch(FancyBboxPatch((1.0, 0.6), 7.9, 5.0, boxstyle="round,pad=0.05,rounding_size=0.3",
                                facecolor="#eef3f8", edgecolor="#8aa1b8", zorder=0))

    # The cell state: straight through, touched only by a product and a sum.
    cell_y, bus_y = 4.9, 1.3
    _arrow(ax, (0.2, cell_y), (2.25, cell_y))
    _arrow(ax, (2.75, cell_y), (4.25, cell_y))
    _arrow(ax, (4.75, cell_y), (10.2, cell_y))
    _operation(ax, 2.5, cell_y, "×")
    _operation(ax, 4.5, cell_y, "+")
    ax.text(0.2, cell_y + 0.3, "$c_{t-1}$", fontsize=13)
    ax.text(9.6, cell_y + 0.3, "$c_t$", fontsize=13)

    # h_{t-1} and x_t join into one bus that feeds the four layers.
    _line(ax, (0.2, bus_y), (6.7, bus_y))
    _arrow(ax, (1.6, -0.3), (1.6, bus_y))
    ax.text(0.2, bus_y - 0.4, "$h_{t-1}$", fontsize=13)
    ax.text(1.75, -0.3, "$x_t$", fontsize=13)
    gates = [(2.5, "σ", "f"), (3.6, "σ", "i"), (5.4, "tanh", "g"), (6.7, "σ", "o")]
    for x, label, name in gates:
        _arrow(ax, (x, bus_y), (x, 2.1))
        _layer(ax, x, 2.4, label, name)

    # Forget: f multiplies the old cell state.
    _arrow(ax, (2.5, 2.7), (2.5, cell_y - 0.25))
    # Input: i * g is added to it.
    _operation(ax, 4.5, 3.6, "×")
    _line(ax, (3.6, 2.7), (3.6, 3.6))
    _arrow(ax, (3.6, 3.6), (4.25, 3.6))
    _line(ax, (5.4, 2.7), (5.4, 3.6))
    _arrow(ax, (5.4, 3.6), (4.75, 3.6))
    _arrow(ax, (4.5, 3.85), (4.5, cell_y - 0.25))
    # Output: h_t = o * tanh(c_t).
    _line(ax, (7.8, cell_y), (7.8, 4.3))
    ax.add_patch(FancyBboxPatch((7.42, 3.75), 0.76, 0.45, boxstyle="round,pad=0.02",
                                facecolor=OPERATION_COLOUR, edgecolor=LINE_COLOUR, zorder=3))
    ax.text(7.8, 3.97, "tanh", ha="center", va="center", fontsize=11, zorder=4)
    _arrow(ax, (7.8, 3.75), (7.8, 2.65))
    _operation(ax, 7.8, 2.4, "×")
    _arrow(ax, (6.7 + 0.42, 2.4), (7.55, 2.4))
    _line(ax, (7.8, 2.15), (7.8, bus_y))
    _arrow(ax, (7.8, bus_y), (10.2, bus_y))
    ax.text(9.6, bus_y - 0.4, "$h_t$", fontsize=13)
    return ax
