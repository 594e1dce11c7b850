"""The backend-specific part of training: the tutorial's update, compiled k windows at a time.

Training the PTB model repeats one update per ``[batch_size, num_steps]`` window, the same on
every backend (the TensorFlow tutorial's ``ptb_word_lm.py``)::

    loss = num_steps * mean cross-entropy of the window     (the tutorial's cost)
    g    = d loss / d w                                     (backpropagation through the window)
    g    = g * min(1, max_grad_norm / ||g||)                (clip by the global norm)
    w    = w - lr * g                                       (plain SGD)

:func:`tensorflow_update` writes it with ``tf.GradientTape``, :func:`jax_update` with
``jax.value_and_grad`` on explicit arrays. Around each, a :class:`Steps` object runs ``k``
consecutive windows in one compiled call, carrying the LSTM state from one window to the next,
so that Python runs once per ``k`` windows instead of once per window (the results are the same
as one window at a time; ``tests/test_steps.py`` checks it).

``precision`` fixes how float32 matrix products are computed: ``"float32"`` (the default) in
true float32 everywhere; ``"tf32"`` lets NVIDIA GPUs (Ampere and later) use TensorFloat-32,
about 10 mantissa bits, faster. On a CPU both give float32. TensorFlow enables TF32 by default
and JAX uses it by default on such GPUs, so the engine always sets it explicitly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Literal, Protocol

import keras

from ptb_utils.model import PTBModel, State

Precision = Literal["float32", "tf32"]
PRECISIONS: tuple[str, ...] = ("float32", "tf32")
#: The names of the two precisions in JAX's ``jax_default_matmul_precision``.
JAX_PRECISION = {"float32": "float32", "tf32": "tensorfloat32"}


def sequence_nll(targets: Any, logits: Any) -> Any:
    """Mean negative log-likelihood per word (nats) of ``targets [B, T]`` under ``logits``."""
    return keras.ops.mean(
        keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    )


class Steps(Protocol):
    """Compiled training and evaluation of ``k`` windows per call, for one backend.

    ``xs, ys`` are int32 ``[k, B, T]``; only the first ``count`` windows are used (the last
    chunk of an epoch is padded to ``k``, so that one compiled program serves every call).
    Both return the final state and the mean NLL per word of each window, ``[k]``.
    """

    precision: str

    def set_learning_rate(self, lr: float) -> None:
        """The ``lr`` of the following training calls."""

    def train(self, xs: Any, ys: Any, count: Any, state: State) -> tuple[State, Any]:
        """Update the weights on each window in turn (:func:`tensorflow_update`)."""
        ...

    def evaluate(self, xs: Any, ys: Any, count: Any, state: State) -> tuple[State, Any]:
        """Score each window in turn, without dropout and without changing the weights."""
        ...

    def begin(self) -> None:
        """Read the model's variables before training calls (after a load, say)."""

    def end(self) -> None:
        """Write the trained values back into the model's variables."""


# --- TensorFlow -------------------------------------------------------------------------------


def tensorflow_update(model: PTBModel, x: Any, y: Any, state: State, lr: Any) -> tuple[Any, State]:
    """One window of the tutorial's training on TensorFlow; returns ``(mean NLL, new state)``."""
    import tensorflow as tf

    weights = model.trainable_variables
    with tf.GradientTape() as tape:
        logits, state = model(x, state, training=True)
        nll = sequence_nll(y, logits)
        loss = nll * model.config.num_steps
    # the embedding's gradient comes as IndexedSlices (only the rows of the words in x)
    grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, weights)]
    grads, _ = tf.clip_by_global_norm(grads, model.config.max_grad_norm)
    for w, g in zip(weights, grads, strict=True):
        w.assign_sub(lr * g)
    return nll, state


@contextlib.contextmanager
def _tensor_float_32(enabled: bool) -> Iterator[None]:
    import tensorflow as tf

    before = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(enabled)
    try:
        yield
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(before)


class TensorFlowSteps:
    """:class:`Steps` for TensorFlow: a ``tf.function`` (XLA-compiled by default) per pass.

    The model's variables are updated in place. TF32 is switched on or off around each call
    (TensorFlow's switch is process-wide and read when a kernel runs).
    """

    def __init__(self, model: PTBModel, jit_compile: bool = True, precision: str = "float32"):
        import tensorflow as tf

        self.precision = precision
        self.lr = tf.Variable(0.0, trainable=False, name="learning_rate")

        def train(xs, ys, count, state):
            nlls = tf.zeros([tf.shape(xs)[0]])
            for i in tf.range(count):
                nll, state = tensorflow_update(model, xs[i], ys[i], state, self.lr)
                nlls = tf.tensor_scatter_nd_update(nlls, [[i]], [nll])
            return state, nlls

        def evaluate(xs, ys, count, state):
            nlls = tf.zeros([tf.shape(xs)[0]])
            for i in tf.range(count):
                logits, state = model(xs[i], state, training=False)
                nlls = tf.tensor_scatter_nd_update(nlls, [[i]], [sequence_nll(ys[i], logits)])
            return state, nlls

        #: The compiled passes, ``(xs, ys, count, state) -> (state, nlls)``.
        self.compiled_train = tf.function(train, jit_compile=jit_compile)
        self.compiled_evaluate = tf.function(evaluate, jit_compile=jit_compile)

    def set_learning_rate(self, lr: float) -> None:
        self.lr.assign(lr)

    def train(self, xs, ys, count, state):
        with _tensor_float_32(self.precision == "tf32"):
            return self.compiled_train(xs, ys, count, state)

    def evaluate(self, xs, ys, count, state):
        with _tensor_float_32(self.precision == "tf32"):
            return self.compiled_evaluate(xs, ys, count, state)

    def begin(self) -> None:
        """Nothing to do: TensorFlow updates the model's variables in place."""

    def end(self) -> None:
        """Nothing to do (see :meth:`begin`)."""


# --- JAX --------------------------------------------------------------------------------------


def jax_update(
    model: PTBModel, weights: list, others: list, x: Any, y: Any, state: State, lr: Any
) -> tuple[list, list, Any, State]:
    """The same update on JAX, on explicit arrays: returns ``(weights, others, NLL, state)``.

    ``others`` are the non-trainable variables (the dropout layers' random-seed states), which
    a training call advances.
    """
    import jax
    import jax.numpy as jnp

    def loss_fn(weights, others):
        (logits, new_state), others = model.stateless_call(weights, others, x, state, training=True)
        nll = sequence_nll(y, logits)
        return nll * model.config.num_steps, (nll, new_state, others)

    (_, (nll, state, others)), grads = jax.value_and_grad(loss_fn, has_aux=True)(weights, others)
    norm = jnp.sqrt(sum(jnp.sum(g * g) for g in grads))
    # as tf.clip_by_global_norm: NaN when the norm is not finite, so a broken step shows
    scale = jnp.minimum(1.0, model.config.max_grad_norm / norm) + (norm - norm)
    weights = [w - lr * (g * scale) for w, g in zip(weights, grads, strict=True)]
    return weights, others, nll, state


def _with_matmul_precision(fn: Callable, precision: str) -> Callable:
    """``fn`` traced under JAX's matmul precision for ``precision`` (baked into its program)."""
    import jax

    def traced(*args):
        with jax.default_matmul_precision(JAX_PRECISION[precision]):
            return fn(*args)

    return traced


class JaxSteps:
    """:class:`Steps` for JAX: pure functions under ``jax.jit``, on explicit variable values.

    The variables live as arrays here between :meth:`begin` (read from the model) and
    :meth:`end` (written back to the model). The matmul precision is part of the compiled
    program (``precision = [HIGHEST, HIGHEST]`` for float32 in its HLO).
    """

    def __init__(self, model: PTBModel, jit_compile: bool = True, precision: str = "float32"):
        import jax
        import jax.numpy as jnp

        self.model, self.precision, self.lr = model, precision, jnp.float32(0.0)

        def train(weights, others, lr, xs, ys, count, state):
            def body(i, carry):
                weights, others, state, nlls = carry
                weights, others, nll, state = jax_update(
                    model, weights, others, xs[i], ys[i], state, lr
                )
                return weights, others, state, nlls.at[i].set(nll)

            nlls = jnp.zeros(xs.shape[0])
            return jax.lax.fori_loop(0, count, body, (weights, others, state, nlls))

        def evaluate(weights, others, xs, ys, count, state):
            def body(i, carry):
                state, nlls = carry
                (logits, state), _ = model.stateless_call(weights, others, xs[i], state)
                return state, nlls.at[i].set(sequence_nll(ys[i], logits))

            return jax.lax.fori_loop(0, count, body, (state, jnp.zeros(xs.shape[0])))

        wrap = jax.jit if jit_compile else (lambda f: f)
        #: The compiled passes, on explicit weights (``compiled_train.lower(...)`` shows the HLO).
        self.compiled_train = wrap(_with_matmul_precision(train, precision))
        self.compiled_evaluate = wrap(_with_matmul_precision(evaluate, precision))
        self.begin()

    def set_learning_rate(self, lr: float) -> None:
        import jax.numpy as jnp

        self.lr = jnp.float32(lr)

    def begin(self) -> None:
        self.weights = [v.value for v in self.model.trainable_variables]
        self.others = [v.value for v in self.model.non_trainable_variables]

    def end(self) -> None:
        variables = self.model.trainable_variables + self.model.non_trainable_variables
        for variable, value in zip(variables, self.weights + self.others, strict=True):
            variable.assign(value)

    def train(self, xs, ys, count, state):
        self.weights, self.others, state, nlls = self.compiled_train(
            self.weights, self.others, self.lr, xs, ys, count, state
        )
        return state, nlls

    def evaluate(self, xs, ys, count, state):
        return self.compiled_evaluate(self.weights, self.others, xs, ys, count, state)


def make_steps(model: PTBModel, jit_compile: bool = True, precision: str = "float32") -> Steps:
    """The compiled train/evaluate functions of ``model`` for ``keras.backend.backend()``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return TensorFlowSteps(model, jit_compile, precision)
    if backend == "jax":
        return JaxSteps(model, jit_compile, precision)
    raise RuntimeError(
        f"the Keras backend is {backend!r}; this engine supports 'tensorflow' and 'jax' "
        f"(set KERAS_BACKEND before importing keras)"
    )


def accelerator() -> str | None:
    """The GPU (or TPU) the Keras backend computes on, or ``None`` on a CPU-only machine."""
    if keras.backend.backend() == "jax":
        import jax

        device = jax.devices()[0]
        return None if device.platform == "cpu" else f"{device.platform} {device.device_kind}"
    import tensorflow as tf

    devices = tf.config.list_physical_devices("GPU") + tf.config.list_physical_devices("TPU")
    return devices[0].name if devices else None
