"""The delayed recall task (shapes, encoding, only the flagged step holds the answer) and the
protocol chapters 4 and 5 train on it with (stopping rule, reuse of a compiled trainer)."""

import dataclasses
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from ptb_utils import notebooks as nbtools
from ptb_utils.sequences import (
    RecallCurve,
    RecallProtocol,
    RecallTrainer,
    recall_batches,
    recall_runs,
    recall_task,
)


def test_shapes_and_dtypes() -> None:
    x, y = recall_task(7, lag=5, n_symbols=3, seed=1)
    assert x.shape == (7, 6, 4) and x.dtype == np.float32
    assert y.shape == (7,) and y.dtype == np.int32


def test_each_step_shows_one_symbol_and_only_step_zero_is_flagged() -> None:
    x, _ = recall_task(50, lag=9, n_symbols=4, seed=2)
    np.testing.assert_array_equal(x[..., :4].sum(axis=-1), 1.0)
    np.testing.assert_array_equal(x[:, 0, 4], 1.0)
    np.testing.assert_array_equal(x[:, 1:, 4], 0.0)


def test_the_answer_is_the_flagged_symbol() -> None:
    x, y = recall_task(200, lag=4, n_symbols=5, seed=3)
    np.testing.assert_array_equal(x[:, 0, :5].argmax(axis=-1), y)


def test_later_symbols_are_uniform_and_independent_of_the_answer() -> None:
    x, y = recall_task(4000, lag=3, n_symbols=4, seed=4)
    assert np.bincount(y, minlength=4).min() > 850  # about 1000 each
    later = x[:, 1:, :4].argmax(axis=-1)
    for s in range(4):
        share = np.bincount(later[y == s].ravel(), minlength=4) / later[y == s].size
        np.testing.assert_allclose(share, 0.25, atol=0.04)


def test_lag_zero_is_just_the_flagged_symbol() -> None:
    x, y = recall_task(5, lag=0, seed=5)
    assert x.shape == (5, 1, 5)
    np.testing.assert_array_equal(x[:, 0, :4].argmax(axis=-1), y)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, ya = recall_task(30, lag=6, seed=7)
    b, yb = recall_task(30, lag=6, seed=7)
    c, _ = recall_task(30, lag=6, seed=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_sequences": 0, "lag": 3}, "n_sequences"),
        ({"n_sequences": 4, "lag": -1}, "lag"),
        ({"n_sequences": 4, "lag": 2.5}, "lag"),
        ({"n_sequences": 4, "lag": True}, "lag"),
        ({"n_sequences": 4, "lag": 3, "n_symbols": 1}, "n_symbols"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        recall_task(**kwargs)


def test_a_generator_is_drawn_from_and_advanced() -> None:
    rng = np.random.default_rng(11)
    first, _ = recall_task(8, lag=4, seed=rng)
    second, _ = recall_task(8, lag=4, seed=rng)
    again, _ = recall_task(8, lag=4, seed=np.random.default_rng(11))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, again)


def test_batches_are_the_task_cut_into_batches() -> None:
    xs, ys = recall_batches(3, 5, lag=4, n_symbols=3, seed=9)
    x, y = recall_task(15, lag=4, n_symbols=3, seed=9)
    assert xs.shape == (3, 5, 5, 4) and ys.shape == (3, 5)
    np.testing.assert_array_equal(xs[1], x[5:10])
    np.testing.assert_array_equal(ys[2], y[10:])


# The training protocol. One tiny configuration, trained once per test session: XLA compiles
# each (layer, lag) once, which takes seconds, so the tests share these runs.
TINY = RecallProtocol(batch_size=16, max_updates=20, eval_every=10, n_valid=50, n_test=50)


def tiny_layer() -> keras.layers.Layer:
    return keras.layers.SimpleRNN(4)


@pytest.fixture(scope="module")
def tiny_curve() -> RecallCurve:
    return recall_runs(tiny_layer, lags=[3], seeds=[0, 1], protocol=TINY)


def test_runs_come_back_per_lag_and_seed(tiny_curve: RecallCurve) -> None:
    assert tiny_curve.lags == [3]
    assert tiny_curve.accuracy.shape == tiny_curve.solved.shape == tiny_curve.updates.shape
    assert tiny_curve.accuracy.shape == (1, 2)
    assert [run.seed for run in tiny_curve.runs[0]] == [0, 1]
    for run in tiny_curve.runs[0]:
        assert 0 <= run.test_accuracy <= 1
        assert len(run.curve) == run.updates // TINY.eval_every
        assert run.solved == (run.curve[-1] >= TINY.solved_at)
        assert run.updates == TINY.max_updates or run.solved


def test_a_reused_trainer_gives_the_run_of_a_fresh_one(tiny_curve: RecallCurve) -> None:
    # Seed 1 ran after seed 0 in the same trainer; alone in a new one it must come out equal.
    fresh = RecallTrainer(tiny_layer, 3, TINY, n_symbols=4).run(1)
    assert fresh == tiny_curve.runs[0][1]


def test_a_larger_budget_continues_the_same_run(tiny_curve: RecallCurve) -> None:
    longer = dataclasses.replace(TINY, max_updates=2 * TINY.max_updates)
    (run,) = recall_runs(tiny_layer, lags=[3], seeds=[0], protocol=longer).runs[0]
    short = tiny_curve.runs[0][0]
    assert run.curve[: len(short.curve)] == short.curve
    assert run.updates == longer.max_updates or run.solved


def test_training_stops_at_the_first_check_that_reaches_the_bar() -> None:
    easy = dataclasses.replace(TINY, solved_at=0.01)  # any network gets 1% right
    (run,) = recall_runs(tiny_layer, lags=[3], seeds=[5], protocol=easy).runs[0]
    assert run.solved and run.updates == easy.eval_every and len(run.curve) == 1


def test_the_plot_draws_median_range_and_every_seed(tiny_curve: RecallCurve) -> None:
    fig, ax = plt.subplots()
    tiny_curve.plot(ax, "tiny", "C0")
    assert len(ax.lines) == 2 and len(ax.collections) == 1
    assert len(ax.lines[1].get_xdata()) == 2  # one dot per seed
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"max_updates": 2.5}, "max_updates"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"clip_norm": -1.0}, "clip_norm"),
        ({"solved_at": 1.5}, "solved_at"),
        ({"max_updates": 120, "eval_every": 50}, "multiple of eval_every"),
    ],
)
def test_a_bad_protocol_says_what_is_wrong(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RecallProtocol(**kwargs)


@pytest.mark.parametrize(
    ("lags", "seeds", "message"), [([3], [], "seeds"), ([0], [1], "lag"), ([2.5], [1], "lag")]
)
def test_bad_runs_say_what_is_wrong(lags: list, seeds: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        recall_runs(tiny_layer, lags, seeds, TINY)


def test_both_chapters_train_under_the_same_protocol() -> None:
    # Chapters 4 and 5 compare their curves run for run: the same protocol, lags, seeds, width.
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    defaults = [
        nbtools.default_parameters(nbtools.read(path), path.name)
        for path in (notebooks / "04_gradient_instability.ipynb", notebooks / "05_lstm.ipynb")
    ]
    shared = ("seed", "recall_lags", "recall_seeds", "recall_units", "recall_max_updates")
    assert {k: defaults[0][k] for k in shared} == {k: defaults[1][k] for k in shared}
    assert defaults[0]["recall_max_updates"] == RecallProtocol().max_updates
