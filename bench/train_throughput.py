"""Training throughput of the PTB language model (words/s), against this machine's matmul rate.

1. The machine's fp32 matrix-multiply rate: the best GFLOP/s of square products of several
   sizes in every library at hand (NumPy, TensorFlow eager, TensorFlow with XLA, JAX, and
   PyTorch when installed). Its best is the yardstick the engine is measured against.
2. The engine's own compiled training step (the code path of the CLI and the book), on real
   PTB windows, for each requested LSTM layer (``window``: the book's; ``keras``:
   ``keras.layers.LSTM``, the engine before it), and, when ``torch`` is importable, a PyTorch
   LSTM language model of the same shape (:mod:`torch_lm`). All of them are compiled or warmed
   up first, then timed in turn, repeat after repeat, so that a change of load on a shared
   machine hits them alike. Reported: words/s (median over the repeats), the ratios between
   them (median of the per-repeat ratios), the model FLOPs per word (forward + backward = 3 x
   forward; per LSTM layer 2*4*H*(in+H), softmax 2*H*V), the GFLOP/s reached and its share of
   the best matmul rate, and the load average.

Backend: ``KERAS_BACKEND`` (default tensorflow). See ``bench/README.md``.

    .venv/bin/python bench/train_throughput.py [--configs small medium] [--engines ...]
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from ptb_utils.config import (  # noqa: E402
    Config,
    get_config,
    parse_engine,  # noqa: E402
)
from ptb_utils.data import load_ptb  # noqa: E402

SIZES = (1024, 2048, 4096)


def flops_per_word(config: Config) -> float:
    """Training FLOPs per word: 3 x (LSTM layers + softmax) forward multiply-adds x 2."""
    h, v = config.hidden_size, config.vocab_size
    forward = config.num_layers * 2 * 4 * h * (h + h) + 2 * h * v
    return 3.0 * forward


# --- the machine's matmul rate -------------------------------------------------------------


def _best_gflops(product: Callable[[], object], n: int, repeats: int) -> float:
    product()  # warm-up (and compilation)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        product()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def _products(n: int) -> dict[str, Callable[[], object]]:
    """``n x n`` float32 products, each returning only once the result is computed."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    products = {"numpy": lambda: a @ b}
    import tensorflow as tf

    ta, tb = tf.constant(a), tf.constant(b)
    xla = tf.function(tf.matmul, jit_compile=True)
    products["tensorflow"] = lambda: tf.matmul(ta, tb).numpy()
    products["tensorflow-xla"] = lambda: xla(ta, tb).numpy()
    import jax

    ja, jb = jax.device_put(a), jax.device_put(b)
    jit = jax.jit(lambda x, y: x @ y)
    products["jax"] = lambda: jit(ja, jb).block_until_ready()
    try:
        import torch
    except ImportError:
        return products
    pa, pb = torch.from_numpy(a), torch.from_numpy(b)
    products["torch"] = lambda: pa @ pb
    return products


def matmul_rates(sizes=SIZES, repeats: int = 3) -> dict[tuple[str, int], float]:
    """GFLOP/s of an ``n x n`` float32 matmul per (library, n): the best of ``repeats``."""
    rates = {}
    for n in sizes:
        for library, product in _products(n).items():
            rates[library, n] = _best_gflops(product, n, repeats)
    return rates


# --- the trainers timed ------------------------------------------------------------------


def engine(config: Config, corpus, num_windows: int):
    """Everything the bench takes from the engine, through the public names the CLI uses.

    Returns the first ``num_windows`` training windows ``x, y [n, B, T]`` and
    ``trainer(lstm, jit_compile, unroll) -> (run, zero_state)``, where ``run(xs, ys, state)`` trains
    the engine's compiled step on windows ``[k, B, T]`` and returns the state it ended in.
    """
    from ptb_utils.data import windows
    from ptb_utils.model import build_model
    from ptb_utils.steps import make_steps

    x, y = windows(corpus.train, config.batch_size, config.num_steps)

    def trainer(lstm: str, jit_compile: bool, unroll: bool):
        model = build_model(config, seed=0, lstm=lstm, unroll=unroll)
        steps = make_steps(model, jit_compile=jit_compile)
        steps.set_learning_rate(config.learning_rate)

        def run(xs, ys, state):
            state, _ = steps.train(xs, ys, np.int32(len(xs)), state)
            return state

        return run, model.zero_state(config.batch_size)

    return x[:num_windows], y[:num_windows], trainer


def torch_trainer(config: Config):
    """The same for the PyTorch LSTM language model of :mod:`torch_lm`."""
    from torch_lm import TorchLM

    model = TorchLM(config, seed=0)

    def run(xs, ys, state):
        for x, y in zip(xs, ys, strict=True):
            state = model.train_step(x, y, state)
        return state

    return run, model.zero_state()


def time_trainers(trainers: dict, x: np.ndarray, y: np.ndarray, k: int, repeats: int) -> dict:
    """Words/s of each trainer over windows ``x, y``, ``k`` per call, trainers alternated."""
    runs = {}
    for name, make in trainers.items():
        t0 = time.perf_counter()
        run, zero = make()
        run(x[:k], y[:k], zero)  # compiles / warms up
        runs[name] = (run, zero, time.perf_counter() - t0)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    words = x.size
    for _ in range(repeats):
        for name, (run, zero, _) in runs.items():
            state = zero
            t0 = time.perf_counter()
            for start in range(0, len(x), k):
                state = run(x[start : start + k], y[start : start + k], state)
            for leaf in keras.tree.flatten(state):  # wait until the last window is computed
                np.asarray(leaf)
            rates[name].append(words / (time.perf_counter() - t0))
    return {name: {"rates": rates[name], "warmup_s": runs[name][2]} for name in runs}


DEFAULT_ENGINES = ("window-xla-unrolled", "keras-xla-unrolled")


def _engine_variant(spec: str) -> tuple[str, tuple[str, bool, bool]]:
    """``"window-xla-unrolled"`` -> ``(spec, ("window", True, True))`` (for ``--engines``),
    spelled as the CLI's ``train --engine`` (:func:`ptb_utils.config.parse_engine`)."""
    try:
        return spec, tuple(parse_engine(spec))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _pairs(names: list[str]) -> list[tuple[str, str]]:
    """The ratios worth printing: each engine variant to the first ``keras`` one (the engine
    before ``WindowLSTM``), and each engine variant to PyTorch."""
    before = next((n for n in names if n.startswith("engine keras")), None)
    pairs = [(n, before) for n in names if before and n.startswith("engine window")]
    return pairs + [(n, "torch") for n in names if "torch" in names and n != "torch"]


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["small", "medium"],
        help="configs to measure (default: small medium)",
    )
    parser.add_argument(
        "--engines",
        nargs="+",
        type=_engine_variant,
        default=[_engine_variant(v) for v in DEFAULT_ENGINES],
        metavar="LSTM-XLA-LOOP",
        help="engine variants to time: LSTM window or keras, xla or noxla, loop unrolled or "
        f"scan (default: {' '.join(DEFAULT_ENGINES)}: the engine with and before WindowLSTM)",
    )
    parser.add_argument(
        "--windows", type=int, default=40, help="training windows per timed repeat (default: 40)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (default: 3)")
    parser.add_argument(
        "--windows-per-call",
        type=int,
        default=10,
        help="windows per compiled call (default: 10, as in training)",
    )
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch model")
    parser.add_argument(
        "--matmul-sizes",
        type=int,
        nargs="*",
        default=list(SIZES),
        help=f"matrix sizes for the matmul rate (default: {SIZES})",
    )
    args = parser.parse_args()

    print(
        f"backend {keras.backend.backend()}, Keras {keras.__version__}, "
        f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs"
    )
    rates = matmul_rates(args.matmul_sizes)
    libraries = sorted({lib for lib, _ in rates})
    print("fp32 matmul GFLOP/s  " + "".join(f"{n:>8}" for n in args.matmul_sizes))
    for lib in libraries:
        print(f"  {lib:<18} " + "".join(f"{rates[lib, n]:8.0f}" for n in args.matmul_sizes))
    (best_lib, best_n), best = max(rates.items(), key=lambda item: item[1])
    print(f"best: {best:.0f} GFLOP/s ({best_lib}, {best_n}^2), load {os.getloadavg()[0]:.2f}")

    use_torch = not args.no_torch and _torch_available()
    if not use_torch:
        print(
            "PyTorch: "
            + (
                "skipped (--no-torch)"
                if args.no_torch
                else "not installed, its model is skipped (pip install torch to add it)"
            )
        )
    corpus = load_ptb()
    if args.windows % args.windows_per_call:
        parser.error("--windows must be a multiple of --windows-per-call")
    for name in args.configs:
        config = get_config(name)
        x, y, trainer = engine(config, corpus, args.windows)
        trainers = {
            f"engine {name}": functools.partial(trainer, lstm, xla, unroll)
            for name, (lstm, xla, unroll) in args.engines
        }
        if use_torch:
            trainers["torch"] = functools.partial(torch_trainer, config)
        load_before = os.getloadavg()[0]
        results = time_trainers(trainers, x, y, args.windows_per_call, args.repeats)
        mflop = flops_per_word(config) / 1e6
        print(
            f"\n{name}: {len(x)} windows x {args.repeats} repeats, {mflop:.2f} MFLOP/word, "
            f"load {load_before:.2f} -> {os.getloadavg()[0]:.2f}"
        )
        for label, r in results.items():
            median = statistics.median(r["rates"])
            gflops = median * mflop / 1e3
            print(
                f"  {label:<30} {median:8.0f} words/s  (repeats {[round(v) for v in r['rates']]}"
                f"), {gflops:.0f} GFLOP/s = {gflops / best:.0%} of the best matmul, "
                f"warm-up {r['warmup_s']:.0f} s"
            )
        for a, b in _pairs(list(results)):
            pairs = zip(results[a]["rates"], results[b]["rates"], strict=True)
            ratios = [ra / rb for ra, rb in pairs]
            print(
                f"  {a} / {b}: {statistics.median(ratios):.2f}x "
                f"(per repeat {', '.join(f'{v:.2f}' for v in ratios)})"
            )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (RSS): {rss:.0f} MiB; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
