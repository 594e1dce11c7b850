"""The notebook tooling: parameters, smoke values, safe execution (Colab setup: test_colab)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from ptb_utils import notebooks as nbtools


def notebook(params: str, smoke: dict | None = None, extra: str = "") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    if smoke is not None:
        nb.metadata["ptb_book"] = {"smoke_parameters": smoke}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 0. Title"),
        nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(extra or "total = epochs * 2\nprint(total)"),
    ]
    return nb


def test_default_parameters_are_read_as_literals() -> None:
    nb = notebook("epochs = 3  # passes\nname = 'co2'\nsizes = [1, 2]\nfast = True")
    assert nbtools.default_parameters(nb) == {
        "epochs": 3, "name": "co2", "sizes": [1, 2], "fast": True
    }


@pytest.mark.parametrize("source", ["epochs = 2 * 3", "import math", "a = b = 1", "x.y = 1"])
def test_parameters_cell_refuses_anything_but_literals(source: str) -> None:
    with pytest.raises(nbtools.NotebookError, match="literal"):
        nbtools.default_parameters(notebook(source))


def test_missing_or_duplicate_parameters_cell_is_an_error() -> None:
    nb = notebook("epochs = 3")
    nb.cells[1].metadata["tags"] = []
    with pytest.raises(nbtools.NotebookError, match="found 0"):
        nbtools.parameters_cell(nb)
    nb.cells[1].metadata["tags"] = ["parameters"]
    nb.cells[2].metadata["tags"] = ["parameters"]
    with pytest.raises(nbtools.NotebookError, match="found 2"):
        nbtools.parameters_cell(nb)


def test_smoke_parameters_must_exist_and_match_the_defaults() -> None:
    with pytest.raises(nbtools.NotebookError, match="smoke_parameters"):
        nbtools.smoke_parameters(notebook("epochs = 3"))
    with pytest.raises(nbtools.NotebookError, match="steps"):
        nbtools.smoke_parameters(notebook("epochs = 3", {"steps": 1}))
    assert nbtools.smoke_parameters(notebook("epochs = 3", {"epochs": 1})) == {"epochs": 1}


@pytest.mark.slow
def test_execute_runs_in_place_and_a_failure_keeps_the_original(tmp_path: Path) -> None:
    good = tmp_path / "good.ipynb"
    nbformat.write(notebook("epochs = 3", {"epochs": 1}), good)
    nbtools.execute(good)
    ran = nbtools.read(good)
    assert ran.cells[-1].outputs[0].text == "6\n"
    assert nbtools.SETUP_TAG in ran.cells[1].metadata["tags"]
    assert ran.cells[1].outputs == []  # outside Colab the setup cell does nothing

    bad = tmp_path / "bad.ipynb"
    nbformat.write(notebook("epochs = 3", {"epochs": 1}, extra="raise RuntimeError('x')"), bad)
    before = bad.read_bytes()
    with pytest.raises(Exception, match="RuntimeError"):
        nbtools.execute(bad)
    assert bad.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ipynb", "good.ipynb"]
