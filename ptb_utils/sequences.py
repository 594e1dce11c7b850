"""The delayed recall task, and the one protocol that chapters 4 and 5 train on it with.

Chapters 4 and 5 train a simple RNN, an LSTM and a GRU on the same *delayed recall* task
and plot accuracy against the lag. Each sequence shows ``lag + 1`` symbols from an alphabet
of ``n_symbols``; the first one carries a "remember this" flag, and after the last step the
network must name the flagged symbol. The ``lag`` symbols that follow are drawn from the
same alphabet, independently of the answer: they look like targets but carry no
information about it, so a network that cannot hold the first symbol for ``lag`` steps
(and shield it from what follows) scores chance, ``1 / n_symbols``.

:class:`RecallProtocol` fixes everything about training except the recurrent layer: the
optimizer, the batches (fresh sequences for every update, so there is no training set to
overfit), the budget and the stopping rule. :func:`recall_runs` trains one fresh network per
seed under it. Both chapters use it, so their curves are comparable run for run: the same
layer, lag and seed give the same network in either chapter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import keras
import numpy as np
import tensorflow as tf
from matplotlib.axes import Axes

#: Seeds of the validation and test sequences: the same for every run, layer and seed.
VALID_SEED, TEST_SEED = 1_000_001, 1_000_002


def recall_task(
    n_sequences: int,
    lag: int,
    n_symbols: int = 4,
    seed: int | np.random.Generator = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Sequences for the delayed recall task.

    Returns ``(x, y)``:

    - ``x``: float32 array of shape ``(n_sequences, lag + 1, n_symbols + 1)``. Columns
      ``0 .. n_symbols - 1`` one-hot encode the symbol shown at each step; the last column
      is the flag, 1 at step 0 and 0 at every later step.
    - ``y``: int32 array of shape ``(n_sequences,)``, the symbol shown at step 0, uniform
      over ``0 .. n_symbols - 1``.

    The same integer ``seed`` gives the same arrays; draw a training set and a test set from
    two different seeds. A ``numpy.random.Generator`` is drawn from (and advanced), which is
    how a training run gets a fresh batch for every update.
    """
    for name, value, least in (
        ("n_sequences", n_sequences, 1),
        ("lag", lag, 0),
        ("n_symbols", n_symbols, 2),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, n_symbols, size=(n_sequences, lag + 1))
    x = np.zeros((n_sequences, lag + 1, n_symbols + 1), dtype=np.float32)
    x[..., :n_symbols] = np.eye(n_symbols, dtype=np.float32)[symbols]
    x[:, 0, n_symbols] = 1.0
    return x, symbols[:, 0].astype(np.int32)


def recall_batches(
    n_batches: int,
    batch_size: int,
    lag: int,
    n_symbols: int = 4,
    seed: int | np.random.Generator = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``n_batches`` batches of the recall task at once, for a compiled loop over updates.

    Returns ``x`` of shape ``(n_batches, batch_size, lag + 1, n_symbols + 1)`` and ``y`` of
    shape ``(n_batches, batch_size)``: :func:`recall_task` with ``n_batches * batch_size``
    sequences, cut into batches. A compiled loop that takes several updates' batches in one
    call ran these small networks about twice as fast on the book's 2-core CPU as one call
    per update, whose Python overhead dominates.
    """
    x, y = recall_task(n_batches * batch_size, lag, n_symbols, seed)
    return x.reshape(n_batches, batch_size, *x.shape[1:]), y.reshape(n_batches, batch_size)


@dataclass(frozen=True)
class RecallProtocol:
    """How every network is trained on the recall task, whatever its recurrent layer.

    Each update draws ``batch_size`` new sequences and takes one Adam step of size
    ``learning_rate`` on the mean cross-entropy, the gradients clipped to global norm
    ``clip_norm``. Every ``eval_every`` updates the network is scored on ``n_valid`` fixed
    validation sequences; training stops as soon as it gets a fraction ``solved_at`` of them
    right (the run *solved* the task) or after ``max_updates`` updates (it did not). The
    reported accuracy is on ``n_test`` further fixed sequences.
    """

    batch_size: int = 64
    learning_rate: float = 0.01
    clip_norm: float = 1.0
    max_updates: int = 1000
    eval_every: int = 50
    solved_at: float = 0.99
    n_valid: int = 1000
    n_test: int = 1000

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_updates", "eval_every", "n_valid", "n_test"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"RecallProtocol.{name} must be an integer >= 1, got {value!r}")
        for name in ("learning_rate", "clip_norm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"RecallProtocol.{name} must be > 0, got {getattr(self, name)!r}")
        if not 0 < self.solved_at <= 1:
            raise ValueError(f"RecallProtocol.solved_at must be in (0, 1], got {self.solved_at!r}")
        if self.max_updates % self.eval_every:
            raise ValueError(
                f"RecallProtocol.max_updates ({self.max_updates}) must be a multiple of "
                f"eval_every ({self.eval_every})"
            )


@dataclass(frozen=True)
class RecallRun:
    """One trained network: its seed, test accuracy, whether and when it solved the task.

    ``curve`` holds the validation accuracy after every ``eval_every`` updates, in order.
    """

    lag: int
    seed: int
    test_accuracy: float
    solved: bool
    updates: int
    curve: tuple[float, ...]


class RecallTrainer:
    """One model, one optimizer and one compiled training loop for a (layer, lag), per seed.

    The loop over ``eval_every`` updates and the scoring are compiled with XLA
    (``jit_compile=True``), TensorFlow's compiler for whole computations. XLA compiles once
    per input shape; re-initialising the weights and the optimizer for each seed, instead of
    building a new model, keeps that to one compilation per lag. A run from a reused trainer
    equals a run from a fresh one (tested).
    """

    def __init__(
        self,
        make_layer: Callable[[], keras.layers.Layer],
        lag: int,
        protocol: RecallProtocol,
        n_symbols: int = 4,
    ) -> None:
        self.make_layer, self.lag, self.n_symbols = make_layer, lag, n_symbols
        self.protocol = protocol
        self.model = self.build()
        self.optimizer = keras.optimizers.Adam(
            protocol.learning_rate, global_clipnorm=protocol.clip_norm
        )
        self.optimizer.build(self.model.trainable_variables)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model, optimizer = self.model, self.optimizer

        @tf.function(jit_compile=True)
        def train(xs, ys):  # one update per batch xs[k], ys[k], in order
            for k in tf.range(tf.shape(xs)[0]):
                with tf.GradientTape() as tape:
                    loss = loss_fn(ys[k], model(xs[k], training=True))
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))

        @tf.function(jit_compile=True)
        def accuracy(x, y):
            guess = tf.argmax(model(x), axis=-1, output_type=tf.int32)
            return tf.reduce_mean(tf.cast(guess == y, tf.float32))

        self.train, self.accuracy = train, accuracy
        self.valid = recall_task(protocol.n_valid, lag, n_symbols, seed=VALID_SEED)
        self.test = recall_task(protocol.n_test, lag, n_symbols, seed=TEST_SEED)

    def build(self) -> keras.Model:
        """The network: the recurrent layer, then a dense layer giving one logit per symbol."""
        return keras.Sequential(
            [
                keras.Input((self.lag + 1, self.n_symbols + 1)),
                self.make_layer(),
                keras.layers.Dense(self.n_symbols),
            ]
        )

    def run(self, seed: int, max_updates: int | None = None) -> RecallRun:
        """Train from the initial weights and batches that ``seed`` gives; score the result.

        ``max_updates`` overrides the protocol's budget (a multiple of ``eval_every``).
        """
        keras.utils.set_random_seed(seed)
        self.model.set_weights(self.build().get_weights())  # a fresh network's weights
        for variable in self.optimizer.variables:  # a fresh optimizer: step count, moments 0
            if variable is not self.optimizer.learning_rate:
                variable.assign(tf.zeros_like(variable))
        p, batches = self.protocol, np.random.default_rng([seed, self.lag])
        budget = p.max_updates if max_updates is None else max_updates
        curve: list[float] = []
        solved = False
        while len(curve) * p.eval_every < budget and not solved:
            xs, ys = recall_batches(p.eval_every, p.batch_size, self.lag, self.n_symbols, batches)
            self.train(xs, ys)
            curve.append(float(self.accuracy(*self.valid)))  # after every eval_every updates
            solved = curve[-1] >= p.solved_at
        return RecallRun(
            lag=self.lag,
            seed=seed,
            test_accuracy=float(self.accuracy(*self.test)),
            solved=solved,
            updates=len(curve) * p.eval_every,
            curve=tuple(curve),
        )


@dataclass(frozen=True)
class RecallCurve:
    """The runs of one kind of layer at several lags: ``runs[i][j]`` is lag ``i``, seed ``j``."""

    runs: tuple[tuple[RecallRun, ...], ...]

    @property
    def lags(self) -> list[int]:
        return [row[0].lag for row in self.runs]

    @property
    def accuracy(self) -> np.ndarray:
        """Test accuracy, shape ``(lags, seeds)``."""
        return np.array([[run.test_accuracy for run in row] for row in self.runs])

    @property
    def solved(self) -> np.ndarray:
        """Whether each run solved the task within the budget, shape ``(lags, seeds)``."""
        return np.array([[run.solved for run in row] for row in self.runs])

    @property
    def updates(self) -> np.ndarray:
        """Updates each run took (the budget where it did not solve), shape ``(lags, seeds)``."""
        return np.array([[run.updates for run in row] for row in self.runs])

    def plot(self, ax: Axes, label: str, color: str, marker: str = "o", shift: float = 1.0) -> None:
        """Median test accuracy against lag, the range over seeds as a band, every seed a dot.

        ``shift`` multiplies the lags of the dots, so that several kinds drawn on one
        logarithmic lag axis do not hide each other's seeds.
        """
        lags, acc = np.array(self.lags), self.accuracy
        ax.fill_between(lags, acc.min(axis=1), acc.max(axis=1), color=color, alpha=0.15, lw=0)
        ax.plot(lags, np.median(acc, axis=1), color=color, marker=marker, label=f"{label}, median")
        ax.plot(
            np.repeat(lags * shift, acc.shape[1]),
            acc.ravel(),
            marker,
            color=color,
            alpha=0.45,
            ms=4,
            ls="none",
        )


def recall_runs(
    make_layer: Callable[[], keras.layers.Layer],
    lags: Sequence[int],
    seeds: Sequence[int],
    protocol: RecallProtocol | None = None,
    n_symbols: int = 4,
) -> RecallCurve:
    """Train one fresh network per lag and seed under ``protocol``.

    ``make_layer()`` returns a new recurrent layer (``keras.layers.SimpleRNN(16)``, ...),
    whose last output feeds a dense layer with one logit per symbol. ``seed`` decides the
    initial weights and the training batches; the validation and test sequences are the
    same for every run of a lag.
    """
    protocol = protocol or RecallProtocol()
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed, e.g. range(5)")
    runs = []
    for lag in lags:
        if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 1:
            raise ValueError(f"every lag must be an integer >= 1, got {lag!r}")
        trainer = _trainer(make_layer, int(lag), protocol, n_symbols)
        runs.append(tuple(trainer.run(int(seed), protocol.max_updates) for seed in seeds))
    return RecallCurve(tuple(runs))


_TRAINERS: dict[tuple, RecallTrainer] = {}


def _trainer(
    make_layer: Callable[[], keras.layers.Layer], lag: int, protocol: RecallProtocol, n_symbols: int
) -> RecallTrainer:
    """The compiled trainer for these arguments, built once per process: runs that differ only
    in their budget (a control with a larger one) share it and its compilation."""
    key = (make_layer, lag, replace(protocol, max_updates=protocol.eval_every), n_symbols)
    if key not in _TRAINERS:
        _TRAINERS[key] = RecallTrainer(make_layer, lag, protocol, n_symbols)
    return _TRAINERS[key]
