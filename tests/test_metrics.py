"""Perplexity on cases that can be worked out by hand."""

import math

import pytest

from ptb_utils.metrics import perplexity


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
