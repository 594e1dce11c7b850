"""Command line of the PTB language model: ``train``, ``evaluate`` and ``generate``.

    python -m ptb_utils train --config small --out runs/small
    python -m ptb_utils evaluate --out runs/small --split test
    python -m ptb_utils generate --out runs/small --seed-text "the company said"

Mistakes in the command (unknown config, bad override, missing checkpoint) end with exit
code 2 and a one-line message; a diverged training run ends with exit code 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ptb_utils",
        description="Train, evaluate and sample the word-level LSTM language model on PTB.",
    )
    parser.add_argument("--backend", choices=("tensorflow", "jax"), default=None,
                        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a model, writing a checkpoint after every epoch")
    t.add_argument("--config", default="small",
                   help="configuration: small, medium, large or test (default: small)")
    t.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override one config field, e.g. --set hidden_size=100 (repeatable)")
    t.add_argument("--epochs", type=int, default=None,
                   help="total epochs to train (default: the config's max_max_epoch)")
    t.add_argument("--max-batches", type=int, default=None,
                   help="stop each epoch after this many windows (for quick runs)")
    t.add_argument("--out", default=None,
                   help="folder for checkpoint.npz and history.csv (default: runs/CONFIG)")
    t.add_argument("--results", default=None,
                   help="folder for history.csv and metrics.json (default: --out)")
    t.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint in --out up to --epochs")
    t.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    t.add_argument("--no-test", action="store_true",
                   help="skip scoring the test split (batch 1) after training")
    t.add_argument("--quiet", action="store_true", help="no progress bars")

    e = sub.add_parser("evaluate", help="perplexity of a saved model on a split")
    e.add_argument("--out", required=True, help="folder (or .npz file) of the checkpoint")
    e.add_argument("--split", choices=("train", "valid", "test"), default="test",
                   help="which split to score (default: test)")
    e.add_argument("--batch-size", type=int, default=1,
                   help="parallel rows; 1 reproduces the tutorial's test scoring (default: 1)")
    e.add_argument("--num-steps", type=int, default=None,
                   help="words per window (default: the config's num_steps)")

    g = sub.add_parser("generate", help="sample text from a saved model")
    g.add_argument("--out", required=True, help="folder (or .npz file) of the checkpoint")
    g.add_argument("--seed-text", default="the", help="text to continue (default: 'the')")
    g.add_argument("--num-words", type=int, default=50, help="words to generate (default: 50)")
    g.add_argument("--temperature", type=float, default=1.0,
                   help="> 0; below 1 is more conservative, above 1 more random (default: 1)")
    g.add_argument("--top-k", type=int, default=None,
                   help="sample only among the k most likely words (default: all)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
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
            raise ValueError(f"--set {name}: {value!r} is not a number") from None
    return overrides


def _train(args) -> int:
    from ptb_utils.config import get_config
    from ptb_utils.data import load_ptb
    from ptb_utils.train import evaluate, summarize, train, write_metrics

    config = get_config(args.config, **_parse_overrides(args.set))
    out = Path(args.out or f"runs/{args.config}")
    results = Path(args.results) if args.results else out
    corpus = load_ptb()
    result = train(config, corpus, out, epochs=args.epochs, max_batches=args.max_batches,
                   resume=args.resume, seed=args.seed, history_dir=results,
                   progress=not args.quiet)
    metrics = summarize(result.history, config=args.config,
                        overrides=_parse_overrides(args.set), seed=args.seed)
    if not args.no_test:
        metrics["test_ppl_batch1"] = evaluate(result.model, corpus.test, batch_size=1,
                                              progress=not args.quiet)
        print(f"test perplexity (batch 1): {metrics['test_ppl_batch1']:.2f}")
    write_metrics(results, metrics)
    return 0


def _evaluate(args) -> int:
    from ptb_utils.data import load_ptb
    from ptb_utils.train import evaluate, load_model

    model = load_model(args.out)
    corpus = load_ptb()
    ppl = evaluate(model, corpus.split(args.split), batch_size=args.batch_size,
                   num_steps=args.num_steps)
    print(f"{args.split} perplexity: {ppl:.2f}")
    return 0


def _generate(args) -> int:
    from ptb_utils.data import load_ptb
    from ptb_utils.generate import sample
    from ptb_utils.train import load_model

    model = load_model(args.out)
    with warnings.catch_warnings():  # unknown words are reported once, by the note below
        warnings.simplefilter("ignore", UserWarning)
        result = sample(model, load_ptb().vocab, args.seed_text, num_words=args.num_words,
                        temperature=args.temperature, top_k=args.top_k, seed=args.seed)
    if result.unknown:
        print(f"note: read as <unk>: {', '.join(result.unknown)}", file=sys.stderr)
    print(args.seed_text, result.text)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.backend:
        if "keras" in sys.modules and os.environ.get("KERAS_BACKEND") != args.backend:
            parser.error("--backend must be chosen before keras is imported; "
                         "set KERAS_BACKEND instead")
        os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command = {"train": _train, "evaluate": _evaluate, "generate": _generate}[args.command]
    from ptb_utils.train import TrainingDiverged

    try:
        return command(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except TrainingDiverged as exc:
        print(f"{parser.prog} {args.command}: training stopped: {exc}", file=sys.stderr)
        return 1
