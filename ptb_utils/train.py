"""Training and evaluation of the PTB language model: truncated BPTT, SGD, checkpoints.

One epoch walks the ``[batch_size, num_steps]`` windows of :func:`ptb_utils.data.ptb_batches`
in order, feeding each window the LSTM state the previous one ended in (the state starts at
zero each epoch). After each window, plain SGD takes one step on the tutorial's loss::

    loss = sum over the num_steps time steps of the mean (over the batch) cross-entropy
         = num_steps * mean cross-entropy per word

with the gradient clipped to global norm ``max_grad_norm``. Averaging over the words instead
would only scale the gradient by ``1 / num_steps``; ``SGD(lr * num_steps, clip max_grad_norm /
num_steps)`` on the mean gives the same updates (``tests/test_train.py`` checks it).

Only the gradient step depends on the backend: ``tf.GradientTape`` in a ``tf.function``
(XLA-compiled) under TensorFlow, ``jax.value_and_grad`` over ``model.stateless_call`` under JAX.
Both run ``windows_per_call`` consecutive windows per compiled call, carrying the state, so that
Python runs once per several windows instead of once per window. Everything else (data,
learning-rate schedule, evaluation, checkpoints, history) is shared.
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from ptb_utils.config import Config
from ptb_utils.data import PTB, batchify, epoch_size
from ptb_utils.metrics import perplexity
from ptb_utils.model import PTBModel, State, build_model

CHECKPOINT = "checkpoint.npz"
HISTORY = "history.csv"
METRICS = "metrics.json"
#: A mean loss above this many nats per word counts as diverged (``exp`` overflows past 709).
MAX_NLL = 700.0
HISTORY_FIELDS = ("epoch", "lr", "train_ppl", "valid_ppl", "words_per_sec", "wall_time_s")


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the last checkpoint on disk is left untouched."""


def make_optimizer(config: Config) -> keras.optimizers.SGD:
    """Plain SGD with the tutorial's global-norm clipping, built for the summed loss."""
    return keras.optimizers.SGD(config.learning_rate, global_clipnorm=config.max_grad_norm)


def sequence_nll(targets, logits):
    """Mean negative log-likelihood per word (nats) of ``targets [B, T]`` under ``logits``."""
    return keras.ops.mean(
        keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    )


def windows(ids: np.ndarray, batch_size: int, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """All of a split's windows at once: ``x, y`` int32 ``[num_windows, batch_size, num_steps]``.

    Window ``i`` is exactly the ``i``-th pair of :func:`ptb_utils.data.ptb_batches`.
    """
    n = epoch_size(len(ids), batch_size, num_steps)
    data = batchify(ids, batch_size)
    x = data[:, : n * num_steps].reshape(batch_size, n, num_steps).transpose(1, 0, 2)
    y = data[:, 1 : n * num_steps + 1].reshape(batch_size, n, num_steps).transpose(1, 0, 2)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


# --- the backend-specific part: run k windows in one compiled call -----------------------


class _TensorFlowSteps:
    """Compiled ``train(xs, ys, count, state)`` / ``evaluate(...)`` for the TensorFlow backend.

    ``xs, ys`` are ``[k, B, T]``; only the first ``count`` windows are used (the last chunk of
    an epoch is padded to ``k`` so that one compiled program serves every call). Both return
    the final state and the mean NLL per word of each window, ``[k]``.
    """

    def __init__(self, model: PTBModel, optimizer, jit_compile: bool):
        import tensorflow as tf

        steps = model.config.num_steps

        def train(xs, ys, count, state):
            nlls = tf.zeros([tf.shape(xs)[0]])
            for i in tf.range(count):
                with tf.GradientTape() as tape:
                    logits, state = model(xs[i], state, training=True)
                    nll = sequence_nll(ys[i], logits)
                    loss = nll * steps  # the tutorial's cost: summed over time steps
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply(grads, model.trainable_variables)
                nlls = tf.tensor_scatter_nd_update(nlls, [[i]], [nll])
            return state, nlls

        def evaluate(xs, ys, count, state):
            nlls = tf.zeros([tf.shape(xs)[0]])
            for i in tf.range(count):
                logits, state = model(xs[i], state, training=False)
                nlls = tf.tensor_scatter_nd_update(nlls, [[i]], [sequence_nll(ys[i], logits)])
            return state, nlls

        self.train = tf.function(train, jit_compile=jit_compile)
        self.evaluate = tf.function(evaluate, jit_compile=jit_compile)

    def begin(self) -> None:
        """Nothing to do: TensorFlow updates the model's variables in place."""

    def end(self) -> None:
        """Nothing to do (see :meth:`begin`)."""


class _JaxSteps:
    """The same two functions for the JAX backend, on explicit variable values.

    JAX functions are pure, so the variables live as arrays here between :meth:`begin` (read
    from the model) and :meth:`end` (written back to the model).
    """

    def __init__(self, model: PTBModel, optimizer, jit_compile: bool):
        import jax

        steps = model.config.num_steps
        self.model, self.optimizer = model, optimizer

        def loss_fn(tv, ntv, x, y, state):
            (logits, state), ntv = model.stateless_call(tv, ntv, x, state, training=True)
            nll = sequence_nll(y, logits)
            return nll * steps, (nll, state, ntv)

        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

        def train(tv, ntv, ov, xs, ys, count, state):
            def body(i, carry):
                tv, ntv, ov, state, nlls = carry
                (_, (nll, state, ntv)), grads = grad_fn(tv, ntv, xs[i], ys[i], state)
                tv, ov = optimizer.stateless_apply(ov, grads, tv)
                return tv, ntv, ov, state, nlls.at[i].set(nll)

            nlls = jax.numpy.zeros(xs.shape[0])
            return jax.lax.fori_loop(0, count, body, (tv, ntv, ov, state, nlls))

        def evaluate(tv, ntv, xs, ys, count, state):
            def body(i, carry):
                state, nlls = carry
                (logits, state), _ = model.stateless_call(tv, ntv, xs[i], state)
                return state, nlls.at[i].set(sequence_nll(ys[i], logits))

            return jax.lax.fori_loop(0, count, body, (state, jax.numpy.zeros(xs.shape[0])))

        wrap = jax.jit if jit_compile else (lambda f: f)
        self._train, self._evaluate = wrap(train), wrap(evaluate)
        self.begin()

    def begin(self) -> None:
        """Read the model's and the optimizer's variables (after a load or an lr change)."""
        self.tv = [v.value for v in self.model.trainable_variables]
        self.ntv = [v.value for v in self.model.non_trainable_variables]
        self.ov = [v.value for v in self.optimizer.variables] if self.optimizer else []

    def end(self) -> None:
        """Write the trained values back into the model's and the optimizer's variables."""
        optimizer_variables = self.optimizer.variables if self.optimizer else []
        pairs = zip(self.model.trainable_variables + self.model.non_trainable_variables
                    + optimizer_variables, self.tv + self.ntv + self.ov, strict=True)
        for variable, value in pairs:
            variable.assign(value)

    def train(self, xs, ys, count, state):
        self.tv, self.ntv, self.ov, state, nlls = self._train(
            self.tv, self.ntv, self.ov, xs, ys, count, state)
        return state, nlls

    def evaluate(self, xs, ys, count, state):
        return self._evaluate(self.tv, self.ntv, xs, ys, count, state)


def make_steps(model: PTBModel, optimizer, jit_compile: bool = True):
    """The compiled train/evaluate functions for ``keras.backend.backend()``."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _TensorFlowSteps(model, optimizer, jit_compile)
    if backend == "jax":
        return _JaxSteps(model, optimizer, jit_compile)
    raise RuntimeError(
        f"the Keras backend is {backend!r}; this engine supports 'tensorflow' and 'jax' "
        f"(set KERAS_BACKEND before importing keras)"
    )


# --- one pass over a split ---------------------------------------------------------------


def _run_split(
    run: Callable, x: np.ndarray, y: np.ndarray, state: State, k: int,
    bar: tqdm | None = None, on_chunk: Callable[[int, np.ndarray], None] | None = None,
) -> tuple[float, int, State]:
    """Feed windows ``x, y [n, B, T]`` through ``run`` ``k`` at a time; sum the NLL.

    Returns ``(total NLL in nats, number of target words, final state)``.
    """
    n, batch, steps = x.shape
    total = 0.0
    for start in range(0, n, k):
        count = min(k, n - start)
        xs, ys = x[start : start + k], y[start : start + k]
        if count < k:  # pad so the compiled program's shapes never change
            pad = ((0, k - count), (0, 0), (0, 0))
            xs, ys = np.pad(xs, pad), np.pad(ys, pad)
        state, nlls = run(xs, ys, np.int32(count), state)
        nlls = np.asarray(nlls)[:count]
        if on_chunk is not None:
            on_chunk(start, nlls)
        total += float(nlls.sum()) * batch * steps
        if bar is not None:
            bar.update(count)
            mean = total / ((start + count) * batch * steps)
            bar.set_postfix(ppl=f"{math.exp(min(mean, 700)):.1f}")
    return total, n * batch * steps, state


def evaluate(
    model: PTBModel, ids: np.ndarray, batch_size: int | None = None, num_steps: int | None = None,
    steps=None, windows_per_call: int = 50, progress: bool = False,
) -> float:
    """Perplexity of ``model`` on the id vector ``ids`` (a whole split), state carried.

    The split is cut into ``batch_size`` rows read ``num_steps`` words at a time (default:
    the model's training shape) and every target word is scored once:
    ``exp(total NLL / number of target words)``.

    How this compares with the tutorial: it scored validation with the training shape and
    test with ``batch_size=1, num_steps=1``. With ``batch_size=1`` the state runs through the
    whole text, so *any* ``num_steps`` gives the tutorial's test number except for the last
    ``< num_steps`` words (dropped because they do not fill a window): use ``batch_size=1``
    for the published comparison. More rows (e.g. 20) score the same words but restart from
    a zero state at each of the 20 row starts; for the book's trained small model that moved
    the test perplexity from 114.59 (batch 1) to 114.77 (batch 20), by 0.16%.
    """
    config = model.config
    batch_size, num_steps = batch_size or config.batch_size, num_steps or config.num_steps
    steps = steps or make_steps(model, None)
    x, y = windows(ids, batch_size, num_steps)
    bar = tqdm(total=len(x), desc="evaluate", unit="win", leave=False, disable=not progress,
               mininterval=5)
    with bar:
        total, words, _ = _run_split(
            steps.evaluate, x, y, model.zero_state(batch_size), windows_per_call, bar
        )
    if not math.isfinite(total):
        raise TrainingDiverged("the evaluation loss is NaN or infinite: the weights are broken")
    return perplexity(total, words)


# --- checkpoints and history ---------------------------------------------------------------


def _variables(model: PTBModel, optimizer) -> list:
    """Everything a resumed run needs: weights, dropout seed states, SGD step and lr."""
    return model.trainable_variables + model.non_trainable_variables + optimizer.variables


def save_checkpoint(path: str | os.PathLike, model: PTBModel, optimizer, meta: dict) -> None:
    """Write all variables and ``meta`` (JSON-able) to ``path`` atomically.

    The file is written under a temporary name in the same folder and then renamed, so an
    interruption at any moment leaves either the old or the new checkpoint, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"v{i}": keras.ops.convert_to_numpy(v) for i, v in
              enumerate(_variables(model, optimizer))}
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as f:
        np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(f.name, path)


def load_checkpoint(path: str | os.PathLike, model: PTBModel, optimizer) -> dict:
    """Restore variables saved by :func:`save_checkpoint`; returns its ``meta`` dict."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}: train first (python -m ptb_utils train --out DIR), "
            f"or point --out at the folder of an earlier run"
        )
    with np.load(path) as f:
        meta = json.loads(str(f["meta"]))
        if meta["config"] != model.config.to_dict():
            raise ValueError(f"{path} was trained with config {meta['config']}, not "
                             f"{model.config.to_dict()}; resume with the same config")
        variables = _variables(model, optimizer)
        if len(f.files) - 1 != len(variables):
            raise ValueError(
                f"{path} holds {len(f.files) - 1} variables but this model has {len(variables)}:"
                f" it was saved with another config ({meta.get('config')})"
            )
        for i, v in enumerate(variables):
            if tuple(f[f"v{i}"].shape) != tuple(v.shape):
                raise ValueError(f"{path}: variable {v.path} has shape {f[f'v{i}'].shape}, "
                                 f"the model expects {tuple(v.shape)}; was it another config?")
            v.assign(f[f"v{i}"])
    return meta


def write_history(path: str | os.PathLike, history: list[dict]) -> None:
    """Write the per-epoch records as CSV (atomically, like checkpoints)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False,
                                     newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_FIELDS)
        writer.writeheader()
        writer.writerows(history)
    os.replace(f.name, path)


def summarize(history: list[dict], **about: object) -> dict:
    """The headline numbers of a finished run, as ``metrics.json`` records them.

    ``about`` names what produced the run (config, seed, ...) and may add scores computed
    after training (e.g. ``test_ppl_batch1``); the rest comes from the per-epoch ``history``.
    """
    if not history:
        raise ValueError("the history is empty: no epoch has finished")
    last = history[-1]
    return {
        **about,
        "epochs": last["epoch"],
        "epoch1_valid_ppl": history[0]["valid_ppl"],
        "train_ppl": last["train_ppl"],
        "valid_ppl": last["valid_ppl"],
        "wall_time_s": last["wall_time_s"],
        "words_per_sec_median": float(np.median([r["words_per_sec"] for r in history])),
    }


def write_metrics(directory: str | os.PathLike, metrics: dict) -> Path:
    """Write ``metrics`` to ``directory/metrics.json`` (atomically, like the history)."""
    path = Path(directory) / METRICS
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as f:
        f.write(json.dumps(metrics, indent=2) + "\n")
    os.replace(f.name, path)
    return path


# --- the training loop ---------------------------------------------------------------------


@dataclass
class TrainResult:
    """What :func:`train` returns: the model, its history and where things were written."""

    model: PTBModel
    history: list[dict] = field(default_factory=list)
    checkpoint: Path | None = None


def train(
    config: Config,
    corpus: PTB,
    out: str | os.PathLike | None = None,
    *,
    epochs: int | None = None,
    max_batches: int | None = None,
    resume: bool = False,
    seed: int = 0,
    history_dir: str | os.PathLike | None = None,
    progress: bool = True,
    callback: Callable[[dict], None] | None = None,
    windows_per_call: int = 10,
    jit_compile: bool = True,
) -> TrainResult:
    """Train the tutorial's model on ``corpus`` and return it with its per-epoch history.

    - ``epochs``: total number of epochs (default ``config.max_max_epoch``); with ``resume``
      training continues from the checkpoint in ``out`` up to this total.
    - ``max_batches``: stop each epoch after this many windows (quick runs); validation
      still covers the whole split.
    - ``out``: folder for ``checkpoint.npz`` (rewritten atomically after every epoch) and,
      unless ``history_dir`` is given, ``history.csv``. ``None`` writes nothing.
    - ``callback(record)`` is called after each epoch with the history record (a dict with
      the fields of ``HISTORY_FIELDS``).
    - ``windows_per_call``: windows run per compiled call (speed only; results are equal).

    Raises :class:`TrainingDiverged` (naming the epoch and window) as soon as a window's loss
    is NaN, infinite or above ``MAX_NLL``; the checkpoint of the last finished epoch is left
    as it was.
    """
    epochs = config.max_max_epoch if epochs is None else epochs
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if max_batches is not None and max_batches < 1:
        raise ValueError(f"max_batches must be >= 1, got {max_batches}")
    if len(corpus.vocab) != config.vocab_size:
        raise ValueError(f"the corpus has {len(corpus.vocab)} words but config.vocab_size is "
                         f"{config.vocab_size}; override vocab_size to match")
    keras.utils.set_random_seed(seed)
    model = build_model(config, seed=seed)
    optimizer = make_optimizer(config)
    optimizer.build(model.trainable_variables)
    ckpt = Path(out) / CHECKPOINT if out is not None else None
    hist_path = Path(history_dir or out) / HISTORY if (history_dir or out) is not None else None
    history: list[dict] = []
    first_epoch, wall_before = 0, 0.0
    if resume:
        if ckpt is None:
            raise ValueError("resume=True needs out, the folder holding checkpoint.npz")
        meta = load_checkpoint(ckpt, model, optimizer)
        first_epoch, history = meta["epoch"], meta["history"]
        wall_before = history[-1]["wall_time_s"] if history else 0.0
    steps = make_steps(model, optimizer, jit_compile)
    x, y = windows(corpus.train, config.batch_size, config.num_steps)
    if max_batches is not None:
        x, y = x[:max_batches], y[:max_batches]
    start_time = time.perf_counter()
    for epoch in range(first_epoch, epochs):
        lr = config.lr_at(epoch)
        optimizer.learning_rate.assign(lr)
        steps.begin()
        t0 = time.perf_counter()

        def check(start: int, nlls: np.ndarray, epoch: int = epoch) -> None:
            # NaN, inf, or so large (> 700 nats per word) that the perplexity overflows
            bad = np.flatnonzero(~(nlls < MAX_NLL))
            if bad.size:
                raise TrainingDiverged(
                    f"the loss became {nlls[bad[0]]:.3g} at epoch {epoch + 1}, window "
                    f"{start + bad[0] + 1} of {len(x)}. Lower the learning rate or "
                    f"max_grad_norm (e.g. --set learning_rate=0.5); the last checkpoint "
                    f"({ckpt}) is from the last finished epoch."
                )

        bar = tqdm(total=len(x), desc=f"epoch {epoch + 1}/{epochs}", unit="win",
                   disable=not progress, leave=True, mininterval=5)
        with bar:
            total, words, _ = _run_split(
                steps.train, x, y, model.zero_state(config.batch_size), windows_per_call, bar,
                on_chunk=check,
            )
        seconds = time.perf_counter() - t0
        steps.end()
        record = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_ppl": perplexity(total, words),
            "valid_ppl": evaluate(model, corpus.valid, steps=steps, progress=progress),
            "words_per_sec": words / seconds,
            "wall_time_s": wall_before + time.perf_counter() - start_time,
        }
        history.append(record)
        if ckpt is not None:
            meta = {"epoch": epoch + 1, "config": config.to_dict(), "seed": seed,
                    "backend": keras.backend.backend(), "history": history}
            save_checkpoint(ckpt, model, optimizer, meta)
        if hist_path is not None:
            write_history(hist_path, history)
        if callback is not None:
            callback(record)
        elif progress:
            tqdm.write(f"epoch {epoch + 1}: lr {lr:.4g}  train ppl {record['train_ppl']:.2f}  "
                       f"valid ppl {record['valid_ppl']:.2f}  "
                       f"{record['words_per_sec']:.0f} words/s")
    return TrainResult(model=model, history=history, checkpoint=ckpt)


def load_model(out: str | os.PathLike, config: Config | None = None) -> PTBModel:
    """The model saved in ``out/checkpoint.npz`` (its config is read from the checkpoint)."""
    path = Path(out) / CHECKPOINT if Path(out).is_dir() else Path(out)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: train first with "
                                f"'python -m ptb_utils train --out {out}'")
    if config is None:
        with np.load(path) as f:
            config = Config(**json.loads(str(f["meta"]))["config"])
    model = build_model(config)
    optimizer = make_optimizer(config)
    optimizer.build(model.trainable_variables)
    load_checkpoint(path, model, optimizer)
    return model
