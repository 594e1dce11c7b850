"""The LSTM cell diagram: it draws on the axes it is given and labels every part."""

import io

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402

from ptb_utils.diagrams import draw_lstm_cell  # noqa: E402


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_draws_on_the_given_axes_and_returns_them() -> None:
    fig, ax = plt.subplots()
    try:
        assert draw_lstm_cell(ax) is ax
        assert not ax.axison
    finally:
        plt.close(fig)


def test_labels_the_states_the_input_and_the_four_gates_in_keras_order() -> None:
    ax = draw_lstm_cell()
    try:
        labels = texts(ax)
        for state in ("$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$", "$x_t$"):
            assert state in labels
        gate_names = [s for s in labels if s in {"f", "i", "g", "o"}]
        assert sorted(gate_names) == ["f", "g", "i", "o"]
        assert labels.count("σ") == 3 and labels.count("tanh") == 2
        assert labels.count("×") == 3 and labels.count("+") == 1
    finally:
        plt.close(ax.figure)


def test_renders_to_png() -> None:
    ax = draw_lstm_cell()
    try:
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png")
        assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        plt.close(ax.figure)
