"""Diagrams drawn by code, so that their labels cannot drift from the book's notation.

Three diagrams, one signature: ``draw_*(ax=None, *, ...) -> Axes``. Each draws on ``ax``,
or on a new figure of the book's width when ``ax`` is None, and returns the Axes it drew
on, for the caller to title or save. Every arrow is :func:`ptb_utils.plots.arrow`, and no
text is smaller than :data:`ptb_utils.plots.SMALLEST_FONT_PT`, so the diagrams stay legible
on a phone.

- :func:`draw_unrolled`: a recurrent model unrolled over time (chapters 2 and 3);
- :func:`draw_lstm_cell`: the LSTM cell (chapter 5);
- :func:`draw_batch_layout`: how a corpus becomes training windows (chapter 6). What it
  shows is computed by :func:`ptb_utils.data.batchify` and :func:`ptb_utils.data.epoch_size`,
  the very functions the training loop uses.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyBboxPatch, Patch, Rectangle

from ptb_utils.data import batchify, epoch_size
from ptb_utils.plots import LINE_COLOUR, PALETTE, SMALLEST_FONT_PT, arrow, new_axes

#: Colours of the parts of a cell: learned layers, element-wise operations, the cell's body.
LAYER_COLOUR = "#f6d08b"
OPERATION_COLOUR = "#f2a7a7"
BODY_COLOUR = "#eef3f8"
#: ``gid`` of the boxes of :func:`draw_unrolled`, one per time step.
STEP_GID = "step"
#: ``gid`` of the texts of :func:`draw_batch_layout` that print a token's corpus position.
CELL_GID = "token-position"
#: ``gid`` of the texts of :func:`draw_batch_layout` that name the windows.
WINDOW_GID = "window-label"

FONT = SMALLEST_FONT_PT
SYMBOL_FONT = FONT + 2


def _finish(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float]) -> Axes:
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def draw_unrolled(
    ax: Axes | None = None,
    *,
    n_steps: int = 4,
    cell: str = "$f$",
    inputs: str = "$x_{{{t}}}$",
    outputs: str = "$x_{{{t}}}$",
    state: str = "$h_{{{t}}}$",
    first_step: int = 1,
    output_shift: int = 1,
    shared_note: str | None = None,
) -> Axes:
    """Draw ``n_steps`` copies of the cell ``cell``, the state flowing left to right.

    ``inputs``, ``outputs`` and ``state`` are format strings with a ``{t}`` field, filled
    with the time step (labels are matplotlib math text). Copy ``i`` reads the input at step
    ``first_step + i`` and the state of the step before, and emits the state of its own step
    and the output at step ``first_step + i + output_shift`` (1 for a forecaster that outputs
    the next value, 0 for a cell whose output is its state). ``shared_note``, if given, is
    written under the row of boxes (for instance "same weights at every step"). The boxes
    carry the ``gid`` :data:`STEP_GID`. Raises ``ValueError`` for ``n_steps < 1`` or a label
    without ``{t}``.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    for name, label in (("inputs", inputs), ("outputs", outputs), ("state", state)):
        if "{t}" not in label:
            raise ValueError(f"the {name} label {label!r} needs a '{{t}}' field for the step")
    spacing, width, height = 2.4, 1.3, 0.8
    state_color, io_color = PALETTE[5], PALETTE[0]
    bottom = -2.4 if shared_note else -1.8
    ax = new_axes(ax, height=(height + 1.7 - bottom) / (n_steps * spacing + 0.8) * 6.0)
    for i in range(n_steps):
        t, x0 = first_step + i, i * spacing
        ax.add_patch(
            FancyBboxPatch(
                (x0, 0),
                width,
                height,
                boxstyle="round,pad=0.05",
                facecolor=BODY_COLOUR,
                edgecolor="black",
                linewidth=1.5,
                gid=STEP_GID,
            )
        )
        ax.text(x0 + width / 2, height / 2, cell, ha="center", va="center", fontsize=SYMBOL_FONT)
        arrow(ax, (x0 + width / 2, -0.9), (x0 + width / 2, -0.05), color=io_color)
        ax.text(
            x0 + width / 2,
            -1.05,
            inputs.format(t=t),
            ha="center",
            va="top",
            fontsize=SYMBOL_FONT,
            color=io_color,
        )
        arrow(ax, (x0 + width / 2, height + 0.05), (x0 + width / 2, height + 0.9), color=io_color)
        ax.text(
            x0 + width / 2,
            height + 1.0,
            outputs.format(t=t + output_shift),
            ha="center",
            va="bottom",
            fontsize=SYMBOL_FONT,
            color=io_color,
        )
        # the state arrives from the left and leaves to the right
        arrow(
            ax,
            (x0 - spacing + width + 0.05, height / 2),
            (x0 - 0.05, height / 2),
            color=state_color,
        )
        ax.text(
            x0 - (spacing - width) / 2,
            height / 2 + 0.12,
            state.format(t=t - 1),
            ha="center",
            va="bottom",
            fontsize=SYMBOL_FONT,
            color=state_color,
        )
    x_end = (n_steps - 1) * spacing + width
    arrow(
        ax,
        (x_end + 0.05, height / 2),
        (x_end + spacing - width - 0.05, height / 2),
        color=state_color,
    )
    ax.text(
        x_end + (spacing - width) / 2,
        height / 2 + 0.12,
        state.format(t=first_step + n_steps - 1),
        ha="center",
        va="bottom",
        fontsize=SYMBOL_FONT,
        color=state_color,
    )
    ax.text(
        x_end + spacing - width + 0.1,
        height / 2,
        "...",
        ha="left",
        va="center",
        fontsize=SYMBOL_FONT,
    )
    if shared_note:
        ax.text(x_end / 2, -1.9, shared_note, ha="center", va="top", fontsize=FONT, style="italic")
    return _finish(
        ax, (-spacing + width - 0.2, x_end + spacing - width + 0.6), (bottom, height + 1.7)
    )


def _layer(ax: Axes, x: float, y: float, label: str, name: str) -> None:
    """A learned layer: a box with its activation inside and the gate's name beside it."""
    ax.add_patch(
        FancyBboxPatch(
            (x - 0.42, y - 0.3),
            0.84,
            0.6,
            boxstyle="round,pad=0.02,rounding_size=0.1",
            facecolor=LAYER_COLOUR,
            edgecolor=LINE_COLOUR,
            zorder=3,
        )
    )
    ax.text(x, y, label, ha="center", va="center", fontsize=FONT, zorder=4)
    ax.text(x - 0.5, y + 0.42, name, ha="right", va="center", fontsize=SYMBOL_FONT, style="italic")


def _operation(ax: Axes, x: float, y: float, symbol: str) -> None:
    """An element-wise operation: a circle with its symbol."""
    ax.add_patch(Circle((x, y), 0.25, facecolor=OPERATION_COLOUR, edgecolor=LINE_COLOUR, zorder=3))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=SYMBOL_FONT, zorder=4)


def _line(ax: Axes, *points: tuple[float, float]) -> None:
    ax.plot(
        [p[0] for p in points],
        [p[1] for p in points],
        color=LINE_COLOUR,
        lw=1.5,
        solid_capstyle="round",
    )


def draw_lstm_cell(ax: Axes | None = None) -> Axes:
    """Draw one LSTM cell in the book's notation and return the Axes.

    The gates ``i``, ``f``, ``o`` (sigmoid layers) and the candidate ``g`` (a tanh layer)
    all read ``x_t`` and ``h_{t-1}``; the cell state runs along the top, touched only by a
    product and a sum, ``c_t = f_t * c_{t-1} + i_t * g_t``, and the hidden state leaves at
    the bottom right, ``h_t = o_t * tanh(c_t)``. The layers are drawn where they act (``f``
    first), not in the order Keras stores their weights (``i``, ``f``, ``g``, ``o``).
    """
    ax = new_axes(ax, height=3.9)
    ax.add_patch(
        FancyBboxPatch(
            (1.0, 0.6),
            7.9,
            5.0,
            boxstyle="round,pad=0.05,rounding_size=0.3",
            facecolor=BODY_COLOUR,
            edgecolor="#8aa1b8",
            zorder=0,
        )
    )

    # The cell state: straight through, touched only by a product and a sum.
    cell_y, bus_y = 4.9, 1.3
    arrow(ax, (0.2, cell_y), (2.25, cell_y))
    arrow(ax, (2.75, cell_y), (4.25, cell_y))
    arrow(ax, (4.75, cell_y), (10.2, cell_y))
    _operation(ax, 2.5, cell_y, "×")
    _operation(ax, 4.5, cell_y, "+")
    ax.text(0.2, cell_y + 0.3, "$c_{t-1}$", fontsize=SYMBOL_FONT)
    ax.text(9.6, cell_y + 0.3, "$c_t$", fontsize=SYMBOL_FONT)

    # h_{t-1} and x_t join into one bus that feeds the four layers.
    _line(ax, (0.2, bus_y), (6.7, bus_y))
    arrow(ax, (1.6, -0.3), (1.6, bus_y))
    ax.text(0.2, bus_y - 0.45, "$h_{t-1}$", fontsize=SYMBOL_FONT)
    ax.text(1.75, -0.3, "$x_t$", fontsize=SYMBOL_FONT)
    for x, label, name in [(2.5, "σ", "f"), (3.6, "σ", "i"), (5.4, "tanh", "g"), (6.7, "σ", "o")]:
        arrow(ax, (x, bus_y), (x, 2.1))
        _layer(ax, x, 2.4, label, name)

    # Forget: f multiplies the old cell state.
    arrow(ax, (2.5, 2.7), (2.5, cell_y - 0.25))
    # Input: i * g is added to it.
    _operation(ax, 4.5, 3.6, "×")
    _line(ax, (3.6, 2.7), (3.6, 3.6))
    arrow(ax, (3.6, 3.6), (4.25, 3.6))
    _line(ax, (5.4, 2.7), (5.4, 3.6))
    arrow(ax, (5.4, 3.6), (4.75, 3.6))
    arrow(ax, (4.5, 3.85), (4.5, cell_y - 0.25))
    # Output: h_t = o * tanh(c_t).
    _line(ax, (7.8, cell_y), (7.8, 4.3))
    ax.add_patch(
        FancyBboxPatch(
            (7.42, 3.75),
            0.76,
            0.45,
            boxstyle="round,pad=0.02",
            facecolor=OPERATION_COLOUR,
            edgecolor=LINE_COLOUR,
            zorder=3,
        )
    )
    ax.text(7.8, 3.97, "tanh", ha="center", va="center", fontsize=FONT, zorder=4)
    arrow(ax, (7.8, 3.75), (7.8, 2.65))
    _operation(ax, 7.8, 2.4, "×")
    arrow(ax, (6.7 + 0.42, 2.4), (7.55, 2.4))
    _line(ax, (7.8, 2.15), (7.8, bus_y))
    arrow(ax, (7.8, bus_y), (10.2, bus_y))
    ax.text(9.6, bus_y - 0.45, "$h_t$", fontsize=SYMBOL_FONT)
    return _finish(ax, (0, 10.4), (-0.4, 6.2))


def draw_batch_layout(
    ax: Axes | None = None, *, num_tokens: int, batch_size: int, num_steps: int
) -> Axes:
    """Draw how ``num_tokens`` tokens become ``[batch_size, num_steps]`` training windows.

    Top: the corpus as one strip, cut into ``batch_size`` contiguous pieces (the tail that
    fills no whole row is dropped). Bottom: the ``[batch_size, batch_len]`` matrix of
    :func:`~ptb_utils.data.batchify`; each cell holds the token's position in the corpus
    (0-based, ``gid`` :data:`CELL_GID`), so each row reads as a contiguous stretch. Thick
    lines separate the windows (labels with ``gid`` :data:`WINDOW_GID`); window 0's inputs
    ``x`` and its targets ``y`` (shifted one step right) are outlined, and arrows under the
    matrix mark the recurrent state carried from one window to the next. The numbers stay
    legible on a phone up to about 20 columns (``num_tokens // batch_size``).

    Raises ``ValueError`` when the corpus is too short for one window or a size is below 1.
    """
    if num_tokens < 1:
        raise ValueError(f"num_tokens must be >= 1, got {num_tokens}")
    windows = epoch_size(num_tokens, batch_size, num_steps)  # validates the three sizes
    matrix = batchify(np.arange(num_tokens), batch_size)
    batch_len = matrix.shape[1]
    strip_y = batch_size + 1.6
    top = strip_y + 1.9
    ax = new_axes(ax, height=(top + 1.9) / (batch_len + 0.4) * 6.0 + 0.6)

    # The corpus strip, scaled to the matrix width: one coloured piece per row.
    scale = batch_len / num_tokens
    for b in range(batch_size):
        start = b * batch_len
        ax.add_patch(
            Rectangle(
                (start * scale, strip_y),
                batch_len * scale,
                0.9,
                facecolor=PALETTE[b % len(PALETTE)],
                alpha=0.6,
                edgecolor="black",
            )
        )
        ax.text(
            (start + batch_len / 2) * scale,
            strip_y + 0.45,
            f"{start}-{start + batch_len - 1}",
            ha="center",
            va="center",
            fontsize=FONT,
        )
    tail = num_tokens - batch_size * batch_len
    if tail:
        ax.add_patch(
            Rectangle(
                (batch_size * batch_len * scale, strip_y),
                tail * scale,
                0.9,
                facecolor="lightgray",
                hatch="//",
                edgecolor="black",
            )
        )
    ax.text(
        0,
        strip_y + 1.2,
        f"the corpus: {num_tokens} tokens, one row each"
        + (f" ({tail} at the end dropped)" if tail else ""),
        fontsize=FONT,
    )

    # The matrix: row b of batchify's output, one cell per time step.
    used = windows * num_steps + 1  # the last used column is only ever a target
    for b in range(batch_size):
        y = batch_size - 1 - b
        for t in range(batch_len):
            face = PALETTE[b % len(PALETTE)] if t < used else "lightgray"
            alpha = 0.3 if (t // num_steps) % 2 == 0 else 0.55
            ax.add_patch(Rectangle((t, y), 1, 1, facecolor=face, alpha=alpha, edgecolor="white"))
            ax.text(
                t + 0.5,
                y + 0.5,
                str(matrix[b, t]),
                ha="center",
                va="center",
                fontsize=FONT,
                gid=CELL_GID,
            )
    for k in range(windows + 1):
        ax.plot([k * num_steps] * 2, [0, batch_size], color="black", lw=2)
    for k in range(windows):
        ax.text(
            (k + 0.5) * num_steps,
            batch_size + 0.25,
            f"window {k}",
            ha="center",
            fontsize=FONT,
            gid=WINDOW_GID,
        )

    # Window 0: inputs x (solid) and targets y, the same cells shifted one step (dashed).
    ax.add_patch(
        Rectangle(
            (0.05, 0.05), num_steps - 0.1, batch_size - 0.1, fill=False, edgecolor="black", lw=1.5
        )
    )
    ax.add_patch(
        Rectangle(
            (1.1, 0.12),
            num_steps - 0.2,
            batch_size - 0.24,
            fill=False,
            edgecolor="crimson",
            lw=1.5,
            linestyle="--",
        )
    )

    # The state carried across windows, row by row.
    for k in range(windows - 1):
        arrow(ax, ((k + 0.5) * num_steps, -0.45), ((k + 1.5) * num_steps, -0.45), curve=0.25)
        ax.text((k + 1) * num_steps, -1.45, "state carried", ha="center", fontsize=FONT)

    ax.legend(
        handles=[
            Patch(fill=False, edgecolor="black", lw=1.5, label="inputs x, window 0"),
            Patch(
                fill=False, edgecolor="crimson", lw=1.5, linestyle="--", label="targets y, window 0"
            ),
            Patch(facecolor="lightgray", label="unused"),
        ],
        loc="upper left",
        bbox_to_anchor=(0.0, 0.0),
        ncol=2,
        frameon=False,
        fontsize=FONT,
    )
    ax.set_title(
        f"{batch_size} streams, windows of {num_steps} steps: {windows} windows per epoch",
        fontsize=FONT + 1,
    )
    return _finish(ax, (-0.2, batch_len + 0.2), (-1.9, top))
