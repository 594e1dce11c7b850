"""Training and evaluation of the PTB language model: truncated BPTT with the tutorial's SGD.

One epoch walks the ``[batch_size, num_steps]`` windows of :func:`ptb_utils.data.windows` in
order, feeding each window the LSTM state the previous one ended in (the state starts at zero
each epoch), and takes the tutorial's update after each one: loss, gradient, clip by global
norm, SGD step (:mod:`ptb_utils.steps`, one function per backend). The learning rate of each
epoch follows the config's schedule. After each epoch the model is scored on the validation
split and the run's files are rewritten (:mod:`ptb_utils.runs`: the checkpoint and the
history, each written whole, in a folder locked against a second process), so an interrupted
run loses at most the epoch in progress and continues with ``resume=True``.

The tutorial's loss is the sum over the ``num_steps`` time steps of the mean (over the batch)
cross-entropy, ``num_steps`` times the mean per word. Averaging over the words instead would
only scale the gradient by ``1 / num_steps``: ``SGD(lr * num_steps, clip max_grad_norm /
num_steps)`` on the mean gives the same updates (``tests/test_train.py`` checks it).
"""

from __future__ import annotations

import math
import numbers
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from ptb_utils.config import Config, describe, differences
from ptb_utils.data import PTB, epoch_size, windows
from ptb_utils.metrics import perplexity
from ptb_utils.model import PTBModel, State, build_model
from ptb_utils.runs import (
    CHECKPOINT,
    HISTORY,
    CheckpointError,
    claim,
    is_published_run,
    lock_folders,
    read_checkpoint,
    summarize,
    write_checkpoint,
    write_history,
    write_metrics,
)
from ptb_utils.steps import PRECISIONS, Steps, accelerator, make_steps, sequence_nll

__all__ = [
    "MAX_NLL",
    "TrainResult",
    "TrainingDiverged",
    "estimate_seconds",
    "evaluate",
    "load_checkpoint",
    "load_model",
    "make_optimizer",
    "run_windows",
    "save_checkpoint",
    "train",
    # where chapter 7 imports them from
    "sequence_nll",
    "summarize",
    "windows",
    "write_metrics",
]

#: A mean loss above this many nats per word counts as diverged (``exp`` overflows past 709).
MAX_NLL = 700.0


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the last checkpoint on disk is left untouched."""


def make_optimizer(config: Config) -> keras.optimizers.SGD:
    """The engine's update as a Keras optimizer: SGD with global-norm clipping.

    The engine writes this step out itself (:func:`ptb_utils.steps.tensorflow_update`);
    chapter 7 shows that the optimizer's step and the written-out one agree.
    """
    return keras.optimizers.SGD(config.learning_rate, global_clipnorm=config.max_grad_norm)


def _check_positive(**values: object) -> None:
    for name, value in values.items():
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
        ):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


# --- one pass over a split --------------------------------------------------------------------


def run_windows(
    run: Callable,
    x: np.ndarray,
    y: np.ndarray,
    state: State,
    k: int,
    bar: tqdm | None = None,
    on_chunk: Callable[[int, np.ndarray], None] | None = None,
) -> tuple[float, int, State]:
    """Feed windows ``x, y [n, B, T]`` through ``run`` (a :class:`Steps` pass) ``k`` at a time.

    ``on_chunk(start, nlls)`` sees each chunk's per-window mean NLLs. Returns ``(total NLL in
    nats, number of target words, final state)``.
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
            bar.set_postfix(ppl=f"{math.exp(min(mean, MAX_NLL)):.1f}")
    return total, n * batch * steps, state


def evaluate(
    model: PTBModel,
    ids: np.ndarray,
    batch_size: int | None = None,
    num_steps: int | None = None,
    steps: Steps | None = None,
    windows_per_call: int = 50,
    progress: bool = False,
    max_batches: int | None = None,
    precision: str = "float32",
) -> float:
    """Perplexity of ``model`` on the id vector ``ids`` (a whole split), state carried.

    The split is cut into ``batch_size`` rows read ``num_steps`` words at a time (default:
    the model's training shape) and every target word is scored once:
    ``exp(total NLL / number of target words)``. ``max_batches`` scores only the first windows
    (a quick estimate).

    How this compares with the tutorial: it scored validation with the training shape and
    test with ``batch_size=1, num_steps=1``. With ``batch_size=1`` the state runs through the
    whole text, so *any* ``num_steps`` gives the tutorial's test number except for the last
    ``< num_steps`` words (dropped because they do not fill a window): use ``batch_size=1``
    for the published comparison. More rows (e.g. 20) score the same words but restart from
    a zero state at each of the 20 row starts; for the book's trained small model that moved
    the test perplexity from 114.59 (batch 1) to 114.77 (batch 20), by 0.16%.
    """
    _check_positive(
        batch_size=batch_size,
        num_steps=num_steps,
        max_batches=max_batches,
        windows_per_call=windows_per_call,
    )
    config = model.config
    batch_size, num_steps = batch_size or config.batch_size, num_steps or config.num_steps
    steps = steps or make_steps(model, precision=precision)
    x, y = windows(ids, batch_size, num_steps)
    x, y = x[:max_batches], y[:max_batches]
    bar = tqdm(
        total=len(x), desc="evaluate", unit="win", leave=False, disable=not progress, mininterval=5
    )
    with bar:
        total, words, _ = run_windows(
            steps.evaluate, x, y, model.zero_state(batch_size), windows_per_call, bar
        )
    if not math.isfinite(total):
        raise TrainingDiverged("the evaluation loss is NaN or infinite: the weights are broken")
    return perplexity(total, words)


# --- checkpoints ------------------------------------------------------------------------------


def _variables(model: PTBModel) -> list:
    """Everything a resumed run needs: the weights and the dropout layers' seed states."""
    return model.trainable_variables + model.non_trainable_variables


def save_checkpoint(path: str | os.PathLike, model: PTBModel, meta: dict) -> None:
    """Write the model's variables and ``meta`` (JSON-able) to ``path``, whole or not at all."""
    arrays = [keras.ops.convert_to_numpy(v) for v in _variables(model)]
    write_checkpoint(path, arrays, meta)


def load_checkpoint(path: str | os.PathLike, model: PTBModel) -> dict:
    """Restore the variables saved by :func:`save_checkpoint` into ``model``; returns its meta.

    Raises ``ValueError`` naming the fields that differ when the checkpoint was trained with
    another config, and :class:`~ptb_utils.runs.CheckpointError` when the file is damaged.
    """
    ckpt = read_checkpoint(path)
    changed = differences(ckpt.config, model.config)
    if changed:
        fields = ", ".join(
            f"{name} {there!r} (this run: {here!r})" for name, (there, here) in changed.items()
        )
        raise ValueError(
            f"{path} was trained with {fields}; resume with the same config, or "
            f"train afresh in another folder"
        )
    variables, arrays = _variables(model), ckpt.arrays
    if len(arrays) == len(variables) + 2:
        # written when the engine stepped with a Keras optimizer: its step count and learning
        # rate come last, and both follow from the epoch
        arrays = arrays[:-2]
    if len(arrays) != len(variables):
        raise CheckpointError(
            f"{path} holds {len(arrays)} variables but the model of its config "
            f"has {len(variables)}: it is not a checkpoint of this engine"
        )
    for variable, value in zip(variables, arrays, strict=True):
        if tuple(value.shape) != tuple(variable.shape):
            raise CheckpointError(
                f"{path}: {variable.path} has shape {value.shape}, the model "
                f"expects {tuple(variable.shape)}"
            )
        variable.assign(value)
    return ckpt.meta


def load_model(out: str | os.PathLike) -> PTBModel:
    """The model saved in ``out/checkpoint.npz`` (or the ``.npz`` file ``out``), with its config."""
    path = Path(out) / CHECKPOINT if Path(out).is_dir() else Path(out)
    model = build_model(read_checkpoint(path, arrays=False).config)
    load_checkpoint(path, model)
    return model


# --- how long a run will take -----------------------------------------------------------------


def estimate_seconds(
    words_per_sec: float, epochs: int, train_words: int, valid_words: int
) -> float:
    """Seconds for ``epochs`` epochs at ``words_per_sec`` training words per second.

    Each epoch trains on ``train_words`` and then scores ``valid_words``. Scoring runs the
    forward pass only, about a third of the arithmetic of a training step (the backward pass
    costs about twice the forward), so a validation word counts for a third of a training word.
    """
    return epochs * (train_words + valid_words / 3) / words_per_sec


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "less than a second"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def estimate_line(
    words_per_sec: float, epochs: int, train_words: int, valid_words: int, config: Config
) -> str:
    """The line :func:`train` prints on a machine without a GPU, before the long wait."""
    seconds = estimate_seconds(words_per_sec, epochs, train_words, valid_words)
    return (
        f"no GPU: {epochs} epoch(s) of {describe(config)} will take "
        f"{_duration(seconds)} on this CPU ({words_per_sec:,.0f} words/s measured on the "
        f"first windows; {train_words:,} training and {valid_words:,} validation words "
        f"per epoch)"
    )


# --- the training loop ------------------------------------------------------------------------


@dataclass
class TrainResult:
    """What :func:`train` returns: the model, its history and where things were written."""

    model: PTBModel
    history: list[dict] = field(default_factory=list)
    checkpoint: Path | None = None


def _train_epoch(
    steps: Steps,
    model: PTBModel,
    x: np.ndarray,
    y: np.ndarray,
    k: int,
    epoch: int,
    epochs: int,
    progress: bool,
    on_speed: Callable[[float], None] | None,
) -> tuple[float, int]:
    """Epoch ``epoch`` (1-based) of training over the windows ``x, y``: ``(total NLL, words)``.

    Raises :class:`TrainingDiverged` naming the window as soon as a loss is NaN, infinite or
    above :data:`MAX_NLL`. ``on_speed(words/s)`` is called once, with the speed of the second
    compiled call (the first one includes compiling).
    """
    times = [time.perf_counter()]

    def check(start: int, nlls: np.ndarray) -> None:
        bad = np.flatnonzero(~(nlls < MAX_NLL))  # NaN, inf, or too large for exp()
        if bad.size:
            raise TrainingDiverged(
                f"the loss became {nlls[bad[0]]:.3g} at epoch {epoch}, window {start + bad[0] + 1} "
                f"of {len(x)}. Lower the learning rate or max_grad_norm (e.g. --set "
                f"learning_rate=0.5); the checkpoint on disk is from the last finished epoch."
            )
        times.append(time.perf_counter())
        if on_speed is not None and len(times) == 3:
            on_speed(nlls.size * x.shape[1] * x.shape[2] / (times[2] - times[1]))

    bar = tqdm(
        total=len(x),
        desc=f"epoch {epoch}/{epochs}",
        unit="win",
        disable=not progress,
        leave=True,
        mininterval=5,
    )
    with bar:
        total, words, _ = run_windows(
            steps.train, x, y, model.zero_state(x.shape[1]), k, bar, on_chunk=check
        )
    return total, words


def train(
    config: Config,
    corpus: PTB,
    out: str | os.PathLike | None = None,
    *,
    epochs: int | None = None,
    max_batches: int | None = None,
    max_valid_batches: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    seed: int = 0,
    history_dir: str | os.PathLike | None = None,
    progress: bool = True,
    callback: Callable[[dict], None] | None = None,
    windows_per_call: int = 10,
    jit_compile: bool = True,
    unroll: bool = True,
    lstm: str = "window",
    precision: str = "float32",
    estimate: bool = True,
) -> TrainResult:
    """Train the tutorial's model on ``corpus`` and return it with its per-epoch history.

    - ``epochs``: total number of epochs (default ``config.max_max_epoch``); with ``resume``
      training continues from the checkpoint in ``out`` up to this total (fewer than the
      epochs already done is an error; as many rewrites the history and trains nothing).
    - ``max_batches`` / ``max_valid_batches``: only the first windows of each epoch / of the
      validation split (quick runs).
    - ``out``: folder for ``checkpoint.npz`` (rewritten after every epoch) and, unless
      ``history_dir`` is given, ``history.csv``. ``None`` writes nothing. A folder that
      already holds a run is refused unless ``resume`` or ``overwrite`` (see
      :mod:`ptb_utils.runs` for these rules and the one that protects ``results/``).
    - ``callback(record)`` is called after each epoch with the history record (a dict with
      the fields of ``HISTORY_FIELDS``).
    - ``windows_per_call``: windows run per compiled call (speed only; results are equal).
    - ``jit_compile``, ``unroll``, ``lstm``: how the step is computed (XLA or not, the time
      loop written out or symbolic, the LSTM layer; see
      :data:`ptb_utils.config.ENGINE_VARIANTS`): speed only, the same model to float rounding.
    - ``precision``: ``"float32"`` or ``"tf32"`` matrix products (see :mod:`ptb_utils.steps`).
    - ``estimate``: on a machine without a GPU, print how long the run will take, measured on
      its first windows.

    Raises :class:`TrainingDiverged` (naming the epoch and window) as soon as a window's loss
    is NaN, infinite or above ``MAX_NLL``; the checkpoint of the last finished epoch is left
    as it was.
    """
    epochs = config.max_max_epoch if epochs is None else epochs
    _check_positive(
        epochs=epochs,
        max_batches=max_batches,
        max_valid_batches=max_valid_batches,
        windows_per_call=windows_per_call,
    )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if len(corpus.vocab) != config.vocab_size:
        raise ValueError(
            f"the corpus has {len(corpus.vocab)} words but config.vocab_size is "
            f"{config.vocab_size}; override vocab_size to match"
        )
    out = Path(out) if out is not None else None
    history_dir = Path(history_dir) if history_dir is not None else out
    published = is_published_run(config, epochs, max_batches, max_valid_batches, seed)
    with lock_folders(out, history_dir):
        claim(out, history_dir, resume=resume, overwrite=overwrite, published=published)
        keras.utils.set_random_seed(seed)
        model = build_model(config, seed=seed, unroll=unroll, lstm=lstm)
        history: list[dict] = []
        first_epoch = 0
        if resume:
            assert out is not None  # claim() checked it
            meta = load_checkpoint(out / CHECKPOINT, model)
            first_epoch, history = meta["epoch"], meta["history"]
            if meta.get("seed", seed) != seed:
                raise ValueError(
                    f"{out} was trained with seed {meta['seed']}, not {seed}; "
                    f"resume with the same seed (--seed {meta['seed']})"
                )
            if epochs < first_epoch:
                raise ValueError(
                    f"{out} has already trained {first_epoch} epochs, more than "
                    f"the {epochs} asked for: ask for more epochs to continue"
                )
            if history_dir is not None:  # also brings back a deleted history.csv
                write_history(history_dir / HISTORY, history)
        steps = make_steps(model, jit_compile=jit_compile, precision=precision)
        x, y = windows(corpus.train, config.batch_size, config.num_steps)
        x, y = x[:max_batches], y[:max_batches]
        valid_words = (
            config.batch_size
            * config.num_steps
            * min(
                epoch_size(len(corpus.valid), config.batch_size, config.num_steps),
                max_valid_batches or len(corpus.valid),
            )
        )

        def announce(words_per_sec: float) -> None:
            tqdm.write(
                estimate_line(words_per_sec, epochs - first_epoch, x.size, valid_words, config)
            )

        on_speed = announce if estimate and first_epoch < epochs and not accelerator() else None
        start_time = time.perf_counter()
        wall_before = history[-1]["wall_time_s"] if history else 0.0
        for epoch in range(first_epoch, epochs):
            lr = config.lr_at(epoch)
            steps.set_learning_rate(lr)
            steps.begin()
            t0 = time.perf_counter()
            total, words = _train_epoch(
                steps, model, x, y, windows_per_call, epoch + 1, epochs, progress, on_speed
            )
            seconds = time.perf_counter() - t0
            steps.end()
            on_speed = None
            record = {
                "epoch": epoch + 1,
                "lr": lr,
                "train_ppl": perplexity(total, words),
                "valid_ppl": evaluate(
                    model,
                    corpus.valid,
                    steps=steps,
                    progress=progress,
                    max_batches=max_valid_batches,
                ),
                "words_per_sec": words / seconds,
                "wall_time_s": wall_before + time.perf_counter() - start_time,
            }
            history.append(record)
            if out is not None:
                meta = {
                    "epoch": epoch + 1,
                    "config": config.to_dict(),
                    "seed": seed,
                    "backend": keras.backend.backend(),
                    "precision": precision,
                    "history": history,
                }
                save_checkpoint(out / CHECKPOINT, model, meta)
            if history_dir is not None:
                write_history(history_dir / HISTORY, history)
            if callback is not None:
                callback(record)
            elif progress:
                tqdm.write(
                    f"epoch {epoch + 1}: lr {lr:.4g}  train ppl {record['train_ppl']:.2f}"
                    f"  valid ppl {record['valid_ppl']:.2f}  "
                    f"{record['words_per_sec']:.0f} words/s"
                )
    return TrainResult(
        model=model, history=history, checkpoint=out / CHECKPOINT if out is not None else None
    )
