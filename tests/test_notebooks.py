"""The notebook harness: every chapter follows the book's conventions and runs under nbval.

For each ``notebooks/*.ipynb``: the conventions are checked on the committed file (a
``parameters`` cell of literals, smoke parameters, learning goals, summary, exercises,
captioned figures, outputs from a real run without errors or warnings); then the smoke
parameters are injected with papermill ``--prepare-only`` and the result runs under
``pytest --nbval-lax``, which executes every cell and compares the outputs of the cells
marked ``# NBVAL_CHECK_OUTPUT`` with the committed ones.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ptb_utils import notebooks as nbtools

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def test_there_are_chapters() -> None:
    assert NOTEBOOKS, "no notebooks/NN_*.ipynb found"


def markdown(nb: nbformat.NotebookNode) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_cell_holds_literals_and_smoke_values_exist(path: Path) -> None:
    nb = nbtools.read(path)
    defaults = nbtools.default_parameters(nb, path.name)
    smoke = nbtools.smoke_parameters(nb, path.name)
    assert defaults, f"{path.name}: the parameters cell is empty"
    for key, value in smoke.items():
        assert type(value) is type(defaults[key]), f"{path.name}: smoke {key} changes type"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_colab_setup_cell_is_current(path: Path) -> None:
    nb = nbtools.read(path)
    assert not nbtools.with_setup_cell(nb), (
        f"{path.name}: the Colab setup cell is missing or stale; run make execute"
    )
    assert nbtools.SETUP_TAG in nb.cells[1].metadata.get("tags", []), (
        f"{path.name}: the setup cell must come right after the title"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_structure(path: Path) -> None:
    nb = nbtools.read(path)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), (
        f"{path.name}: the first cell must be the chapter title"
    )
    text = markdown(nb)
    for heading in ("What you will learn", "Summary", "Exercises"):
        assert re.search(rf"^#+ {heading}", text, re.M), f"{path.name}: no '{heading}' heading"
    assert "{term}`" in text and "book/glossary" in text, f"{path.name}: no glossary links"
    hidden = [c for c in nb.cells if "hide-input" in c.metadata.get("tags", [])
              or "hide-cell" in c.metadata.get("tags", [])]
    assert hidden, f"{path.name}: exercises need solutions in cells tagged hide-input"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_outputs_come_from_a_clean_run(path: Path) -> None:
    nb = nbtools.read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code if c.source.strip()]
    assert all(n is not None for n in counts), f"{path.name}: some cells were never executed"
    assert counts == sorted(counts), f"{path.name}: cells were run out of order"
    for cell in code:
        for out in cell.outputs:
            assert out.output_type != "error", f"{path.name}: error output in\n{cell.source}"
            if out.output_type == "stream" and out.name == "stderr":
                assert "Warning" not in out.text, f"{path.name}: warning left in\n{out.text}"
                assert not re.search(r"^[IWE]\d{4} ", out.text, re.M), (
                    f"{path.name}: C++ library log in the outputs (run make execute)\n{out.text}"
                )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_figure_has_a_caption(path: Path) -> None:
    nb = nbtools.read(path)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        has_image = any("image/png" in o.get("data", {}) for o in cell.outputs)
        if has_image:
            caption = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption", "")
            assert caption.strip(), f"{path.name}: figure without a caption from\n{cell.source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_widget_has_a_view_without_a_kernel(path: Path) -> None:
    nb = nbtools.read(path)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                assert "text/html" in data, (
                    f"{path.name}: a widget with no static view (use ptb_utils.widgets.explorer)"
                    f" in\n{cell.source}"
                )


def run_nbval(notebook: Path, tmp_path: Path, env: dict[str, str] | None = None) -> None:
    """Run ``notebook`` under ``pytest --nbval-lax`` in a fresh process; fail with its output."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(notebook)],
        cwd=tmp_path, env={**os.environ, **(env or {})}, capture_output=True, text=True,
    )
    assert result.returncode == 0, f"{notebook.name} failed under nbval:\n{result.stdout[-8000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_at_smoke_parameters(path: Path, tmp_path: Path) -> None:
    # nbval starts the kernel in the notebook's folder: keep the copy beside the original
    # so that relative paths resolve as they do for a reader.
    prepared = path.with_name(f".smoke-{path.name}")
    nbtools.prepare_smoke(path, prepared)
    try:
        run_nbval(prepared, tmp_path, {"MPLBACKEND": "agg", "PTB_OFFLINE": "1"})
    finally:
        prepared.unlink(missing_ok=True)

RESULTS = ROOT / "book" / "results.ipynb"


def test_results_page_was_generated_after_every_chapter() -> None:
    page = nbtools.read(RESULTS).metadata["papermill"]["start_time"]
    for path in NOTEBOOKS:
        ended = nbtools.read(path).metadata["papermill"]["end_time"]
        assert ended <= page, f"{path.name} ran after the results page: run make execute"


@pytest.mark.slow
def test_results_page_runs(tmp_path: Path) -> None:
    run_nbval(RESULTS, tmp_path)
