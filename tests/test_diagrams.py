"""The diagrams: one signature, labels from the data they explain, text legible on a phone."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

from collections.abc import Callable  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from ptb_utils import data, plots  # noqa: E402
from ptb_utils.diagrams import (  # noqa: E402
    CELL_GID,
    STEP_GID,
    WINDOW_GID,
    draw_batch_layout,
    draw_lstm_cell,
    draw_unrolled,
)

DRAWINGS: dict[str, Callable[..., Axes]] = {
    "unrolled": lambda ax=None: draw_unrolled(ax, n_steps=3, shared_note="same weights"),
    "lstm_cell": lambda ax=None: draw_lstm_cell(ax),
    "batch_layout": lambda ax=None: draw_batch_layout(ax, num_tokens=62, batch_size=3, num_steps=5),
}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax: Axes, gid: str | None = None) -> list[str]:
    return [t.get_text() for t in ax.texts if gid is None or t.get_gid() == gid]


@pytest.mark.parametrize("name", DRAWINGS)
def test_one_signature_draws_on_the_given_axes_or_a_new_one(name: str) -> None:
    fig, ax = plt.subplots()
    assert DRAWINGS[name](ax) is ax
    assert not ax.axison
    new = DRAWINGS[name]()
    assert isinstance(new, Axes) and new is not ax
    assert new.figure.get_size_inches()[0] == plots.WIDTH


@pytest.mark.parametrize("name", DRAWINGS)
def test_no_text_is_smaller_than_the_phone_rule_allows(name: str) -> None:
    ax = DRAWINGS[name]()
    sizes = [t.get_fontsize() for t in ax.texts] + [ax.title.get_fontsize()]
    legend = ax.get_legend()
    if legend:
        sizes += [t.get_fontsize() for t in legend.get_texts()]
    assert min(sizes) >= plots.SMALLEST_FONT_PT
    width = ax.figure.get_size_inches()[0]
    assert min(sizes) * plots.PHONE_COLUMN_PX / (72 * width) >= plots.SMALLEST_TEXT_PX


def test_unrolled_draws_one_box_per_step_with_step_labels() -> None:
    ax = draw_unrolled(
        n_steps=3, cell="RNN", first_step=1, output_shift=0, shared_note="same weights"
    )
    labels = texts(ax)
    assert sum(p.get_gid() == STEP_GID for p in ax.patches) == 3
    assert labels.count("RNN") == 3
    for t in (1, 2, 3):
        assert f"$x_{{{t}}}$" in labels  # inputs, and outputs with shift 0
        assert f"$h_{{{t}}}$" in labels  # states leaving each copy
    assert "$h_{0}$" in labels and "same weights" in labels


def test_unrolled_output_labels_are_shifted() -> None:
    labels = texts(draw_unrolled(n_steps=2, outputs="$y_{{{t}}}$", output_shift=1))
    assert "$y_{2}$" in labels and "$y_{3}$" in labels and "$y_{1}$" not in labels


def test_unrolled_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_steps"):
        draw_unrolled(n_steps=0)
    with pytest.raises(ValueError, match="'{t}' field"):
        draw_unrolled(inputs="$x$")


def test_lstm_cell_labels_the_states_the_input_and_the_four_gates() -> None:
    labels = texts(draw_lstm_cell())
    for state in ("$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$", "$x_t$"):
        assert state in labels
    assert sorted(s for s in labels if s in {"f", "i", "g", "o"}) == ["f", "g", "i", "o"]
    assert labels.count("σ") == 3 and labels.count("tanh") == 2
    assert labels.count("×") == 3 and labels.count("+") == 1


@pytest.mark.parametrize(("num_tokens", "batch_size", "num_steps"), [(62, 3, 5), (40, 4, 3)])
def test_batch_layout_cells_hold_the_positions_batchify_puts_there(
    num_tokens: int, batch_size: int, num_steps: int
) -> None:
    ax = draw_batch_layout(num_tokens=num_tokens, batch_size=batch_size, num_steps=num_steps)
    expected = data.batchify(np.arange(num_tokens), batch_size)
    assert texts(ax, CELL_GID) == [str(v) for v in expected.ravel()]
    windows = data.epoch_size(num_tokens, batch_size, num_steps)
    assert texts(ax, WINDOW_GID) == [f"window {k}" for k in range(windows)]
    caption = " ".join(texts(ax))
    tail = num_tokens % batch_size
    assert (f"({tail} at the end dropped)" in caption) if tail else ("dropped" not in caption)
    assert (
        ax.get_title() == f"{batch_size} streams, windows of {num_steps} steps: "
        f"{windows} windows per epoch"
    )


@pytest.mark.parametrize(
    ("num_tokens", "batch_size", "num_steps", "message"),
    [
        (10, 5, 2, "epoch_size is 0"),
        (0, 1, 1, "num_tokens must be >= 1"),
        (10, 0, 2, "must be >= 1"),
        (10, 2, 0, "must be >= 1"),
    ],
)
def test_impossible_batch_layouts_say_what_to_change(
    num_tokens: int, batch_size: int, num_steps: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        draw_batch_layout(num_tokens=num_tokens, batch_size=batch_size, num_steps=num_steps)
