"""Perplexity, the language-modelling metric every model in the book is scored with."""

from __future__ import annotations

import math


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
