"""Gathering measured numbers from committed notebooks and run histories."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd

from ptb_utils import results


def executed_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"end_time": "2026-11-26T16:04:49.87+00:00", "duration": 11.46}
    nb.metadata["ptb_book"] = {
        "smoke_seconds": 3.2,
        "executed_on": {
            "cpu": "AMD EPYC",
            "cores": 2,
            "nvidia_gpus": 0,
            "packages": {"tensorflow": "2.21.0"},
        },
    }
    table = pd.DataFrame({"model": ["unigram"], "valid": [687.0]}).to_html()
    solution = nbformat.v4.new_code_cell("x", metadata={"tags": ["solution", "hide-cell"]})
    solution.outputs = [nbformat.v4.new_output("execute_result", {"text/html": table})]
    old_solution = nbformat.v4.new_code_cell("x", metadata={"tags": ["hide-input"]})
    old_solution.outputs = solution.outputs
    shown = nbformat.v4.new_code_cell("models")
    shown.outputs = [
        nbformat.v4.new_output("execute_result", {"text/html": table}),
        nbformat.v4.new_output("stream", text="no table here"),
    ]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 6. The Penn Treebank\n\nintro"),
        nbformat.v4.new_markdown_cell("## Perplexity\n\n### Counting models"),
        shown,
        nbformat.v4.new_markdown_cell("## Exercises"),
        solution,
        old_solution,
    ]
    nbformat.write(nb, path)
    return path


def test_chapter_runs_reads_the_recorded_run(tmp_path: Path) -> None:
    runs = results.chapter_runs([executed_notebook(tmp_path / "06.ipynb")])
    row = runs.loc["6. The Penn Treebank"]
    assert row["executed (UTC)"] == "2026-11-26 16:04"
    assert row["wall time (s)"] == 11.5 and row["smoke run (s)"] == 3.2
    assert (row["processor"], row["cores"], row["TensorFlow"]) == ("AMD EPYC", 2, "2.21.0")


def test_chapter_tables_keeps_shown_tables_with_their_section(tmp_path: Path) -> None:
    tables = results.chapter_tables(executed_notebook(tmp_path / "06.ipynb"))
    assert len(tables) == 1
    assert tables[0].chapter == "6. The Penn Treebank"
    assert tables[0].section == "Counting models"
    assert "687" in tables[0].html


def test_read_history(tmp_path: Path) -> None:
    pd.DataFrame({"epoch": [1, 2], "valid_ppl": [180.0, 150.0]}).to_csv(
        tmp_path / "history.csv", index=False
    )
    history, metrics = results.read_history(tmp_path)
    assert list(history["valid_ppl"]) == [180.0, 150.0] and metrics == {}
    (tmp_path / "metrics.json").write_text(json.dumps({"test_ppl": 115.0}))
    assert results.read_history(tmp_path)[1] == {"test_ppl": 115.0}
