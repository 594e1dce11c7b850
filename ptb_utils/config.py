"""Hyperparameters of the PTB language model: the TensorFlow tutorial's four configurations.

A :class:`Config` is immutable; :func:`get_config` returns a named one, optionally with some
fields replaced, and checks every value so that a typo or an impossible setting fails at once
with a message saying what to change, not an hour into training.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass(frozen=True)
class Config:
    """Everything that defines one training run of the word-level LSTM language model.

    The names and meanings are the tutorial's: the learning rate of epoch ``i`` (0-based) is
    ``learning_rate * lr_decay ** max(i + 1 - max_epoch, 0)``; training lasts
    ``max_max_epoch`` epochs; ``keep_prob`` is the probability of *keeping* a unit in dropout
    (1.0 switches dropout off); ``max_grad_norm`` clips the global gradient norm of the
    tutorial's loss (summed over the ``num_steps`` time steps, averaged over the batch).

    Two fields are the book's, for chapter 7's controlled comparisons; their defaults are the
    tutorial's model: ``forget_bias`` is the value the LSTMs' forget-gate biases start from
    (the tutorial's cells used 0.0; Keras' default adds 1.0), and ``cell`` is the recurrent
    layer, ``"lstm"`` or ``"rnn"`` (a simple tanh cell, ``keras.layers.SimpleRNN``).
    """

    init_scale: float = 0.1
    learning_rate: float = 1.0
    max_grad_norm: float = 5.0
    num_layers: int = 2
    num_steps: int = 20
    hidden_size: int = 200
    max_epoch: int = 4
    max_max_epoch: int = 13
    keep_prob: float = 1.0
    lr_decay: float = 0.5
    batch_size: int = 20
    vocab_size: int = 10_000
    forget_bias: float = 0.0
    cell: str = "lstm"

    def __post_init__(self) -> None:
        validate(self)

    def lr_at(self, epoch: int) -> float:
        """The learning rate of 0-based ``epoch``: constant, then decayed once per epoch."""
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        return self.learning_rate * self.lr_decay ** max(epoch + 1 - self.max_epoch, 0)

    def replace(self, **overrides: Any) -> Config:
        """A copy with ``overrides`` applied (names and values checked)."""
        _check_names(overrides)
        return dataclasses.replace(self, **{k: _coerce(k, v) for k, v in overrides.items()})

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for checkpoints and JSON)."""
        return dataclasses.asdict(self)


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Config))
#: The recurrent layers a config can ask for (``Config.cell``).
CELLS: tuple[str, ...] = ("lstm", "rnn")
_INT_FIELDS = (
    "num_layers",
    "num_steps",
    "hidden_size",
    "max_epoch",
    "max_max_epoch",
    "batch_size",
    "vocab_size",
)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate(config: Config) -> None:
    """Raise ``ValueError`` naming the field and the fix when a value is impossible.

    Types are checked first, so that a value read from a command line or a JSON file as the
    wrong type (``"0.5"`` as a string, ``null``) is named, not met later as a ``TypeError``.
    """
    for name in FIELDS:
        value = getattr(config, name)
        if name == "cell":
            if value not in CELLS:
                raise ValueError(f"cell must be one of {list(CELLS)}, got {value!r}")
        elif name in _INT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        elif not _is_number(value):
            hint = " (a string: drop the quotes)" if isinstance(value, str) else ""
            raise ValueError(
                f"{name} must be a finite number such as {getattr(Config, name)}, "
                f"got {value!r}{hint}"
            )
    for name in ("init_scale", "learning_rate", "max_grad_norm"):
        value = getattr(config, name)
        if not value > 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not 0.0 < config.keep_prob <= 1.0:
        raise ValueError(
            f"keep_prob is the probability of keeping a unit, so 0 < keep_prob <= 1; got "
            f"{config.keep_prob!r} (use 1.0 for no dropout)"
        )
    if not 0.0 < config.lr_decay <= 1.0:
        raise ValueError(f"lr_decay must be in (0, 1], got {config.lr_decay!r}")
    if config.vocab_size < 2:
        raise ValueError(f"vocab_size must be >= 2, got {config.vocab_size}")


#: The tutorial's configurations (``ptb_word_lm.py``: SmallConfig, MediumConfig, ...).
CONFIGS: Mapping[str, Config] = {
    "small": Config(),
    "medium": Config(
        init_scale=0.05,
        num_steps=35,
        hidden_size=650,
        max_epoch=6,
        max_max_epoch=39,
        keep_prob=0.5,
        lr_decay=0.8,
    ),
    "large": Config(
        init_scale=0.04,
        max_grad_norm=10.0,
        num_steps=35,
        hidden_size=1500,
        max_epoch=14,
        max_max_epoch=55,
        keep_prob=0.35,
        lr_decay=1 / 1.15,
    ),
    "test": Config(
        max_grad_norm=1.0, num_layers=1, num_steps=2, hidden_size=2, max_epoch=1, max_max_epoch=1
    ),
}


def _check_names(overrides: Mapping[str, Any]) -> None:
    unknown = sorted(set(overrides) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown config field(s) {unknown}; the fields are {list(FIELDS)}")


def _coerce(name: str, value: Any) -> Any:
    """Accept ints for float fields and integral floats for int fields (e.g. from JSON)."""
    if name in _INT_FIELDS and isinstance(value, float) and value.is_integer():
        return int(value)
    if name not in _INT_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def get_config(name: str, **overrides: Any) -> Config:
    """The configuration ``name`` (small, medium, large, test) with ``overrides`` applied.

    >>> get_config("small", max_max_epoch=2).max_max_epoch
    2
    """
    if name not in CONFIGS:
        raise ValueError(f"unknown config {name!r}; choose one of {list(CONFIGS)}")
    return CONFIGS[name].replace(**overrides)


def differences(a: Config, b: Config) -> dict[str, tuple[Any, Any]]:
    """The fields whose values differ, ``{name: (value in a, value in b)}``."""
    return {n: (getattr(a, n), getattr(b, n)) for n in FIELDS if getattr(a, n) != getattr(b, n)}


def describe(config: Config) -> str:
    """A short name: ``"small"``, or the closest named config and what differs from it.

    >>> describe(get_config("test", hidden_size=8))
    'test with hidden_size=8'
    """
    name = min(CONFIGS, key=lambda n: len(differences(CONFIGS[n], config)))
    changed = differences(CONFIGS[name], config)
    return (
        name
        if not changed
        else f"{name} with "
        + ", ".join(
            f"{field}={value:g}" if _is_number(value) else f"{field}={value}"
            for field, (_, value) in changed.items()
        )
    )


#: The ways of computing the same training step, as ``LSTM-XLA-LOOP``: the LSTM layer
#: (``window``: :class:`ptb_utils.lstm.WindowLSTM`; ``keras``: ``keras.layers.LSTM``), the step
#: compiled with XLA or not (``xla``, ``noxla``), and the time loop written out step by step or
#: symbolic (``unrolled``, ``scan``). They give the same model to float rounding, except that
#: with dropout XLA draws other masks than TensorFlow's own kernels (as another seed would);
#: which is fastest depends on the machine, so ``bench/train_throughput.py --engines`` measures
#: them.
ENGINE_VARIANTS = tuple(
    f"{lstm}-{xla}-{loop}"
    for lstm in ("window", "keras")
    for xla in ("xla", "noxla")
    for loop in ("unrolled", "scan")
)


class Engine(NamedTuple):
    """The keyword arguments of :func:`ptb_utils.train.train` that a variant stands for."""

    lstm: str
    jit_compile: bool
    unroll: bool


def parse_engine(spec: str) -> Engine:
    """``"window-noxla-scan"`` -> ``Engine(lstm="window", jit_compile=False, unroll=False)``.

    Raises ``ValueError`` naming the valid spellings for anything else.
    """
    if spec not in ENGINE_VARIANTS:
        raise ValueError(
            f"engine {spec!r} is not one of {', '.join(ENGINE_VARIANTS)} "
            f"(LSTM layer, XLA or not, time loop)"
        )
    lstm, xla, loop = spec.split("-")
    return Engine(lstm, xla == "xla", loop == "unrolled")
