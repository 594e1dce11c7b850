"""The Keras 3 model: parameter counts, initialisation, explicit state carry, LSTM layers."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ptb_utils.config import get_config
from ptb_utils.model import build_model


@pytest.mark.parametrize(
    ("name", "expected"),
    [("small", 4_651_600), ("medium", 19_775_200), ("large", 66_022_000)],
)
def test_parameter_counts(name, expected):
    # embedding V*H + per layer 4*H*(2H) + 4H + softmax H*V + V (untied)
    config = get_config(name)
    h, v = config.hidden_size, config.vocab_size
    assert 2 * h * v + v + config.num_layers * (8 * h * h + 4 * h) == expected
    assert build_model(config).count_params() == expected


def test_shapes_and_initialisation():
    config = get_config("small", hidden_size=16, vocab_size=50)
    model = build_model(config, seed=1)
    logits, state = model(np.zeros((3, 5), dtype="int32"), model.zero_state(3))
    assert tuple(logits.shape) == (3, 5, 50)
    assert [tuple(t.shape) for pair in state for t in pair] == [(3, 16)] * 4
    assert model.embeddings.shape == (50, 16)
    drawn = []
    for w in model.trainable_weights:
        values = keras.ops.convert_to_numpy(w)
        if "lstm" in w.path and w.path.endswith("bias"):
            assert np.all(values == 0), "the tutorial's LSTM biases (forget bias 0.0) start at 0"
        else:
            assert np.abs(values).max() <= config.init_scale
            assert np.abs(values).max() > 0.9 * config.init_scale
            drawn.append(values.ravel())
    # each weight drawn on its own: no two start with the same numbers
    firsts = {tuple(values[:20]) for values in drawn}
    assert len(drawn) == 7 and len(firsts) == len(drawn)


def test_initialisation_is_uniform_and_seeded():
    config = get_config("small", hidden_size=64, vocab_size=500)
    weights = [keras.ops.convert_to_numpy(w) for w in build_model(config, seed=4).weights]
    again = [keras.ops.convert_to_numpy(w) for w in build_model(config, seed=4).weights]
    for a, b in zip(weights, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = keras.ops.convert_to_numpy(build_model(config, seed=5).embedding.embeddings)
    assert not np.allclose(other, weights[0])
    both = np.concatenate([weights[0].ravel(), weights[-2].ravel()])  # embedding and softmax
    # uniform on [-s, s]: mean 0, standard deviation s / sqrt(3); independent of each other
    assert abs(both.mean()) < 0.01 * config.init_scale
    assert both.std() == pytest.approx(config.init_scale / np.sqrt(3), rel=0.01)
    assert abs(np.corrcoef(weights[0].ravel(), weights[-2].ravel())[0, 1]) < 0.02


@pytest.mark.parametrize(
    ("cell", "lstm"), [("lstm", "window"), ("lstm", "keras"), ("rnn", "window")]
)
def test_state_carries_across_windows(cell, lstm):
    """Reading a sequence in two halves, state carried, equals reading it at once."""
    config = get_config("small", hidden_size=8, vocab_size=30, init_scale=0.5, cell=cell)
    model = build_model(config, seed=2, lstm=lstm)
    ids = np.random.default_rng(0).integers(0, 30, (2, 8)).astype("int32")
    whole, whole_state = model(ids, model.zero_state(2))
    first, state = model(ids[:, :4], model.zero_state(2))
    second, state = model(ids[:, 4:], state)
    halves = np.concatenate(
        [keras.ops.convert_to_numpy(first), keras.ops.convert_to_numpy(second)], axis=1
    )
    np.testing.assert_allclose(halves, keras.ops.convert_to_numpy(whole), atol=1e-5)
    for got, want in zip(keras.tree.flatten(state), keras.tree.flatten(whole_state), strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want), atol=1e-5
        )
    # ... and a zero state instead gives different outputs: the state matters
    fresh, _ = model(ids[:, 4:], model.zero_state(2))
    assert not np.allclose(keras.ops.convert_to_numpy(fresh), halves[:, 4:], atol=1e-4)


def test_dropout_only_in_training():
    config = get_config("small", hidden_size=8, vocab_size=30, keep_prob=0.5)
    model = build_model(config, seed=3)
    ids = np.ones((2, 3), dtype="int32")
    a, _ = model(ids, model.zero_state(2))
    b, _ = model(ids, model.zero_state(2))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    c, _ = model(ids, model.zero_state(2), training=True)
    assert not np.allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(c))


@pytest.mark.parametrize("bias", [0.0, 1.0, -2.5])
def test_forget_bias_starts_where_the_config_says(bias):
    config = get_config("small", hidden_size=6, vocab_size=20, forget_bias=bias)
    model = build_model(config, seed=1)
    for layer in model.lstms:  # Keras' bias holds the gates in the order i, f, c, o
        values = keras.ops.convert_to_numpy(layer.cell.bias)
        np.testing.assert_array_equal(values[6:12], bias)
        np.testing.assert_array_equal(np.delete(values, np.s_[6:12]), 0.0)
    # every other weight is the one the tutorial's bias of 0 gets from the same seed
    plain = build_model(config.replace(forget_bias=0.0), seed=1)
    for a, b in zip(model.trainable_variables, plain.trainable_variables, strict=True):
        if not a.path.endswith("bias") or "lstm" not in a.path:
            np.testing.assert_array_equal(
                keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
            )


def test_simple_rnn_cell_is_the_tanh_cell_with_one_state_per_layer():
    h, v = 8, 30
    config = get_config("small", hidden_size=h, vocab_size=v, init_scale=0.5, cell="rnn")
    model = build_model(config, seed=2)
    assert model.count_params() == 2 * h * v + v + config.num_layers * (2 * h * h + h)
    assert [len(layer_state) for layer_state in model.zero_state(3)] == [1, 1]
    ids = np.random.default_rng(0).integers(0, v, (2, 8)).astype("int32")
    # (the state carried across windows: test_state_carries_across_windows)
    # the first layer's first step by hand: h_1 = tanh(x_1 W + h_0 U + b), from h_0 = 0
    layer = model.lstms[0]
    x1 = keras.ops.convert_to_numpy(model.embedding(ids))[:, 0]
    kernel, _, bias = (keras.ops.convert_to_numpy(w) for w in layer.cell.weights)
    out = keras.ops.convert_to_numpy(layer(model.embedding(ids[:, :1]))[1])
    np.testing.assert_allclose(out, np.tanh(x1 @ kernel + bias), atol=1e-6)


def test_window_lstm_model_equals_keras_lstm_model():
    """Same seed, same weights (same names, same order) and the same function."""
    config = get_config("small", hidden_size=12, vocab_size=40, init_scale=0.5)
    window, reference = (build_model(config, seed=6, lstm=lstm) for lstm in ("window", "keras"))

    def layout(model):
        return [(v.path.split("/", 1)[1], v.shape) for v in model.trainable_variables]

    assert layout(window) == layout(reference)
    assert len(window.variables) == len(reference.variables)
    for a, b in zip(window.trainable_variables, reference.trainable_variables, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    ids = np.random.default_rng(1).integers(0, 40, (3, 9)).astype("int32")
    state = [
        tuple(np.full((3, 12), 0.1 * (i + 1), dtype="float32") for _ in "hc") for i in range(2)
    ]
    (got, got_state), (want, want_state) = (m(ids, state) for m in (window, reference))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want), atol=1e-5
    )
    for g, w in zip(sum(got_state, ()), sum(want_state, ()), strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(g), keras.ops.convert_to_numpy(w), atol=1e-5
        )


def test_lstm_choice_is_checked():
    config = get_config("test")
    with pytest.raises(ValueError, match="lstm must be one of"):
        build_model(config, lstm="cudnn")
