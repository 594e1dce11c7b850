"""The delayed recall task: shapes, encoding, and that only the flagged step holds the answer."""

import numpy as np
import pytest

from ptb_utils.sequences import recall_task


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
