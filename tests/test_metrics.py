"""The error measures on cases that can be worked out by hand."""

import math

import numpy as np
import pytest

from ptb_utils.metrics import mae, perplexity, rmse


@pytest.mark.parametrize(
    ("forecast", "truth", "expected_rmse", "expected_mae"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 0.0, 0.0),
        ([0.0, 0.0], [3.0, -4.0], math.sqrt(12.5), 3.5),
        (np.array([[1, 2], [3, 4]]), np.array([[2, 2], [3, 2]]), math.sqrt(5 / 4), 0.75),
    ],
)
def test_rmse_and_mae_by_hand(forecast, truth, expected_rmse: float, expected_mae: float) -> None:
    assert rmse(forecast, truth) == pytest.approx(expected_rmse)
    assert mae(forecast, truth) == pytest.approx(expected_mae)
    assert isinstance(rmse(forecast, truth), float)


@pytest.mark.parametrize("metric", [rmse, mae])
@pytest.mark.parametrize(
    ("forecast", "truth", "message"),
    [([1.0, 2.0], [1.0, 2.0, 3.0], "same shape"), ([], [], "empty")],
)
def test_rmse_and_mae_refuse_mismatched_or_empty_input(metric, forecast, truth, message) -> None:
    with pytest.raises(ValueError, match=message):
        metric(forecast, truth)


def test_uniform_model_scores_its_vocabulary_size() -> None:
    assert perplexity(50 * math.log(10_000), 50) == pytest.approx(10_000)


def test_hand_computed_case() -> None:
    # p = 1/2, 1/4, 1/8 -> mean NLL = 2 ln 2 -> perplexity 4
    nll = -(math.log(1 / 2) + math.log(1 / 4) + math.log(1 / 8))
    assert perplexity(nll, 3) == pytest.approx(4.0)


def test_perfect_model_scores_one() -> None:
    assert perplexity(0.0, 7) == 1.0


@pytest.mark.parametrize(("nll", "n"), [(1.0, 0), (-1.0, 3), (math.nan, 3), (math.inf, 3)])
def test_bad_arguments_are_rejected(nll: float, n: int) -> None:
    with pytest.raises(ValueError):
        perplexity(nll, n)
