"""One call that makes a chapter's random numbers repeat from run to run.

A chapter draws random numbers from up to four places: Python's ``random``, NumPy, the Keras
backend (weights, dropout masks, ``keras.random``) and TensorFlow (``tf.data`` shuffling,
and the backend itself when it is TensorFlow). Seeding all of them is not quite enough:
some TensorFlow kernels add floating-point numbers in whatever order threads finish, so the
same seed can still give results that differ in the last digits, and after a few epochs in
the printed ones. :func:`seed_everything` seeds everything and switches TensorFlow to its
deterministic kernels, so that the same notebook at the same parameters on the same
machine prints the same numbers. TensorFlow is optional: on a machine that has only JAX
(Keras' JAX backend) the rest is seeded all the same.
"""

from __future__ import annotations

import numpy as np


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy, Keras and TensorFlow with ``seed``; turn on deterministic ops.

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed``, for the chapter's own
    draws (``rng = seed_everything(seed)``). Deterministic ops stay on for the rest of the
    process; TensorFlow then refuses the few operations that have no deterministic kernel,
    rather than silently giving a different answer each run. Raises ``ValueError`` for a
    seed that is not a non-negative integer.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    import keras

    keras.utils.set_random_seed(seed)  # Python, NumPy, the backend and TensorFlow
    try:
        import tensorflow as tf
    except ImportError:  # a machine with JAX only (the GPU machines): nothing more to do
        return np.random.default_rng(seed)
    tf.config.experimental.enable_op_determinism()
    return np.random.default_rng(seed)
