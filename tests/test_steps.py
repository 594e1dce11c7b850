"""The backends' update: the tutorial's equations, k windows per call, precision."""

from __future__ import annotations

import math
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from ptb_utils import data, steps
from ptb_utils.config import get_config
from ptb_utils.model import build_model
from ptb_utils.train import make_optimizer, run_windows, train

#: Dropout on, so that the random masks must line up too; lr halves after the first epoch.
CONFIG = get_config("test", hidden_size=8, num_steps=5, keep_prob=0.5, max_max_epoch=2)
WINDOWS = 13  # not a multiple of k = 4, so the last compiled call is padded


def numpy_weights(model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]


def plain_epoch(corpus: data.PTB, seed: int = 3) -> tuple[list[float], list[np.ndarray]]:
    """One epoch as the tutorial writes it: a Python loop, one update per window."""
    keras.utils.set_random_seed(seed)
    model = build_model(CONFIG, seed=seed)
    x, y = data.windows(corpus.train, CONFIG.batch_size, CONFIG.num_steps)
    state, lr, nlls = model.zero_state(CONFIG.batch_size), tf.constant(CONFIG.lr_at(0)), []
    update = tf.function(steps.tensorflow_update)  # a graph, as the engine's (no XLA)
    for i in range(WINDOWS):
        nll, state = update(model, x[i], y[i], state, lr)
        nlls.append(float(nll))
    return nlls, numpy_weights(model)


def chunked_epoch(corpus: data.PTB, k: int, jit_compile: bool, seed: int = 3):
    """The same epoch through the engine's compiled passes, ``k`` windows per call."""
    keras.utils.set_random_seed(seed)
    model = build_model(CONFIG, seed=seed)
    x, y = data.windows(corpus.train, CONFIG.batch_size, CONFIG.num_steps)
    made = steps.make_steps(model, jit_compile=jit_compile)
    made.set_learning_rate(CONFIG.lr_at(0))
    nlls: list[float] = []
    made.begin()
    run_windows(
        made.train,
        x[:WINDOWS],
        y[:WINDOWS],
        model.zero_state(CONFIG.batch_size),
        k,
        on_chunk=lambda start, chunk: nlls.extend(chunk.tolist()),
    )
    made.end()
    return nlls, numpy_weights(model)


def test_chunked_loop_equals_one_window_at_a_time(small_ptb):
    """Same seed, same per-window losses and weights, exactly: the state and the dropout masks
    are carried across compiled calls (and across the padded last call) as in a plain loop.

    Exact because, without XLA, both run the same graph kernels in the same order. (Run
    eagerly instead, the plain loop's weights differ from the graph's in a few elements by
    about 1e-9, from TensorFlow's graph optimizations; the losses still agree exactly.)
    """
    plain_nlls, plain_weights = plain_epoch(small_ptb)
    nlls, trained = chunked_epoch(small_ptb, k=4, jit_compile=False)
    assert len(nlls) == WINDOWS and nlls == plain_nlls
    for a, b in zip(trained, plain_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    # ... and so does the training loop itself
    result = train(
        CONFIG,
        small_ptb,
        epochs=1,
        max_batches=WINDOWS,
        seed=3,
        progress=False,
        jit_compile=False,
        windows_per_call=4,
        estimate=False,
    )
    for a, b in zip(numpy_weights(result.model), plain_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert result.history[0]["train_ppl"] == pytest.approx(math.exp(np.mean(plain_nlls)))


@pytest.mark.slow  # two XLA compilations
def test_compiled_chunks_match_to_float_rounding(small_ptb):
    """With XLA, 4 windows per call vs 1: XLA may fuse the operations differently, which
    changes float32 rounding (relative differences around 1e-7), nothing more."""
    one, _ = chunked_epoch(small_ptb, k=1, jit_compile=True)
    four, _ = chunked_epoch(small_ptb, k=4, jit_compile=True)
    np.testing.assert_allclose(four, one, rtol=1e-5)


def test_update_is_clipped_sgd():
    """The written-out update equals Keras' SGD with global-norm clipping, and its step has
    exactly the length lr * max_grad_norm when clipping is active."""
    config = get_config("test", vocab_size=40, hidden_size=6, max_grad_norm=0.05)
    rng = np.random.default_rng(2)
    x, y = (rng.integers(0, 40, (4, 5)).astype("int32") for _ in range(2))
    lr = 0.7
    models = [build_model(config, seed=0) for _ in range(2)]
    before = numpy_weights(models[0])
    steps.tensorflow_update(models[0], x, y, models[0].zero_state(4), tf.constant(lr))
    with tf.GradientTape() as tape:
        logits, _ = models[1](x, models[1].zero_state(4), training=True)
        loss = steps.sequence_nll(y, logits) * config.num_steps
    grads = tape.gradient(loss, models[1].trainable_variables)
    optimizer = make_optimizer(config)
    optimizer.learning_rate = lr
    optimizer.apply(grads, models[1].trainable_variables)
    for a, b in zip(numpy_weights(models[0]), numpy_weights(models[1]), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-7)
    step = math.sqrt(
        sum(((a - b) ** 2).sum() for a, b in zip(numpy_weights(models[0]), before, strict=True))
    )
    assert step == pytest.approx(lr * config.max_grad_norm, rel=1e-4)


@pytest.mark.parametrize(("precision", "tf32"), [("float32", False), ("tf32", True)])
def test_tensorflow_precision_is_in_force_inside_the_step(precision, tf32):
    model = build_model(CONFIG)
    made = steps.make_steps(model, jit_compile=False, precision=precision)
    outside = tf.config.experimental.tensor_float_32_execution_enabled()
    seen = []

    def compiled(xs, ys, count, state):  # reads the switch where the real step would run
        seen.append(tf.config.experimental.tensor_float_32_execution_enabled())
        return state, np.zeros(len(xs))

    made.compiled_train = made.compiled_evaluate = compiled
    x = np.zeros((2, CONFIG.batch_size, CONFIG.num_steps), "int32")
    made.train(x, x, np.int32(2), model.zero_state(CONFIG.batch_size))
    made.evaluate(x, x, np.int32(2), model.zero_state(CONFIG.batch_size))
    assert seen == [tf32, tf32]
    assert tf.config.experimental.tensor_float_32_execution_enabled() == outside


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of"):
        steps.make_steps(build_model(CONFIG), precision="bfloat16")


JAX_SETUP = """
import json, re, numpy as np, keras, jax, jax.numpy as jnp
from ptb_utils import steps
from ptb_utils.config import get_config
from ptb_utils.model import build_model
from ptb_utils.train import run_windows
config = get_config("test", vocab_size=30, hidden_size=8, num_steps=5, keep_prob=0.5)
rng = np.random.default_rng(0)
x, y = (rng.integers(0, 30, (7, 20, 5)).astype("int32") for _ in range(2))
"""

JAX_PRECISION = JAX_SETUP + textwrap.dedent("""
    report = {}
    for precision in ("float32", "tf32"):
        made = steps.make_steps(build_model(config, seed=1), precision=precision)
        lowered = made.compiled_train.lower(made.weights, made.others, made.lr, x[:2], y[:2],
                                            np.int32(2), made.model.zero_state(20)).as_text()
        report[precision] = sorted(set(re.findall(r"precision = \\[(\\w+), \\w+\\]", lowered)))
    print(json.dumps(report))
""")

JAX_CHUNKS = JAX_SETUP + textwrap.dedent("""
    model = build_model(config, seed=1)
    made = steps.make_steps(model)
    made.set_learning_rate(1.0)
    chunked = []
    run_windows(made.train, x, y, model.zero_state(20), 3,
                on_chunk=lambda start, nlls: chunked.extend(nlls.tolist()))
    model = build_model(config, seed=1)
    w = [v.value for v in model.trainable_variables]
    o = [v.value for v in model.non_trainable_variables]
    state, plain = model.zero_state(20), []
    update = jax.jit(lambda w, o, x, y, state: steps.jax_update(model, w, o, x, y, state, 1.0))
    with jax.default_matmul_precision("float32"):
        for i in range(len(x)):
            w, o, nll, state = update(w, o, x[i], y[i], state)
            plain.append(float(nll))
    print(json.dumps({"chunked": chunked, "plain": plain}))
""")


def test_jax_precision_is_compiled_into_the_step(run_jax):
    """float32 compiles every matrix product of the training step at HIGHEST precision,
    tf32 at HIGH (TensorFloat-32 where the GPU has it)."""
    report = run_jax(JAX_PRECISION)
    assert report == {"float32": ["HIGHEST"], "tf32": ["HIGH"]}


@pytest.mark.slow  # compiles the JAX step twice
def test_jax_chunks_match_one_window_at_a_time(run_jax):
    """Three windows per jitted call against a jitted one-window update in a Python loop.

    Equal to float rounding (relative 1e-6), not bit for bit: XLA compiles the two programs
    separately and may fuse their operations differently.
    """
    report = run_jax(JAX_CHUNKS)
    assert len(report["chunked"]) == 7
    np.testing.assert_allclose(report["chunked"], report["plain"], rtol=1e-6)
