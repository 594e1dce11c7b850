"""Figures the PTB chapters share: the batching layout of a language-model corpus.

The drawing is plumbing: what it shows (contiguous streams, windows, targets shifted by one)
is computed by :func:`ptb_utils.data.batchify` and :func:`ptb_utils.data.epoch_size`, the very
functions the training loop uses, so the figure cannot drift from the code it explains.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, Patch, Rectangle

from ptb_utils.data import batchify, epoch_size

#: ``gid`` of the text artists that print a token's corpus position inside a matrix cell.
CELL_GID = "token-position"
#: ``gid`` of the text artists that name the windows ("window 0", ...).
WINDOW_GID = "window-label"


def plot_batch_layout(
    num_tokens: int, batch_size: int, num_steps: int, ax: Axes | None = None
) -> Axes:
    """Draw how ``num_tokens`` tokens become ``[batch_size, num_steps]`` training windows.

    Top: the corpus as one strip, cut into ``batch_size`` contiguous pieces (the tail that
    fills no whole row is dropped). Bottom: the ``[batch_size, batch_len]`` matrix of
    :func:`~ptb_utils.data.batchify`; each cell holds the token's position in the corpus
    (0-based), so each row reads as a contiguous stretch. Thick lines separate the windows;
    window 0's inputs ``x`` and its targets ``y`` (shifted one step right) are outlined, and
    arrows under the matrix mark the recurrent state carried from one window to the next.

    Returns the Axes drawn on (a new figure's when ``ax`` is None). Raises ``ValueError``
    when the corpus is too short for one window or a size is below 1.
    """
    if num_tokens < 1:
        raise ValueError(f"num_tokens must be >= 1, got {num_tokens}")
    windows = epoch_size(num_tokens, batch_size, num_steps)  # validates the three sizes
    matrix = batchify(np.arange(num_tokens), batch_size)
    batch_len = matrix.shape[1]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 0.45 * batch_len + 1.5), 1.0 * batch_size + 3.0))
    colors = plt.get_cmap("tab10").colors

    # The corpus strip, scaled to the matrix width: one coloured piece per row.
    strip_y = batch_size + 1.4
    scale = batch_len / num_tokens
    for b in range(batch_size):
        start = b * batch_len
        ax.add_patch(Rectangle((start * scale, strip_y), batch_len * scale, 0.8,
                               facecolor=colors[b % 10], alpha=0.6, edgecolor="black"))
        ax.text((start + batch_len / 2) * scale, strip_y + 0.4,
                f"row {b}: tokens {start}-{start + batch_len - 1}",
                ha="center", va="center", fontsize=8)
    tail = num_tokens - batch_size * batch_len
    if tail:
        ax.add_patch(Rectangle((batch_size * batch_len * scale, strip_y), tail * scale, 0.8,
                               facecolor="lightgray", hatch="//", edgecolor="black"))
    ax.text(0, strip_y + 1.1, f"the corpus: {num_tokens} tokens"
            + (f" ({tail} at the end dropped)" if tail else ""), fontsize=9)

    # The matrix: row b of batchify's output, one cell per time step.
    used = windows * num_steps + 1  # the last used column is only ever a target
    for b in range(batch_size):
        y = batch_size - 1 - b
        for t in range(batch_len):
            face = colors[b % 10] if t < used else "lightgray"
            alpha = 0.35 if (t // num_steps) % 2 == 0 else 0.6
            ax.add_patch(Rectangle((t, y), 1, 1, facecolor=face, alpha=alpha,
                                   edgecolor="white"))
            ax.text(t + 0.5, y + 0.5, str(matrix[b, t]), ha="center", va="center",
                    fontsize=7, gid=CELL_GID)
    for k in range(windows + 1):
        ax.plot([k * num_steps] * 2, [0, batch_size], color="black", lw=2)
    for k in range(windows):
        ax.text((k + 0.5) * num_steps, batch_size + 0.25, f"window {k}", ha="center",
                fontsize=9, gid=WINDOW_GID)

    # Window 0: inputs x (solid) and targets y, the same cells shifted one step (dashed).
    ax.add_patch(Rectangle((0.05, 0.05), num_steps - 0.1, batch_size - 0.1, fill=False,
                           edgecolor="black", lw=1.5))
    ax.add_patch(Rectangle((1.1, 0.12), num_steps - 0.2, batch_size - 0.24, fill=False,
                           edgecolor="crimson", lw=1.5, linestyle="--"))

    # The state carried across windows, row by row.
    for k in range(windows - 1):
        ax.add_patch(FancyArrowPatch(((k + 0.5) * num_steps, -0.45),
                                     ((k + 1.5) * num_steps, -0.45),
                                     arrowstyle="-|>", mutation_scale=12,
                                     connectionstyle="arc3,rad=0.25", color="black"))
        ax.text((k + 1) * num_steps, -1.25, "state carried", ha="center", fontsize=8)

    ax.legend(handles=[Patch(fill=False, edgecolor="black", lw=1.5, label="inputs x, window 0"),
                       Patch(fill=False, edgecolor="crimson", lw=1.5, linestyle="--",
                             label="targets y, window 0"),
                       Patch(facecolor="lightgray", label="unused")],
              loc="upper right", bbox_to_anchor=(1.0, -0.02), ncol=3, fontsize=8, frameon=False)
    ax.set_xlim(-0.2, batch_len + 0.2)
    ax.set_ylim(-1.6, strip_y + 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"batch_size = {batch_size} streams, num_steps = {num_steps}: "
                 f"{windows} windows per epoch")
    return ax


__all__ = ["CELL_GID", "WINDOW_GID", "plot_batch_layout"]
