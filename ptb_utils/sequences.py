"""Synthetic sequence tasks that probe how far back a recurrent network can remember.

Chapters 4 and 5 train a simple RNN, an LSTM and a GRU on the same *delayed recall* task
and plot accuracy against the lag. Each sequence shows ``lag + 1`` symbols from an alphabet
of ``n_symbols``; the first one carries a "remember this" flag, and after the last step the
network must name the flagged symbol. The ``lag`` symbols that follow are drawn from the
same alphabet, independently of the answer: they look like targets but carry no
information about it, so a network that cannot hold the first symbol for ``lag`` steps
(and shield it from what follows) scores chance, ``1 / n_symbols``.
"""

from __future__ import annotations

import numpy as np


def recall_task(
    n_sequences: int,
    lag: int,
    n_symbols: int = 4,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Sequences for the delayed recall task.

    Returns ``(x, y)``:

    - ``x``: float32 array of shape ``(n_sequences, lag + 1, n_symbols + 1)``. Columns
      ``0 .. n_symbols - 1`` one-hot encode the symbol shown at each step; the last column
      is the flag, 1 at step 0 and 0 at every later step.
    - ``y``: int32 array of shape ``(n_sequences,)``, the symbol shown at step 0, uniform
      over ``0 .. n_symbols - 1``.

    The same ``seed`` gives the same arrays; draw a training set and a test set from two
    different seeds.
    """
    for name, value, least in (("n_sequences", n_sequences, 1), ("lag", lag, 0),
                               ("n_symbols", n_symbols, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, n_symbols, size=(n_sequences, lag + 1))
    x = np.zeros((n_sequences, lag + 1, n_symbols + 1), dtype=np.float32)
    x[..., :n_symbols] = np.eye(n_symbols, dtype=np.float32)[symbols]
    x[:, 0, n_symbols] = 1.0
    return x, symbols[:, 0].astype(np.int32)
