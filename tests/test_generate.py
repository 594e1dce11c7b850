"""Sampling from the language model: determinism, top-k, temperature, unknown words."""

from __future__ import annotations

import numpy as np
import pytest

from ptb_utils.config import get_config
from ptb_utils.data import Vocabulary
from ptb_utils.generate import encode_text, next_word_probs, sample
from ptb_utils.model import build_model

VOCAB = Vocabulary(tuple(["<unk>", "<eos>", "the", "cat", "sat", "on", "mat", "a", "dog", "N"]))


@pytest.fixture(scope="module")
def model():
    return build_model(
        get_config("test", hidden_size=8, vocab_size=len(VOCAB), init_scale=1.0), seed=5
    )


def test_same_seed_same_text(model):
    a = sample(model, VOCAB, "the cat", num_words=12, seed=3)
    b = sample(model, VOCAB, "the cat", num_words=12, seed=3)
    c = sample(model, VOCAB, "the cat", num_words=12, seed=4)
    assert a.words == b.words and len(a.words) == 12 and a.words != c.words
    assert set(a.words) <= set(VOCAB.words)


def test_top_1_is_greedy(model):
    words = sample(model, VOCAB, "the", num_words=4, top_k=1, seed=0).words
    probs = next_word_probs(model, VOCAB, "the")
    assert probs.shape == (len(VOCAB),) and probs.sum() == pytest.approx(1.0)
    assert words[0] == VOCAB.words[int(np.argmax(probs))]
    assert sample(model, VOCAB, "the", num_words=4, top_k=1, seed=9).words == words


def test_unknown_words_become_unk_with_a_note(model):
    ids, unknown = encode_text(VOCAB, "The Zebra sat")
    assert list(ids) == [2, 0, 4] and unknown == ["zebra"]
    with pytest.warns(UserWarning, match="zebra"):
        result = sample(model, VOCAB, "the zebra", num_words=2)
    assert result.unknown == ["zebra"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 0}, "temperature"),
        ({"temperature": 1e-320}, "temperature must be a number >= 0.001.*top_k=1"),
        ({"temperature": float("nan")}, "temperature must be a number"),
        ({"top_k": 0}, "top_k"),
        ({"num_words": 0}, "num_words"),
        ({"seed_text": "  "}, "empty"),
    ],
)
def test_bad_arguments(model, kwargs, message):
    args = {"seed_text": "the", **kwargs}
    with pytest.raises(ValueError, match=message):
        sample(model, VOCAB, **args)


def test_low_temperature_is_greedy(model):
    greedy = sample(model, VOCAB, "the cat", num_words=6, top_k=1).words
    assert sample(model, VOCAB, "the cat", num_words=6, temperature=1e-3, seed=7).words == greedy


def test_progress_bar_on_request(model, capsys):
    sample(model, VOCAB, "the", num_words=3, progress=True)
    assert "generate:" in capsys.readouterr().err
    sample(model, VOCAB, "the", num_words=3)
    assert capsys.readouterr().err == ""
