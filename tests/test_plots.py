"""The batching-layout figure shows exactly what the data layer computes."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ptb_utils import data  # noqa: E402
from ptb_utils.plots import CELL_GID, WINDOW_GID, plot_batch_layout  # noqa: E402


def texts_with(ax: plt.Axes, gid: str) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


@pytest.mark.parametrize(("num_tokens", "batch_size", "num_steps"), [(62, 3, 5), (40, 4, 3)])
def test_cells_hold_the_positions_batchify_puts_there(
    num_tokens: int, batch_size: int, num_steps: int
) -> None:
    ax = plot_batch_layout(num_tokens, batch_size, num_steps)
    expected = data.batchify(np.arange(num_tokens), batch_size)
    assert texts_with(ax, CELL_GID) == [str(v) for v in expected.ravel()]
    windows = data.epoch_size(num_tokens, batch_size, num_steps)
    assert texts_with(ax, WINDOW_GID) == [f"window {k}" for k in range(windows)]
    caption = " ".join(t.get_text() for t in ax.texts)
    tail = num_tokens % batch_size
    assert (f"({tail} at the end dropped)" in caption) if tail else ("dropped" not in caption)
    plt.close(ax.figure)


def test_draws_on_a_given_axes() -> None:
    fig, ax = plt.subplots()
    assert plot_batch_layout(30, 2, 4, ax=ax) is ax
    assert ax.get_title().startswith("batch_size = 2 streams, num_steps = 4")
    plt.close(fig)


@pytest.mark.parametrize(
    ("num_tokens", "batch_size", "num_steps", "message"),
    [(10, 5, 2, "epoch_size is 0"), (0, 1, 1, "num_tokens must be >= 1"),
     (10, 0, 2, "must be >= 1"), (10, 2, 0, "must be >= 1")],
)
def test_impossible_layouts_say_what_to_change(
    num_tokens: int, batch_size: int, num_steps: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plot_batch_layout(num_tokens, batch_size, num_steps)
