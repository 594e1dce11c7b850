"""The book's error measures: RMSE and MAE for forecasts, perplexity for language models.

Each is defined once here so that every chapter scores its models with the same code.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def _errors(forecast: ArrayLike, truth: ArrayLike) -> np.ndarray:
    forecast, truth = np.asarray(forecast, dtype=float), np.asarray(truth, dtype=float)
    if forecast.shape != truth.shape:
        raise ValueError(
            f"forecast and truth must have the same shape, got {forecast.shape} and {truth.shape}"
        )
    if forecast.size == 0:
        raise ValueError("forecast and truth are empty: there is nothing to score")
    return forecast - truth


def rmse(forecast: ArrayLike, truth: ArrayLike) -> float:
    """Root mean squared error, ``sqrt(mean((forecast - truth)**2))``, in the data's units.

    Large misses weigh more than small ones. Raises ``ValueError`` when the two arrays
    differ in shape (a forecast off by one step is a common slip) or are empty.
    """
    return float(np.sqrt(np.mean(_errors(forecast, truth) ** 2)))


def mae(forecast: ArrayLike, truth: ArrayLike) -> float:
    """Mean absolute error, ``mean(|forecast - truth|)``: how far off a typical forecast is."""
    return float(np.mean(np.abs(_errors(forecast, truth))))


def perplexity(total_nll: float, num_words: int) -> float:
    """``exp(total_nll / num_words)``: the average branching factor a model is left with.

    ``total_nll`` is the summed negative log-likelihood (natural log, nats) of ``num_words``
    target words. A model that spreads its probability uniformly over ``V`` words scores
    exactly ``V``; a perfect one scores 1.
    """
    if num_words < 1:
        raise ValueError(f"num_words must be >= 1, got {num_words}")
    if not math.isfinite(total_nll) or total_nll < 0:
        raise ValueError(f"total_nll must be a finite, non-negative sum of nats, got {total_nll}")
    return math.exp(total_nll / num_words)
