"""The unrolled-network figure of chapters 2 and 3, drawn by code.

A recurrent model applies one function ``f`` at every time step: the same box, repeated
left to right, with the state flowing from each copy into the next, an input entering
from below and an output leaving above. Drawing it from code keeps the labels in step
with the notation of each chapter.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch


def _arrow(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float],
           color: str) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14,
                                 linewidth=1.5, color=color, shrinkA=0, shrinkB=0))


def draw_unrolled(ax: plt.Axes, n_steps: int = 4, cell: str = "$f$",
                  inputs: str = "$x_{{{t}}}$", outputs: str = "$x_{{{t}}}$",
                  state: str = "$h_{{{t}}}$", first_step: int = 1,
                  output_shift: int = 1, shared_note: str | None = None) -> list:
    """Draw ``n_steps`` copies of the cell ``cell`` on ``ax``; return the cell boxes.

    ``inputs``, ``outputs`` and ``state`` are format strings with a ``{t}`` field, filled
    with the time step (labels are written in matplotlib's math text). Copy ``i`` reads the
    input at step ``first_step + i`` and the state of the step before, and emits the state
    of its own step and the output at step ``first_step + i + output_shift`` (1 for a
    forecaster that outputs the next value, 0 for a cell whose output is its state).
    ``shared_note``, if given, is written under the row of boxes (for instance "same
    weights at every step"). The axes are set up (limits, aspect, no ticks); the caller
    adds a title.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    for name, label in (("inputs", inputs), ("outputs", outputs), ("state", state)):
        if "{t}" not in label:
            raise ValueError(f"the {name} label {label!r} needs a '{{t}}' field for the step")
    spacing, width, height = 2.2, 1.0, 0.8
    boxes = []
    state_color, io_color = "tab:red", "tab:blue"
    for i in range(n_steps):
        t = first_step + i
        x0 = i * spacing
        box = FancyBboxPatch((x0, 0), width, height, boxstyle="round,pad=0.05",
                             facecolor="#e8eef7", edgecolor="black", linewidth=1.5)
        ax.add_patch(box)
        boxes.append(box)
        ax.text(x0 + width / 2, height / 2, cell, ha="center", va="center", fontsize=15)
        _arrow(ax, (x0 + width / 2, -0.9), (x0 + width / 2, -0.05), io_color)
        ax.text(x0 + width / 2, -1.05, inputs.format(t=t), ha="center", va="top",
                fontsize=13, color=io_color)
        _arrow(ax, (x0 + width / 2, height + 0.05), (x0 + width / 2, height + 0.9), io_color)
        ax.text(x0 + width / 2, height + 1.0, outputs.format(t=t + output_shift),
                ha="center", va="bottom", fontsize=13, color=io_color)
        # the state arrives from the left and leaves to the right
        _arrow(ax, (x0 - spacing + width + 0.05, height / 2), (x0 - 0.05, height / 2),
               state_color)
        ax.text(x0 - (spacing - width) / 2, height / 2 + 0.12, state.format(t=t - 1),
                ha="center", va="bottom", fontsize=12, color=state_color)
    x_end = (n_steps - 1) * spacing + width
    _arrow(ax, (x_end + 0.05, height / 2), (x_end + spacing - width - 0.05, height / 2),
           state_color)
    ax.text(x_end + (spacing - width) / 2, height / 2 + 0.12,
            state.format(t=first_step + n_steps - 1), ha="center", va="bottom", fontsize=12,
            color=state_color)
    ax.text(x_end + spacing - width + 0.1, height / 2, "...", ha="left", va="center",
            fontsize=15)
    if shared_note:
        ax.text(x_end / 2, -1.9, shared_note, ha="center", va="top", fontsize=11,
                style="italic")
    ax.set_xlim(-spacing + width - 0.2, x_end + spacing - width + 0.6)
    ax.set_ylim(-2.4 if shared_note else -1.8, height + 1.7)
    ax.set_aspect("equal")
    ax.axis("off")
    return boxes
