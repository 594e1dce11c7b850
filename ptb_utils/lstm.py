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


def lstm_window(x, h0, c0, kernel, recurrent_kernel, bias):
    """Run the LSTM over a window: ``x [B, T, I] -> (h_1..h_T [B, T, H], h_T, c_T)``.

    ``kernel [I, 4H]``, ``recurrent_kernel [H, 4H]`` and ``bias [4H]`` are laid out as in
    ``keras.layers.LSTM`` (gates i, f, c, o). The time loop is written out (unrolled) for
    the static window length ``T``; the gradient is the hand-written one described in the
    module docstring.
    """
    return _lstm_window(x, h0, c0, kernel, recurrent_kernel, bias)


@ops.custom_gradient
def _lstm_window(x, h0, c0, kernel, recurrent_kernel, bias):
    steps, units = x.shape[1], recurrent_kernel.shape[0]
    xw = ops.matmul(x, kernel) + bias  # every step's input projection at once: [B, T, 4H]
    h, c = h0, c0
    hs, cs, tanh_cs, gates = [], [], [], []
    for t in range(steps):
        z = xw[:, t] + ops.matmul(h, recurrent_kernel)
        i = ops.sigmoid(z[:, :units])
        f = ops.sigmoid(z[:, units : 2 * units])
        g = ops.tanh(z[:, 2 * units : 3 * units])
        o = ops.sigmoid(z[:, 3 * units :])
        c = f * c + i * g
        tanh_c = ops.tanh(c)
        h = o * tanh_c
        hs.append(h)
        cs.append(c)
        tanh_cs.append(tanh_c)
        gates.append((i, f, g, o))
    y = ops.stack(hs, axis=1)

    def grad(*upstream):
        # TensorFlow passes one gradient per output, JAX one tuple of them
        dy, dh_next, dc_next = upstream[0] if len(upstream) == 1 else upstream
        recurrent_t = ops.transpose(recurrent_kernel)
        dzs = [None] * steps
        for t in reversed(range(steps)):
            i, f, g, o = gates[t]
            dh = dy[:, t] + dh_next
            dc = dc_next + dh * o * (1.0 - tanh_cs[t] * tanh_cs[t])
            c_prev = cs[t - 1] if t > 0 else c0
            dz = ops.concatenate(
                [
                    dc * g * i * (1.0 - i),
                    dc * c_prev * f * (1.0 - f),
                    dc * i * (1.0 - g * g),
                    dh * tanh_cs[t] * o * (1.0 - o),
                ],
                axis=1,
            )
            dc_next = dc * f
            dh_next = ops.matmul(dz, recurrent_t)
            dzs[t] = dz
        dz_all = ops.reshape(ops.stack(dzs, axis=1), (-1, 4 * units))  # [B*T, 4H]
        h_prev = ops.reshape(ops.stack([h0] + hs[:-1], axis=1), (-1, units))
        x_flat = ops.reshape(x, (-1, x.shape[-1]))
        d_kernel = ops.matmul(ops.transpose(x_flat), dz_all)
        d_recurrent = ops.matmul(ops.transpose(h_prev), dz_all)
        d_bias = ops.sum(dz_all, axis=0)
        dx = ops.reshape(ops.matmul(dz_all, ops.transpose(kernel)), ops.shape(x))
        return dx, dh_next, dc_next, d_kernel, d_recurrent, d_bias

    return (y, h, c), grad


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
        )
        return h, y, [h, c]
