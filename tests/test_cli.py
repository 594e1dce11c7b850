"""The command line: help for every flag, clear errors, and a tiny train/evaluate/generate."""

from __future__ import annotations

from pathlib import Path

import pytest

from ptb_utils.cli import _parser, main


def test_help_explains_every_flag():
    parser = _parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, subparser in sub.choices.items():
        for action in subparser._actions:
            assert action.help, f"{name} {action.option_strings} has no help"
    assert {"train", "evaluate", "generate"} <= set(sub.choices)


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--config", "tiny"], "unknown config 'tiny'"),
    (["train", "--config", "test", "--set", "hidden_size=0"], "hidden_size must be"),
    (["train", "--config", "test", "--set", "nonsense"], "FIELD=VALUE"),
    (["train", "--config", "test", "--set", "hiden_size=3"], "unknown config field"),
    (["evaluate", "--out", "/nonexistent/run"], "no checkpoint"),
    (["generate", "--out", "/nonexistent/run"], "no checkpoint"),
])
def test_errors_exit_2_without_traceback(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_flag_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--epochz", "3"])
    assert exc.value.code == 2 and "--epochz" in capsys.readouterr().err


def test_train_evaluate_generate(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("PTB_OFFLINE", "1")
    out = tmp_path / "run"
    argv = ["train", "--config", "test", "--max-batches", "20", "--out", str(out), "--quiet",
            "--no-test", "--set", "hidden_size=8"]
    assert main(argv) == 0
    assert (out / "checkpoint.npz").is_file() and (out / "metrics.json").is_file()
    assert (out / "history.csv").read_text().startswith("epoch,lr,train_ppl,valid_ppl")
    assert main(["evaluate", "--out", str(out), "--split", "valid", "--batch-size", "20"]) == 0
    assert "valid perplexity:" in capsys.readouterr().out
    assert main(["generate", "--out", str(out), "--seed-text", "the Zebra", "--num-words",
                 "5", "--top-k", "10"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("the Zebra ") and "zebra" in captured.err
