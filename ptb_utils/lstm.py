"""An LSTM layer for whole windows of text: Keras' LSTM, computed the way fused kernels do.

``keras.layers.LSTM`` runs its cell once per time step: each step multiplies that step's
input by the input weights, and backpropagation multiplies by the transposed inputs of each
step again, so that the weight gradients are summed from ``num_steps`` thin products of 20
rows each. A CPU (or GPU) does such thin products at a fraction of its speed. The
:class:`WindowLSTM` here computes the same function with the same weights, regrouped:

- forward: the input projection ``x W + b`` of every step of the window in *one* matrix
  product before the recurrence; only ``h_{t-1} U`` stays inside the loop over time;
- backward (a hand-written gradient): a loop back over time computes each step's gate
  gradients (the only part that must be sequential), then the weight gradients
  ``dW = X^T dZ``, ``dU = H_{prev}^T dZ``, ``db`` and the input gradient ``dX = dZ W^T`` come
  from one matrix product each over all the window's steps.

This is what NVIDIA's cuDNN and Intel's oneDNN LSTM kernels do; here it is written with
``keras.ops`` and :func:`keras.ops.custom_gradient`, so it runs on the TensorFlow and the
JAX backends. The weights are ``keras.layers.LSTM``'s own (the layer *is* one, with its cell's
``kernel``, ``recurrent_kernel`` and ``bias``, gates in the order i, f, c, o), so checkpoints,
parameter counts and everything said about Keras' LSTM still hold; ``tests/test_lstm.py``
checks outputs, states and every gradient against ``keras.layers.LSTM``.

The equations, for one step (``sigma`` the logistic function, ``*`` elementwise)::

    z_t = x_t W + b + h_{t-1} U = [z_i, z_f, z_c, z_o]
    i = sigma(z_i)   f = sigma(z_f)   g = tanh(z_c)   o = sigma(z_o)
    c_t = f * c_{t-1} + i * g          h_t = o * tanh(c_t)
"""

from __future__ import annotations

import keras
from keras import ops


def lstm_window(x, h0, c0, kernel, recurrent_kernel, bias, unroll: bool = True):
    """Run the LSTM over a window: ``x [B, T, I] -> (h_1..h_T [B, T, H], h_T, c_T)``.

    ``kernel [I, 4H]``, ``recurrent_kernel [H, 4H]`` and ``bias [4H]`` are laid out as in
    ``keras.layers.LSTM`` (gates i, f, c, o). ``unroll=True`` writes the loop over the
    window's ``T`` steps out one step after the other (forward and backward); ``False`` keeps
    a symbolic loop (:func:`keras.ops.scan`), which compiles faster. The gradient is the
    hand-written one described in the module docstring.
    """
    return (_unrolled_window if unroll else _scanned_window)(
        x, h0, c0, kernel, recurrent_kernel, bias
    )


def _unrolled(step, carry, xs):
    """``keras.ops.scan(step, carry, xs)`` with the loop over time written out."""
    ys = []
    for t in range(xs[0].shape[0]):
        carry, y = step(carry, tuple(x[t] for x in xs))
        ys.append(y)
    return carry, tuple(ops.stack(parts) for parts in zip(*ys, strict=True))


def _unrolled_reverse(step, carry, xs):
    """The same, from the last step to the first (``ys`` still in time order)."""
    ys = []
    for t in reversed(range(xs[0].shape[0])):
        carry, y = step(carry, tuple(x[t] for x in xs))
        ys.append(y)
    return carry, tuple(ops.stack(parts[::-1]) for parts in zip(*ys, strict=True))


def _scanned(step, carry, xs):
    return ops.scan(step, carry, xs)


def _scanned_reverse(step, carry, xs):
    return ops.scan(step, carry, xs, reverse=True)


def _window_function(forward_loop, backward_loop):
    """The custom-gradient LSTM over a window, with the given loops over time.

    A loop is called as ``loop(step, carry, xs)`` with ``xs`` a tuple of time-major arrays
    and returns ``(last carry, per-step outputs stacked in time order)``. Each step returns
    its output equal to its new carry, as ``keras.ops.scan`` on TensorFlow requires.
    """

    @ops.custom_gradient
    def window(x, h0, c0, kernel, recurrent_kernel, bias):
        units = recurrent_kernel.shape[0]
        x_time = ops.transpose(x, (1, 0, 2))  # time-major, [T, B, I]
        xw = ops.matmul(x_time, kernel) + bias  # every step's input projection at once

        def step(carry, inputs):
            h, c, _ = carry
            (xw_t,) = inputs
            z = xw_t + ops.matmul(h, recurrent_kernel)
            i = ops.sigmoid(z[:, :units])
            f = ops.sigmoid(z[:, units : 2 * units])
            g = ops.tanh(z[:, 2 * units : 3 * units])
            o = ops.sigmoid(z[:, 3 * units :])
            c = f * c + i * g
            new = (o * ops.tanh(c), c, ops.concatenate([i, f, g, o], axis=1))
            return new, new

        start = (h0, c0, ops.zeros_like(xw[0]))
        (h, c, _), (hs, cs, gates) = forward_loop(step, start, (xw,))

        def grad(*upstream):
            # TensorFlow passes one gradient per output, JAX one tuple of them
            dy, dh_last, dc_last = upstream[0] if len(upstream) == 1 else upstream
            recurrent_t = ops.transpose(recurrent_kernel)
            c_prev = ops.concatenate([c0[None], cs[:-1]], axis=0)

            def back(carry, inputs):
                dh_next, dc_next, _ = carry
                dy_t, gates_t, c_t, c_prev_t = inputs
                i, f, g, o = (gates_t[:, k * units : (k + 1) * units] for k in range(4))
                tanh_c = ops.tanh(c_t)
                dh = dy_t + dh_next
                dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
                dz = ops.concatenate(
                    [
                        dc * g * i * (1.0 - i),
                        dc * c_prev_t * f * (1.0 - f),
                        dc * i * (1.0 - g * g),
                        dh * tanh_c * o * (1.0 - o),
                    ],
                    axis=1,
                )
                new = (ops.matmul(dz, recurrent_t), dc * f, dz)
                return new, new

            start = (dh_last, dc_last, ops.zeros_like(gates[0]))
            (dh0, dc0, _), (_, _, dz) = backward_loop(
                back, start, (ops.transpose(dy, (1, 0, 2)), gates, cs, c_prev)
            )
            # the weight gradients: one product each over all the window's steps
            dz_flat = ops.reshape(dz, (-1, 4 * units))  # [T*B, 4H]
            h_prev = ops.concatenate([h0[None], hs[:-1]], axis=0)
            d_kernel = ops.matmul(ops.transpose(ops.reshape(x_time, (-1, x.shape[-1]))), dz_flat)
            d_recurrent = ops.matmul(ops.transpose(ops.reshape(h_prev, (-1, units))), dz_flat)
            dx = ops.transpose(ops.matmul(dz, ops.transpose(kernel)), (1, 0, 2))
            return dx, dh0, dc0, d_kernel, d_recurrent, ops.sum(dz_flat, axis=0)

        return (ops.transpose(hs, (1, 0, 2)), h, c), grad

    return window


_unrolled_window = _window_function(_unrolled, _unrolled_reverse)
_scanned_window = _window_function(_scanned, _scanned_reverse)


class WindowLSTM(keras.layers.LSTM):
    """``keras.layers.LSTM`` computed by :func:`lstm_window` (same weights, same results).

    Takes the arguments of ``keras.layers.LSTM``, for the configurations this language model
    uses: the default activations, a bias, no dropout inside the layer, no masking, forward
    in time. Anything else is refused at construction with a message saying so.
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(units, **kwargs)
        unsupported = {
            "dropout": self.dropout != 0,
            "recurrent_dropout": self.recurrent_dropout != 0,
            "go_backwards": self.go_backwards,
            "use_bias=False": not self.use_bias,
            "activation": self.activation is not keras.activations.tanh,
            "recurrent_activation": self.recurrent_activation is not keras.activations.sigmoid,
            "use_cudnn=True": self.use_cudnn is True,
        }
        bad = [name for name, is_set in unsupported.items() if is_set]
        if bad:
            raise ValueError(
                f"WindowLSTM does not support {', '.join(bad)}; use keras.layers.LSTM for that"
            )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if mask is not None:
            raise ValueError("WindowLSTM does not support masking; use keras.layers.LSTM")
        # ops.copy reads each variable's value (free under XLA): the custom gradient must
        # see tensors, since TensorFlow treats a variable read inside it differently
        cell = self.cell
        y, h, c = lstm_window(
            sequences,
            initial_state[0],
            initial_state[1],
            ops.copy(cell.kernel),
            ops.copy(cell.recurrent_kernel),
            ops.copy(cell.bias),
            unroll=self.unroll,
        )
        return h, y, [h, c]
