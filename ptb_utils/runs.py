"""The files of a training run, written so that no interruption and no second process loses one.

A run folder holds ``checkpoint.npz`` (every variable, and the run's config, seed and history),
``history.csv`` (one row per finished epoch) and ``metrics.json`` (the headline numbers of a
finished run). Four rules keep them safe:

1. **Whole files only.** Every file is written to ``.NAME.partial-PID`` beside it and then
   renamed over ``NAME`` (:func:`atomic_write`), so a reader sees the old file or the new one,
   never half of one. A killed writer leaves at most such a partial file, which the next run
   in the folder removes (:func:`remove_stale_partials`). Files get the usual permissions
   (the umask applies), like any other file the user creates.
2. **One writer per folder.** :func:`lock_folders` holds an OS lock (``flock``) on each run
   folder for the whole run; a second process asking for the same folder is refused at once.
3. **No silent replacement.** A folder that already holds a run is used again only to
   continue it (``resume``) or, when asked explicitly, to replace it (``overwrite``).
4. **The book's runs stay the book's.** A folder inside ``results/`` that holds a run can be
   replaced only by a run of the full published schedule (:func:`is_published_run`); any other
   run belongs under ``runs/`` (:func:`run_folder` names the folder).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from ptb_utils.config import CONFIGS, FIELDS, Config, describe

CHECKPOINT = "checkpoint.npz"
HISTORY = "history.csv"
METRICS = "metrics.json"
RUN_FILES = (CHECKPOINT, HISTORY, METRICS)
HISTORY_FIELDS = ("epoch", "lr", "train_ppl", "valid_ppl", "words_per_sec", "wall_time_s")
#: The configurations whose full schedules the book publishes in ``results/``.
PUBLISHED = ("small", "medium", "large")


class RunFolderError(ValueError):
    """A run folder cannot be used as asked: it holds another run, is in use, or is unwritable."""


class CheckpointError(ValueError):
    """A checkpoint file is damaged, or was not written by this engine."""


# --- whole files only -------------------------------------------------------------------------


def partial_path(path: Path) -> Path:
    """Where :func:`atomic_write` writes ``path`` before renaming it: ``.NAME.partial-PID``."""
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write(file)`` on a partial file beside ``path``, then rename it to ``path``.

    The partial file is removed if ``write`` (or anything else) fails, and it is flushed to
    disk before the rename, so that ``path`` is always a whole file.
    """
    path = Path(path)
    partial = partial_path(path)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def remove_stale_partials(folder: str | os.PathLike) -> list[Path]:
    """Delete the partial files in ``folder`` left by writers that no longer run; return them."""
    removed = []
    for partial in Path(folder).glob(".*.partial-*"):
        pid = partial.name.rpartition("-")[2]
        if partial.is_file() and not (pid.isdigit() and _alive(int(pid))):
            partial.unlink(missing_ok=True)
            removed.append(partial)
    return removed


# --- one writer per folder --------------------------------------------------------------------

_held: dict[Path, int] = {}


def prepare_folder(folder: str | os.PathLike) -> Path:
    """Create ``folder`` (and its parents) and check that a file can be written in it.

    Raises :class:`RunFolderError` with the reason before any work is done, rather than after
    the first epoch.
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(f"cannot use {folder} as a run folder: it is a file; give a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = partial_path(folder / ".write-test")
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
        probe.unlink()
    except OSError as exc:
        raise RunFolderError(
            f"cannot use {folder} as a run folder: {exc.strerror or exc} "
            f"({exc.filename or folder}); choose a folder you can write to"
        ) from None
    return folder


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    key = folder.resolve()
    if key in _held:  # this process holds it already (the CLI around train())
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    fd = os.open(key, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFolderError(
                f"{folder} is in use: another process is writing a run there; wait for it to "
                f"finish, or choose another folder"
            ) from None
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def lock_folders(*folders: str | os.PathLike | None) -> Iterator[list[Path]]:
    """Prepare each folder (``None`` is skipped) and hold an exclusive OS lock on it.

    The lock is ``flock`` on the folder itself, so it leaves no file behind and is released
    by the system when the process ends, however it ends. Within one process the lock is
    re-entrant. Stale partial files are removed once the lock is held. Yields the folders.
    """
    paths = list(dict.fromkeys(prepare_folder(f) for f in folders if f is not None))
    with contextlib.ExitStack() as stack:
        for path in paths:
            stack.enter_context(_lock(path))
            remove_stale_partials(path)
        yield paths


# --- checkpoints ------------------------------------------------------------------------------


def write_checkpoint(path: str | os.PathLike, arrays: Sequence[np.ndarray], meta: dict) -> None:
    """Write ``arrays`` (as ``v0, v1, ...``) and the JSON-able ``meta`` to ``path`` atomically."""
    payload: dict[str, Any] = {f"v{i}": np.asarray(a) for i, a in enumerate(arrays)}
    atomic_write(path, lambda f: np.savez(f, meta=np.array(json.dumps(meta)), **payload))


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`read_checkpoint` returns: the run's ``meta``, its ``config`` and ``arrays``."""

    meta: dict
    config: Config
    arrays: list[np.ndarray]

    @property
    def epoch(self) -> int:
        """The number of finished epochs."""
        return int(self.meta["epoch"])


def _damaged(path: Path, reason: str) -> CheckpointError:
    return CheckpointError(
        f"{path} is damaged or not a checkpoint of this engine ({reason}); restore it from a "
        f"copy, or train again with --overwrite (overwrite=True)"
    )


def read_checkpoint(path: str | os.PathLike, arrays: bool = True) -> Checkpoint:
    """Read and check a checkpoint written by :func:`write_checkpoint`.

    Every way a file can be damaged (empty, truncated, a changed byte, missing or unreadable
    ``meta``, a config this engine does not know) raises :class:`CheckpointError` saying so;
    nothing in the file is ever unpickled. ``arrays=False`` reads only the metadata.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}: train first (python -m ptb_utils train --out DIR), "
            f"or point --out at the folder of an earlier run"
        )
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":  # every .npz file is a zip archive
        raise _damaged(path, "it is empty" if not magic else "it is not a .npz archive")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "meta" not in f.files:
                raise _damaged(path, "it has no 'meta' entry")
            meta = json.loads(str(f["meta"]))
            names = sorted((n for n in f.files if n != "meta"), key=lambda n: int(n[1:]))
            values = [f[n] for n in names] if arrays else []
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _damaged(path, str(exc) or type(exc).__name__) from None
    except (ValueError, KeyError):  # an unreadable array header, a bad entry name, bad JSON
        raise _damaged(path, "an entry cannot be read") from None
    if (
        not isinstance(meta, dict)
        or not isinstance(meta.get("config"), dict)
        or not isinstance(meta.get("epoch"), int)
        or not isinstance(meta.get("history"), list)
    ):
        raise _damaged(path, "its 'meta' lacks epoch, config or history")
    unknown = sorted(set(meta["config"]) - set(FIELDS))
    if unknown:
        raise CheckpointError(
            f"{path}: its config has fields this engine does not know "
            f"({', '.join(unknown)}); was it written by another version?"
        )
    try:
        config = Config(**meta["config"])
    except ValueError as exc:
        raise CheckpointError(f"{path}: its config is impossible ({exc})") from None
    return Checkpoint(meta=meta, config=config, arrays=values)


# --- history and metrics ----------------------------------------------------------------------


def write_history(path: str | os.PathLike, history: Sequence[Mapping[str, Any]]) -> Path:
    """Write the per-epoch records as CSV (columns :data:`HISTORY_FIELDS`), atomically."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(history)
    return write_text(path, text.getvalue())


def summarize(history: Sequence[Mapping[str, Any]], **about: object) -> dict:
    """The headline numbers of a finished run, as ``metrics.json`` records them.

    ``about`` names what produced the run (config, seed, ...) and may add scores computed
    after training (e.g. ``test_ppl_batch1``); the rest comes from the per-epoch ``history``.
    """
    if not history:
        raise ValueError("the history is empty: no epoch has finished")
    last = history[-1]
    return {
        **about,
        "epochs": last["epoch"],
        "epoch1_valid_ppl": history[0]["valid_ppl"],
        "train_ppl": last["train_ppl"],
        "valid_ppl": last["valid_ppl"],
        "wall_time_s": last["wall_time_s"],
        "words_per_sec_median": float(np.median([r["words_per_sec"] for r in history])),
    }


def write_metrics(directory: str | os.PathLike, metrics: Mapping[str, Any]) -> Path:
    """Write ``metrics`` to ``directory/metrics.json`` (atomically, like the history)."""
    path = Path(directory) / METRICS
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text(path, json.dumps(metrics, indent=2) + "\n")


# --- which folder a run may use ---------------------------------------------------------------


def describe_run(folder: str | os.PathLike) -> str:
    """What a run folder holds, e.g. ``"config small, 5 epochs done"``, read from its files."""
    folder = Path(folder)
    with contextlib.suppress(CheckpointError, FileNotFoundError):
        ckpt = read_checkpoint(folder / CHECKPOINT, arrays=False)
        return f"config {describe(ckpt.config)}, {ckpt.epoch} epoch(s) done"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        metrics = json.loads((folder / METRICS).read_text())
        return f"config {metrics['config']}, {metrics['epochs']} epoch(s) done"
    with contextlib.suppress(OSError, csv.Error):
        rows = list(csv.DictReader((folder / HISTORY).open(newline="")))
        return f"{len(rows)} epoch(s) in {HISTORY}"
    return "files that cannot be read"


def is_published_run(
    config: Config,
    epochs: int | None,
    max_batches: int | None,
    max_valid_batches: int | None = None,
    seed: int = 0,
) -> bool:
    """Whether these settings reproduce the book's run of a published configuration.

    That is one of :data:`PUBLISHED` exactly as the tutorial defines it, for all of its
    epochs, on every training and validation window, with the book's seed 0.
    """
    return (
        any(config == CONFIGS[name] for name in PUBLISHED)
        and epochs in (None, config.max_max_epoch)
        and not max_batches
        and not max_valid_batches
        and seed == 0
    )


def run_folder(
    config: str,
    epochs: int | None = None,
    max_batches: int | None = None,
    seed: int = 0,
    *,
    prefix: str = "ch07",
    results: str | os.PathLike = "results",
    runs: str | os.PathLike = "runs",
) -> Path:
    """Where a run's history and metrics go: ``results/`` only for the book's own runs.

    ``results/{prefix}-{config}`` for the full published schedule of ``config`` (see
    :func:`is_published_run`; ``epochs`` and ``max_batches`` may be ``None`` or 0 for "all"),
    else ``runs/{prefix}-{config}-epochs{E}-batches{B}-seed{S}``, so that a quick look at a
    configuration never replaces its committed run.
    """
    cfg = CONFIGS.get(config)
    if cfg is not None and is_published_run(cfg, epochs or None, max_batches or None, None, seed):
        return Path(results) / f"{prefix}-{config}"
    total = epochs or (cfg.max_max_epoch if cfg else "all")
    return Path(runs) / f"{prefix}-{config}-epochs{total}-batches{max_batches or 'all'}-seed{seed}"


def _protects_results(folder: Path) -> bool:
    return folder.resolve().parent.name == "results"


def claim(
    out: Path | None, history_dir: Path | None, *, resume: bool, overwrite: bool, published: bool
) -> None:
    """Check that a run may write to ``out`` and ``history_dir`` (locked by the caller).

    - a folder inside ``results/`` holding a run is refused unless ``published``;
    - ``resume`` needs the checkpoint in ``out``;
    - otherwise a folder holding a run is refused, unless ``overwrite``, which deletes the old
      run's files here, so that no mix of two runs is ever left behind.
    """
    folders = [f for f in dict.fromkeys((out, history_dir)) if f is not None]
    for folder in folders:
        if (
            not published
            and _protects_results(folder)
            and any((folder / name).exists() for name in RUN_FILES)
        ):
            raise RunFolderError(
                f"{folder} holds the book's published run ({describe_run(folder)}); only the "
                f"full published schedule (all epochs and windows, seed 0) may replace it: "
                f"write this run under runs/ instead"
            )
    if resume:
        if out is None:
            raise ValueError("resume=True needs out, the folder holding checkpoint.npz")
        read_checkpoint(out / CHECKPOINT, arrays=False)  # exists and is readable
        return
    for folder in folders:
        found = [folder / name for name in RUN_FILES if (folder / name).exists()]
        if found and not overwrite:
            raise RunFolderError(
                f"{folder} already holds a run ({describe_run(folder)}): continue it with "
                f"--resume (resume=True), or replace it with --overwrite (overwrite=True)"
            )
        for path in found:
            path.unlink()
