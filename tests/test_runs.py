"""Run files: whole files only, one writer per folder, damaged checkpoints, the results rule."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ptb_utils import runs
from ptb_utils.config import CONFIGS, get_config
from ptb_utils.runs import CHECKPOINT, HISTORY, CheckpointError, RunFolderError

TINY = get_config("test", hidden_size=8)
HISTORY_ROWS = [
    {
        "epoch": 1,
        "lr": 1.0,
        "train_ppl": 300.0,
        "valid_ppl": 180.0,
        "words_per_sec": 10.0,
        "wall_time_s": 5.0,
    },
    {
        "epoch": 2,
        "lr": 1.0,
        "train_ppl": 150.0,
        "valid_ppl": 140.0,
        "words_per_sec": 30.0,
        "wall_time_s": 9.0,
    },
]


@pytest.fixture
def umask_022(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "umask", os.umask)  # monkeypatch restores the process's umask
    os.umask(0o022)


def test_atomic_write_uses_the_umask(tmp_path: Path, umask_022: None) -> None:
    path = runs.write_text(tmp_path / "a.txt", "hello")
    assert path.read_text() == "hello" and stat.S_IMODE(path.stat().st_mode) == 0o644


def test_failed_write_keeps_the_old_file_and_leaves_no_partial(tmp_path: Path) -> None:
    path = runs.write_text(tmp_path / "a.txt", "old")

    def fail(f) -> None:
        f.write(b"half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        runs.atomic_write(path, fail)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_only_partials_of_dead_writers_are_removed(tmp_path: Path) -> None:
    dead = tmp_path / f".{CHECKPOINT}.partial-999999999"
    alive = runs.partial_path(tmp_path / HISTORY)  # this process's
    keep = tmp_path / "notes.partial-1.txt"
    for path in (dead, alive, keep):
        path.write_text("x")
    assert runs.remove_stale_partials(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, keep.name])


def test_a_second_process_is_refused(tmp_path: Path, hold_lock) -> None:
    folder = hold_lock(tmp_path / "run")
    with (
        pytest.raises(RunFolderError, match="is in use: another process is writing a run"),
        runs.lock_folders(folder),
    ):
        pass


def test_the_lock_is_reentrant_and_released(tmp_path: Path) -> None:
    with runs.lock_folders(tmp_path, tmp_path / "results"), runs.lock_folders(tmp_path):
        pass
    probe = "from ptb_utils.runs import lock_folders\nwith lock_folders(r'%s'): print('ok')"
    done = subprocess.run(
        [sys.executable, "-c", probe % tmp_path], capture_output=True, text=True, check=False
    )
    assert done.stdout == "ok\n", done.stderr


def test_unusable_folders_are_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFolderError, match="cannot use .*/file as a run folder: it is a file"):
        runs.prepare_folder(tmp_path / "file")
    with pytest.raises(RunFolderError, match="cannot use .*/file/run as a run folder: Not a dir"):
        runs.prepare_folder(tmp_path / "file" / "run")
    assert runs.prepare_folder(tmp_path / "new" / "run").is_dir()  # missing parents are made


# --- checkpoints ---------------------------------------------------------


def write_good(path: Path, config=TINY, **meta) -> Path:
    meta = {"epoch": 1, "config": config.to_dict(), "history": [], **meta}
    runs.write_checkpoint(path, [np.arange(6.0).reshape(2, 3), np.ones(4, "float32")], meta)
    return path


def flip_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # inside the stored arrays: the zip's CRC catches it
    path.write_bytes(bytes(raw))


def rewrite_meta(path: Path, meta: str | None) -> None:
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files if k != "meta"}
    extra = {} if meta is None else {"meta": np.array(meta)}
    np.savez(path, **arrays, **extra)


DAMAGE: dict[str, tuple[Callable[[Path], object], str]] = {
    "empty": (lambda p: p.write_bytes(b""), "it is empty"),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "damaged"),
    "flipped byte": (flip_byte, "damaged"),
    "random bytes": (lambda p: p.write_bytes(os.urandom(3000)), "not a .npz archive"),
    "pickle": (lambda p: p.write_bytes(b"\x80\x04K\x01."), "not a .npz archive"),
    "no meta": (lambda p: rewrite_meta(p, None), "no 'meta' entry"),
    "bad meta": (lambda p: rewrite_meta(p, "{not json"), "an entry cannot be read"),
    "meta lacks fields": (lambda p: rewrite_meta(p, '{"epoch": 1}'), "lacks epoch, config"),
    "unknown field": (
        lambda p: rewrite_meta(
            p, json.dumps({"epoch": 1, "history": [], "config": {**TINY.to_dict(), "dropout": 0.1}})
        ),
        "fields this engine does not know \\(dropout\\)",
    ),
    "impossible config": (
        lambda p: rewrite_meta(
            p,
            json.dumps(
                {"epoch": 1, "history": [], "config": {**TINY.to_dict(), "keep_prob": "0.5"}}
            ),
        ),
        "its config is impossible \\(keep_prob must be a finite number",
    ),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_checkpoints_say_so_in_one_line(tmp_path: Path, damage: str) -> None:
    path = write_good(tmp_path / CHECKPOINT)
    spoil, message = DAMAGE[damage]
    spoil(path)
    with pytest.raises(CheckpointError, match=message) as exc:
        runs.read_checkpoint(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)
    assert "pickle" not in str(exc.value)  # never suggest unpickling an unknown file


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    ckpt = runs.read_checkpoint(write_good(tmp_path / CHECKPOINT, seed=2))
    assert ckpt.config == TINY and ckpt.epoch == 1 and ckpt.meta["seed"] == 2
    np.testing.assert_array_equal(ckpt.arrays[0], np.arange(6.0).reshape(2, 3))
    assert zipfile.is_zipfile(tmp_path / CHECKPOINT)
    assert runs.read_checkpoint(tmp_path / CHECKPOINT, arrays=False).arrays == []
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*train first"):
        runs.read_checkpoint(tmp_path / "none.npz")


# --- history, metrics, what a folder holds ------------------------------------------------------


def test_summarize_and_write_metrics(tmp_path: Path) -> None:
    metrics = runs.summarize(HISTORY_ROWS, config="test", seed=3)
    assert metrics == {
        "config": "test",
        "seed": 3,
        "epochs": 2,
        "epoch1_valid_ppl": 180.0,
        "train_ppl": 150.0,
        "valid_ppl": 140.0,
        "wall_time_s": 9.0,
        "words_per_sec_median": 20.0,
    }
    path = runs.write_metrics(tmp_path / "run", metrics)
    assert json.loads(path.read_text()) == metrics
    with pytest.raises(ValueError, match="no epoch"):
        runs.summarize([])


def test_history_csv(tmp_path: Path) -> None:
    runs.write_history(tmp_path / HISTORY, HISTORY_ROWS)
    lines = (tmp_path / HISTORY).read_text().splitlines()
    assert lines[0] == ",".join(runs.HISTORY_FIELDS) and lines[2] == "2,1.0,150.0,140.0,30.0,9.0"


def test_describe_run(tmp_path: Path) -> None:
    runs.write_history(tmp_path / HISTORY, HISTORY_ROWS)
    assert runs.describe_run(tmp_path) == f"2 epoch(s) in {HISTORY}"
    runs.write_metrics(tmp_path, {"config": "small", "epochs": 13})
    assert runs.describe_run(tmp_path) == "config small, 13 epoch(s) done"
    write_good(tmp_path / CHECKPOINT, epoch=3)
    assert runs.describe_run(tmp_path) == "config test with hidden_size=8, 3 epoch(s) done"


# --- which folder a run may use ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "folder"),
    [
        (("small", None, None), "results/ch07-small"),
        (("small", 13, 0), "results/ch07-small"),
        (("medium", 0, 0, 0), "results/ch07-medium"),
        (("small", 1, 5), "runs/ch07-small-epochs1-batches5-seed0"),
        (("small", None, 5), "runs/ch07-small-epochs13-batches5-seed0"),
        (("small", 12, None), "runs/ch07-small-epochs12-batchesall-seed0"),
        (("large", None, None, 1), "runs/ch07-large-epochs55-batchesall-seed1"),
        (("test", None, None), "runs/ch07-test-epochs1-batchesall-seed0"),
    ],
)
def test_run_folder(args: tuple, folder: str) -> None:
    assert runs.run_folder(*args) == Path(folder)
    assert runs.run_folder(*args, results="../results", runs="../runs").name == Path(folder).name


def test_published_run_is_the_full_schedule_exactly() -> None:
    small = CONFIGS["small"]
    assert runs.is_published_run(small, None, None) and runs.is_published_run(small, 13, None)
    assert not runs.is_published_run(small, 12, None)
    assert not runs.is_published_run(small, None, 100)
    assert not runs.is_published_run(small, None, None, max_valid_batches=10)
    assert not runs.is_published_run(small, None, None, seed=1)
    assert not runs.is_published_run(small.replace(hidden_size=100), None, None)
    assert not runs.is_published_run(CONFIGS["test"], None, None)


def test_claim_rules(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    runs.claim(out, out, resume=False, overwrite=False, published=False)  # empty: fine
    with pytest.raises(FileNotFoundError):
        runs.claim(out, out, resume=True, overwrite=False, published=False)
    write_good(out / CHECKPOINT)
    with pytest.raises(RunFolderError, match="already holds a run"):
        runs.claim(out, out, resume=False, overwrite=False, published=False)
    runs.claim(out, out, resume=True, overwrite=False, published=False)
    runs.claim(out, out, resume=False, overwrite=True, published=False)
    assert list(out.iterdir()) == []
    book = tmp_path / "results" / "ch07-small"
    book.mkdir(parents=True)
    runs.write_metrics(book, {"config": "small", "epochs": 13})
    with pytest.raises(
        RunFolderError,
        match=r"holds the book's published run \(config small, "
        r"13 epoch\(s\) done\)",
    ):
        runs.claim(out, book, resume=False, overwrite=True, published=False)
    runs.claim(out, book, resume=False, overwrite=True, published=True)
    assert list(book.iterdir()) == []
