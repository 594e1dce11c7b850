"""The unrolled-network figure."""

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from ptb_utils.unrolled import draw_unrolled  # noqa: E402


def test_draws_one_box_per_step_with_step_labels() -> None:
    fig, ax = plt.subplots()
    boxes = draw_unrolled(ax, n_steps=3, cell="RNN", first_step=1, output_shift=0,
                          shared_note="same weights")
    texts = [t.get_text() for t in ax.texts]
    plt.close(fig)
    assert len(boxes) == 3
    assert texts.count("RNN") == 3
    for t in (1, 2, 3):
        assert f"$x_{{{t}}}$" in texts  # inputs, and outputs with shift 0
        assert f"$h_{{{t}}}$" in texts  # states leaving each copy
    assert "$h_{0}$" in texts and "same weights" in texts


def test_output_labels_are_shifted() -> None:
    fig, ax = plt.subplots()
    draw_unrolled(ax, n_steps=2, outputs="$y_{{{t}}}$", output_shift=1)
    texts = [t.get_text() for t in ax.texts]
    plt.close(fig)
    assert "$y_{2}$" in texts and "$y_{3}$" in texts and "$y_{1}$" not in texts


def test_rejects_bad_arguments() -> None:
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="n_steps"):
        draw_unrolled(ax, n_steps=0)
    with pytest.raises(ValueError, match="'{t}' field"):
        draw_unrolled(ax, inputs="$x$")
    plt.close(fig)
