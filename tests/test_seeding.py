"""Seeding makes every source of random numbers repeat, and TensorFlow deterministic."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import pytest

from ptb_utils.seeding import seed_everything


@pytest.fixture
def restore_determinism() -> Iterator[None]:
    from tensorflow.python.framework import config

    was_on = config.is_op_determinism_enabled()
    yield
    if not was_on:  # keep the other tests' TensorFlow as they expect it
        config.disable_op_determinism()


def draws(seed: int) -> tuple:
    import keras

    rng = seed_everything(seed)
    return (
        random.random(),
        float(np.random.rand()),  # noqa: NPY002 (the legacy global generator is seeded too)
        float(rng.normal()),
        float(keras.ops.convert_to_numpy(keras.random.uniform(()))),
    )


@pytest.mark.usefixtures("restore_determinism")
def test_same_seed_same_draws_everywhere_and_deterministic_ops() -> None:
    from tensorflow.python.framework import config

    first, again, other = draws(3), draws(3), draws(4)
    assert first == again
    assert all(a != b for a, b in zip(first, other, strict=True))
    assert config.is_op_determinism_enabled()


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_bad_seeds_are_refused(seed: object) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        seed_everything(seed)  # type: ignore[arg-type]
