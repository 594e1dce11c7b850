"""WindowLSTM computes keras.layers.LSTM: outputs, final states and every gradient, both backends.

``differences()`` builds both layers with the same random weights (a non-zero bias too) and
compares them on a random window with a random initial state, through a loss that reads the
output sequence *and* both final states, so that every path of the hand-written gradient is
exercised. It runs here under TensorFlow (eagerly and XLA-compiled) and, run as a script, under
JAX in a subprocess (a process's Keras backend is fixed when Keras is imported).
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from ptb_utils.lstm import WindowLSTM

TOLERANCE = 1e-5
CHECKED = ("y", "h", "c", "d_x", "d_h0", "d_c0", "d_kernel", "d_recurrent_kernel", "d_bias")


def _layers(units: int, x, state, unroll: bool):
    kwargs = dict(
        return_sequences=True,
        return_state=True,
        unit_forget_bias=False,
        bias_initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed=1),
        kernel_initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed=2),
        recurrent_initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed=3),
    )
    reference = keras.layers.LSTM(units, **kwargs)
    window = WindowLSTM(units, unroll=unroll, **kwargs)
    reference(x, initial_state=state)
    window(x, initial_state=state)
    for w, r in zip(window.weights, reference.weights, strict=True):
        w.assign(r)
    return reference, window


def _outputs_and_gradients(layer, x, h0, c0, probes, jit: bool) -> list[np.ndarray]:
    """``[y, h, c]`` and the gradients of ``sum(probe * output)`` w.r.t. inputs and weights."""

    def loss(values):
        y, h, c = values
        return sum(keras.ops.sum(p * v) for p, v in zip(probes, values, strict=True)), (y, h, c)

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        def run(x, h0, c0):
            with tf.GradientTape() as tape:
                tape.watch([x, h0, c0])
                total, outs = loss(layer(x, initial_state=[h0, c0]))
            return outs, tape.gradient(total, [x, h0, c0, *layer.trainable_variables])

        run = tf.function(run, jit_compile=True) if jit else run
        outs, grads = run(*(tf.constant(v) for v in (x, h0, c0)))
    else:
        import jax

        ntv = [v.value for v in layer.non_trainable_variables]

        def run(tv, x, h0, c0):
            outs, _ = layer.stateless_call(tv, ntv, x, initial_state=[h0, c0])
            return loss(outs)

        grad = jax.grad(run, argnums=(0, 1, 2, 3), has_aux=True)
        grad = jax.jit(grad) if jit else grad
        (d_tv, *d_inputs), outs = grad([v.value for v in layer.trainable_variables], x, h0, c0)
        grads = [*d_inputs, *d_tv]
    return [keras.ops.convert_to_numpy(v) for v in (*outs, *grads)]


def differences(
    batch: int = 3,
    steps: int = 6,
    features: int = 5,
    units: int = 4,
    jit: bool = False,
    unroll: bool = True,
) -> dict[str, float]:
    """Largest absolute difference between the two layers, per output and gradient."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, steps, features)).astype("float32")
    h0, c0 = (rng.normal(size=(batch, units)).astype("float32") for _ in range(2))
    probes = [
        rng.normal(size=s).astype("float32")
        for s in ((batch, steps, units), (batch, units), (batch, units))
    ]
    reference, window = _layers(units, x, [h0, c0], unroll)
    expected = _outputs_and_gradients(reference, x, h0, c0, probes, jit)
    got = _outputs_and_gradients(window, x, h0, c0, probes, jit)
    for name, e in zip(CHECKED, expected, strict=True):
        assert np.abs(e).max() > 1e-3, f"{name} is ~0: the comparison would prove nothing"
    return {
        name: float(np.abs(g - e).max()) for name, g, e in zip(CHECKED, got, expected, strict=True)
    }


#: (steps, unroll, jit) cases run on each backend: one step, a loop written out or symbolic,
#: eager or compiled (XLA).
CASES = [(1, True, False), (6, True, False), (6, False, False), (6, True, True), (6, False, True)]


@pytest.mark.parametrize(("steps", "unroll", "jit"), CASES)
def test_equals_keras_lstm_tensorflow(steps, unroll, jit):
    assert keras.backend.backend() == "tensorflow"
    gaps = differences(steps=steps, unroll=unroll, jit=jit, units=7 if jit else 4)
    assert max(gaps.values()) < TOLERANCE, gaps


@pytest.mark.slow
def test_equals_keras_lstm_jax(run_jax):
    """The same comparison under the JAX backend (eager and jit), in a fresh process."""
    report = run_jax(f"import runpy; runpy.run_path({str(Path(__file__))!r}, run_name='__main__')")
    assert report["backend"] == "jax"
    assert len(report["runs"]) == len(CASES)
    for gaps in report["runs"]:
        assert set(gaps) == set(CHECKED) and max(gaps.values()) < TOLERANCE, gaps


def test_same_weights_as_keras_lstm():
    """Same variables, names and shapes: checkpoints and parameter counts carry over."""
    x = np.zeros((2, 3, 5), dtype="float32")
    ref, win = keras.layers.LSTM(4, name="lstm_a"), WindowLSTM(4, name="lstm_a")
    ref(x)
    win(x)
    assert [(v.path, v.shape) for v in win.trainable_variables] == [
        (v.path, v.shape) for v in ref.trainable_variables
    ]
    assert [v.shape for v in win.non_trainable_variables] == [
        v.shape for v in ref.non_trainable_variables
    ]  # the cell's dropout seed
    assert [v.path.rsplit("/", 1)[-1] for v in win.trainable_variables] == [
        "kernel",
        "recurrent_kernel",
        "bias",
    ]


@pytest.mark.parametrize("unroll", [True, False])
def test_unroll_chooses_the_loop(unroll):
    """Written out: no loop in the compiled graph; symbolic: one loop forward, one backward."""
    import tensorflow as tf

    layer = WindowLSTM(3, unroll=unroll)
    x = tf.zeros((2, 4, 3))

    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return tape.gradient(y, x)

    graph = tf.function(run).get_concrete_function(x).graph
    loops = [op for op in graph.get_operations() if op.type in ("While", "StatelessWhile")]
    assert len(loops) == (0 if unroll else 2)


def test_return_last_output_only():
    x = np.random.default_rng(1).normal(size=(2, 4, 3)).astype("float32")
    layer = WindowLSTM(5)
    last = layer(x)
    full, h, _ = WindowLSTM(5, return_sequences=True, return_state=True)(x)
    assert tuple(last.shape) == (2, 5) and tuple(full.shape) == (2, 4, 5)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(full[:, -1]), keras.ops.convert_to_numpy(h)
    )


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"dropout": 0.5}, "dropout"),
        ({"recurrent_dropout": 0.1}, "recurrent_dropout"),
        ({"go_backwards": True}, "go_backwards"),
        ({"activation": "relu"}, "activation"),
        ({"use_bias": False}, "use_bias=False"),
    ],
)
def test_refuses_what_it_does_not_compute(kwargs, named):
    with pytest.raises(ValueError, match=f"does not support {named}.*keras.layers.LSTM"):
        WindowLSTM(4, **kwargs)


def test_refuses_masks():
    x = np.ones((2, 3, 4), dtype="float32")
    with pytest.raises(ValueError, match="masking"):
        WindowLSTM(4)(x, mask=np.array([[True, True, False]] * 2))


if __name__ == "__main__":  # the JAX half of the comparison (see test_equals_keras_lstm_jax)
    runs = [
        differences(steps=steps, unroll=unroll, jit=jit, units=7 if jit else 4)
        for steps, unroll, jit in CASES
    ]
    print(json.dumps({"backend": keras.backend.backend(), "runs": runs}))
