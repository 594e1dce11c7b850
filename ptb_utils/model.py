"""The word-level LSTM language model of the TensorFlow PTB tutorial, in Keras 3.

    ids [batch, steps] -> Embedding -> Dropout -> (LSTM -> Dropout) x num_layers -> Dense -> logits

The recurrent state is explicit: the model takes the token ids *and* the state each LSTM layer
starts from, and returns the logits *and* the state each layer ended in. The caller feeds that
state back with the next window of text, which is truncated backpropagation through time: the
state flows across windows, gradients do not. (This is what the tutorial does with
``initial_state`` / ``final_state``; Keras' ``stateful=True`` is not used because under the JAX
backend ``fit`` and ``predict`` do not carry it.) The code only uses ``keras.layers`` and
``keras.ops``, so it runs unchanged on the TensorFlow and the JAX backends.

As in the tutorial, every weight matrix and the softmax bias start uniform in
``[-init_scale, init_scale]``, each drawn independently; the LSTM biases start at zero, with
no +1 on the forget gate (its cells used ``forget_bias=0.0``, hence ``unit_forget_bias=False``);
``config.forget_bias`` starts the forget gates' bias elsewhere, and ``config.cell == "rnn"``
puts ``keras.layers.SimpleRNN`` layers in the LSTMs' place (chapter 7's comparisons).

Each LSTM layer is a :class:`ptb_utils.lstm.WindowLSTM` by default: Keras' own LSTM layer
with the same weights and results, computed faster over a whole window (see that module);
``lstm="keras"`` uses ``keras.layers.LSTM`` itself.
"""

from __future__ import annotations

import keras
import numpy as np

from ptb_utils.config import Config
from ptb_utils.lstm import WindowLSTM

#: One ``(h, c)`` pair per LSTM layer, each ``[batch, hidden_size]`` float32.
State = list[tuple]

#: The LSTM layer classes ``lstm=`` chooses from: the same weights and results, different speed.
LSTM_LAYERS = {"window": WindowLSTM, "keras": keras.layers.LSTM}


def lstm_bias(forget_bias: float):
    """The LSTM bias initializer: zeros, and ``forget_bias`` on the forget gate's quarter.

    Keras lays the bias out gate by gate in the order i, f, c, o, and ``unit_forget_bias=True``
    would put 1.0 on the forget gate; the tutorial started every bias at 0.0.
    """
    if forget_bias == 0:
        return "zeros"

    def initializer(shape, dtype=None):
        units = shape[0] // 4
        values = np.zeros(shape, dtype="float32")
        values[units : 2 * units] = forget_bias
        return keras.ops.convert_to_tensor(values, dtype=dtype)

    return initializer


class PTBModel(keras.Model):
    """``model(ids, state, training=False) -> (logits [batch, steps, vocab], new_state)``.

    ``lstm`` picks the LSTM layer class from :data:`LSTM_LAYERS` (``"window"``, the default,
    or ``"keras"``). ``unroll=True`` writes the time loop out step by step, which lets XLA
    fuse it (faster on a CPU for the tutorial's 20- and 35-step windows); ``False`` keeps a
    symbolic loop, which compiles faster.
    """

    def __init__(
        self,
        config: Config,
        unroll: bool = True,
        seed: int | None = None,
        lstm: str = "window",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if lstm not in LSTM_LAYERS:
            raise ValueError(f"lstm must be one of {list(LSTM_LAYERS)}, got {lstm!r}")
        self.config = config
        seeds = np.random.default_rng(seed)

        def init() -> keras.initializers.RandomUniform:
            # a new initializer, with its own seed, for every weight: one seeded initializer
            # shared by several weights would give them all the same numbers
            return keras.initializers.RandomUniform(
                -config.init_scale, config.init_scale, seed=int(seeds.integers(2**31))
            )

        hidden, rate = config.hidden_size, 1.0 - config.keep_prob
        self.embedding = keras.layers.Embedding(
            config.vocab_size, hidden, embeddings_initializer=init(), name="embedding"
        )
        bias: dict[str, object]
        if config.cell == "rnn":  # the simple cell has no gates, so no forget bias
            layer, prefix, bias = keras.layers.SimpleRNN, "rnn", {"bias_initializer": "zeros"}
        else:
            layer, prefix = LSTM_LAYERS[lstm], "lstm"
            bias = {"bias_initializer": lstm_bias(config.forget_bias), "unit_forget_bias": False}
        self.lstms = [
            layer(
                hidden,
                return_sequences=True,
                return_state=True,
                unroll=unroll,
                kernel_initializer=init(),
                recurrent_initializer=init(),
                name=f"{prefix}_{i}",
                **bias,
            )
            for i in range(config.num_layers)
        ]
        # keep_prob = 1.0 means no dropout at all (and no random numbers drawn).
        self.dropouts = (
            [
                keras.layers.Dropout(
                    rate, seed=None if seed is None else seed + i, name=f"dropout_{i}"
                )
                for i in range(config.num_layers + 1)
            ]
            if rate > 0
            else []
        )
        self.softmax = keras.layers.Dense(
            config.vocab_size, kernel_initializer=init(), bias_initializer=init(), name="softmax"
        )

    def _drop(self, i: int, x, training: bool):
        return self.dropouts[i](x, training=training) if self.dropouts else x

    def call(self, ids, state: State, training: bool = False):
        x = self._drop(0, self.embedding(ids), training)
        new_state = []
        for i, lstm in enumerate(self.lstms):
            x, *layer_state = lstm(x, initial_state=list(state[i]), training=training)
            x = self._drop(i + 1, x, training)
            new_state.append(tuple(layer_state))
        return self.softmax(x), new_state

    def zero_state(self, batch_size: int) -> State:
        """The all-zero state each epoch (and each generated text) starts from."""
        zeros = np.zeros((batch_size, self.config.hidden_size), dtype="float32")
        per_layer = (zeros,) if self.config.cell == "rnn" else (zeros, zeros)
        return [per_layer for _ in range(self.config.num_layers)]

    @property
    def embeddings(self) -> np.ndarray:
        """The learned word vectors, ``[vocab_size, hidden_size]``; row ``i`` is word id ``i``."""
        return keras.ops.convert_to_numpy(self.embedding.embeddings)


def build_model(
    config: Config, unroll: bool = True, seed: int | None = None, lstm: str = "window"
) -> PTBModel:
    """A :class:`PTBModel` with its weights created (so ``count_params`` works at once)."""
    model = PTBModel(config, unroll=unroll, seed=seed, lstm=lstm)
    model(np.zeros((1, 1), dtype="int32"), model.zero_state(1))
    return model
