"""Training throughput of the PTB language model (words/s) against this machine's matmul peak.

Runs the engine's own compiled training step (``ptb_utils.steps.make_steps``, the code path of
the CLI and the book) on real PTB windows: one warm-up pass (compiles), then ``--repeats``
timed passes of ``--windows`` windows each; reports the median words/s, the model FLOPs per
word (forward + backward = 3 x forward; per LSTM layer 2*4*H*(in+H), softmax 2*H*V), the
achieved GFLOP/s, the fp32 matmul peak (a 4096^2 TensorFlow matmul) and the fraction of it
reached, the peak resident memory, and the load average (the machine may be shared: compare
numbers from one run as ratios). Backend: ``KERAS_BACKEND`` (default tensorflow).

    .venv/bin/python bench/train_throughput.py [--configs small medium] [--windows 60]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from ptb_utils.config import get_config  # noqa: E402
from ptb_utils.data import load_ptb, windows  # noqa: E402
from ptb_utils.model import build_model  # noqa: E402
from ptb_utils.steps import make_steps  # noqa: E402
from ptb_utils.train import run_windows  # noqa: E402


def flops_per_word(config) -> float:
    """Training FLOPs per word: 3 x (LSTM layers + softmax) forward multiply-adds x 2."""
    h, v = config.hidden_size, config.vocab_size
    forward = config.num_layers * 2 * 4 * h * (h + h) + 2 * h * v
    return 3.0 * forward


def matmul_peak(n: int = 4096, repeats: int = 5) -> float:
    """Best fp32 GFLOP/s of an ``n x n`` matmul with TensorFlow (oneDNN)."""
    import tensorflow as tf

    a = tf.random.uniform((n, n))
    b = tf.random.uniform((n, n))
    tf.matmul(a, b).numpy()
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        tf.matmul(a, b).numpy()
        best = max(best, 2 * n**3 / (time.perf_counter() - t0) / 1e9)
    return best


def throughput(name: str, corpus, num_windows: int, repeats: int, k: int) -> dict:
    config = get_config(name)
    model = build_model(config, seed=0)
    steps = make_steps(model)
    steps.set_learning_rate(config.learning_rate)
    x, y = windows(corpus.train, config.batch_size, config.num_steps)
    x, y = x[:num_windows], y[:num_windows]
    t0 = time.perf_counter()
    run_windows(steps.train, x[:k], y[:k], model.zero_state(config.batch_size), k)
    compile_s = time.perf_counter() - t0
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _, words, _ = run_windows(steps.train, x, y, model.zero_state(config.batch_size), k)
        rates.append(words / (time.perf_counter() - t0))
    return {"config": name, "words_per_sec": statistics.median(rates),
            "all": [round(r) for r in rates], "compile_s": compile_s,
            "mflop_per_word": flops_per_word(config) / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["small", "medium"],
                        help="configs to measure (default: small medium)")
    parser.add_argument("--windows", type=int, default=100,
                        help="training windows per timed repeat (default: 100)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (default: 3)")
    parser.add_argument("--windows-per-call", type=int, default=10,
                        help="windows per compiled call (default: 10, as in training)")
    args = parser.parse_args()
    corpus = load_ptb()
    peak = matmul_peak()
    print(f"backend {keras.backend.backend()}, load average {os.getloadavg()[0]:.2f}, "
          f"fp32 matmul peak {peak:.0f} GFLOP/s")
    for name in args.configs:
        r = throughput(name, corpus, args.windows, args.repeats, args.windows_per_call)
        gflops = r["words_per_sec"] * r["mflop_per_word"] / 1e3
        print(f"{name:7s} {r['words_per_sec']:8.0f} words/s (median of {r['all']}), "
              f"{r['mflop_per_word']:.2f} MFLOP/word, {gflops:.0f} GFLOP/s = "
              f"{gflops / peak:.0%} of peak, compile {r['compile_s']:.0f} s, "
              f"load {os.getloadavg()[0]:.2f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {rss:.0f} MiB")


if __name__ == "__main__":
    main()
