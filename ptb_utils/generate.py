"""Text from a trained language model: next-word distributions and sampling.

The model reads the seed text word by word (state carried, as in training) and then, one word
at a time, turns its logits into probabilities, keeps the ``top_k`` most likely words (if
given), sharpens or flattens them with ``temperature`` and draws the next word, which becomes
the next input. A fixed ``seed`` gives the same text every time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import keras
import numpy as np
from tqdm import tqdm

from ptb_utils.data import EOS, UNK, Vocabulary, tokenize
from ptb_utils.model import PTBModel, State

#: Below this temperature every draw is the most likely word (``top_k=1`` says so directly).
MIN_TEMPERATURE = 1e-3


def encode_text(vocab: Vocabulary, text: str) -> tuple[np.ndarray, list[str]]:
    """Ids of the words of ``text`` (newlines become ``<eos>``), unknown words as ``<unk>``.

    PTB text is lower-case with numbers written ``N``, so the text is lower-cased first.
    Returns ``(ids int32 [n], the words that were not in the vocabulary)``.
    """
    words = tokenize(text.lower())
    if not words:
        raise ValueError("the seed text is empty: give at least one word, e.g. 'the'")
    unknown = [w for w in words if w not in vocab]
    return vocab.encode([w if w in vocab else UNK for w in words]), unknown


def _read(model: PTBModel, ids: np.ndarray) -> tuple[np.ndarray, State]:
    """Feed ``ids`` from a zero state; return the last position's logits ``[vocab]`` and state."""
    logits, state = model(np.asarray(ids, dtype="int32")[None, :], model.zero_state(1))
    return keras.ops.convert_to_numpy(logits)[0, -1], state


def next_word_probs(model: PTBModel, vocab: Vocabulary, text: str) -> np.ndarray:
    """The model's probability of every word coming next after ``text``, ``[vocab_size]``."""
    ids, _ = encode_text(vocab, text)
    logits, _ = _read(model, ids)
    return _softmax(logits)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max())
    return z / z.sum()


@dataclass(frozen=True)
class Sample:
    """A generated continuation: ``words`` (the new words only), and the seed's unknown words."""

    seed_text: str
    words: list[str]
    unknown: list[str]

    @property
    def text(self) -> str:
        """The new words joined, with ``<eos>`` shown as a line break."""
        return " ".join(self.words).replace(f" {EOS} ", "\n").replace(EOS, "\n").strip()


def sample(
    model: PTBModel,
    vocab: Vocabulary,
    seed_text: str,
    num_words: int = 50,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    progress: bool = False,
) -> Sample:
    """Continue ``seed_text`` with ``num_words`` sampled words.

    ``temperature`` < 1 makes likely words likelier (more conservative text), > 1 flattens
    the distribution; ``top_k`` draws only among the ``k`` most likely words. Words of the
    seed that are not in the vocabulary are read as ``<unk>`` and listed in
    ``Sample.unknown`` (a warning says so too). ``progress`` shows a progress bar (stderr).
    """
    if num_words < 1:
        raise ValueError(f"num_words must be >= 1, got {num_words}")
    if not (np.isfinite(temperature) and temperature >= MIN_TEMPERATURE):
        raise ValueError(
            f"temperature must be a number >= {MIN_TEMPERATURE}, got {temperature} "
            f"(try 1.0, or 0.7 for safer text; top_k=1 always takes the likeliest)"
        )
    if top_k is not None and not 1 <= top_k <= len(vocab):
        raise ValueError(f"top_k must be between 1 and {len(vocab)}, got {top_k}")
    ids, unknown = encode_text(vocab, seed_text)
    if unknown:
        warnings.warn(
            f"not in the PTB vocabulary, read as {UNK}: {', '.join(unknown)}", stacklevel=2
        )
    rng = np.random.default_rng(seed)
    logits, state = _read(model, ids)
    words = []
    for _ in tqdm(
        range(num_words),
        desc="generate",
        unit="word",
        disable=not progress,
        leave=False,
        mininterval=1,
    ):
        z = np.asarray(logits, dtype=np.float64) / temperature  # finite: temperature >= 1e-3
        if top_k is not None:
            z[np.argsort(z)[:-top_k]] = -np.inf
        word_id = int(rng.choice(len(z), p=_softmax(z)))
        words.append(vocab.words[word_id])
        out, state = model(np.array([[word_id]], dtype="int32"), state)
        logits = keras.ops.convert_to_numpy(out)[0, -1]
    return Sample(seed_text=seed_text, words=words, unknown=unknown)
