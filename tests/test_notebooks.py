"""The notebook harness: every chapter follows the book's conventions and runs under nbval.

For each ``notebooks/*.ipynb``: the conventions are checked on the committed file (a
``parameters`` cell of literals, smoke parameters, learning goals, summary, exercises,
captioned figures, outputs from a real run without errors or warnings); then the smoke
parameters are injected with papermill ``--prepare-only`` and the result runs under
``pytest --nbval-lax``, which executes every cell and compares the outputs of the cells
marked ``# NBVAL_CHECK_OUTPUT`` with the committed ones.

The conventions of ``CONTRIBUTING.md`` (checked parameters, figures with alt text, hidden
solutions, links, numbered equations, glued numbers, the cost line, size) are checked by
:mod:`ptb_utils.conventions` on every chapter.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from ptb_utils import conventions as conv
from ptb_utils import notebooks as nbtools

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
BOOK_PAGES = sorted((ROOT / "book").glob("*.md"))

# Chapters re-run twice at their smoke parameters, whose text outputs must agree exactly.
REPRODUCIBLE = ["06_penn_treebank"]
# Chapters that must also run under Keras' JAX backend (KERAS_BACKEND=jax).
JAX_CHAPTERS = ["06_penn_treebank", "07_ptb_language_model"]


def test_there_are_chapters() -> None:
    assert NOTEBOOKS, "no notebooks/NN_*.ipynb found"


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
    after_title = 2 if nbtools.COST_TAG in conv.tags(nb.cells[1]) else 1
    assert nbtools.SETUP_TAG in conv.tags(nb.cells[after_title]), (
        f"{path.name}: the setup cell must come right after the title (and the cost line)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_structure(path: Path) -> None:
    nb = nbtools.read(path)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), (
        f"{path.name}: the first cell must be the chapter title"
    )
    text = conv.markdown(nb)
    for heading in ("What you will learn", "Summary", "Exercises"):
        assert re.search(rf"^#+ {heading}", text, re.M), f"{path.name}: no '{heading}' heading"
    assert "{term}`" in text and "book/glossary" in text, f"{path.name}: no glossary links"
    hidden = [c for c in nb.cells if "hide-input" in conv.tags(c) or "hide-cell" in conv.tags(c)]
    assert hidden, f"{path.name}: exercises need solutions in hidden cells"


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


# The conventions of CONTRIBUTING.md, on the migrated chapters.


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_are_checked_right_after_the_parameters_cell(path: Path) -> None:
    assert conv.parameter_check_problems(nbtools.read(path), path.name) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_figures_have_caption_name_alt_and_the_book_style(path: Path) -> None:
    nb = nbtools.read(path)
    assert conv.figure_problems(nb) == []
    imports = next(
        c
        for c in nb.cells
        if c.cell_type == "code" and "import" in c.source and nbtools.SETUP_TAG not in conv.tags(c)
    )
    assert "use_book_style()" in imports.source, "the imports cell must call use_book_style()"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_each_exercise_has_one_hidden_solution_with_its_explanation(path: Path) -> None:
    assert conv.solution_problems(nbtools.read(path)) == []


@pytest.mark.parametrize(
    "path", NOTEBOOKS + BOOK_PAGES, ids=IDS + [p.name for p in BOOK_PAGES]
)
def test_chapter_mentions_are_links(path: Path) -> None:
    text = path.read_text() if path.suffix == ".md" else conv.markdown(nbtools.read(path))
    assert conv.unlinked_chapter_mentions(text) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_key_equations_are_labelled(path: Path) -> None:
    assert conv.equation_labels(conv.markdown(nbtools.read(path))), (
        f"{path.name}: no labelled equation ($$ ... $$ (eq-name))"
    )


def test_every_equation_reference_resolves() -> None:
    texts = [conv.markdown(nbtools.read(p)) for p in NOTEBOOKS]
    texts += [p.read_text() for p in BOOK_PAGES]
    labels = [label for text in texts for label in conv.equation_labels(text)]
    assert len(labels) == len(set(labels)), "an equation label is used twice"
    references = {ref for text in texts for ref in conv.equation_references(text)}
    assert references <= set(labels), f"unknown equations: {references - set(labels)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_numbers_in_the_prose_are_glued_or_fixed(path: Path) -> None:
    nb = nbtools.read(path)
    assert conv.number_problems(nb, f"ch{path.stem[:2]}_") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_light(path: Path) -> None:
    assert conv.size_problems(path) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_cost_line_is_the_one_the_run_metadata_gives(path: Path) -> None:
    assert conv.cost_problems(nbtools.read(path), path.name) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_imports_no_build_tooling(path: Path) -> None:
    assert conv.tooling_imports(nbtools.read(path)) == []


# The book's own pages.

GLOSSARY = ROOT / "book" / "glossary.md"


def test_glossary_is_alphabetical_and_links_to_the_sections_that_teach() -> None:
    text = GLOSSARY.read_text()
    assert len(conv.glossary_terms(text)) > 20
    chapters = {p.name: nbtools.read(p) for p in NOTEBOOKS}
    assert conv.glossary_problems(text, chapters) == []


# Running the notebooks.


def run_nbval(notebook: Path, tmp_path: Path, env: dict[str, str] | None = None) -> None:
    """Run ``notebook`` under ``pytest --nbval-lax`` in a fresh process; fail with its output."""
    result = subprocess.run(
        nbtools.nbval_command(notebook, tmp_path),
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{notebook.name} failed under nbval:\n{result.stdout[-8000:]}"


SMOKE_ENV = {"MPLBACKEND": "agg", "PTB_OFFLINE": "1"}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_at_smoke_parameters(path: Path, tmp_path: Path) -> None:
    # nbval starts the kernel in the notebook's folder: keep the copy beside the original
    # so that relative paths resolve as they do for a reader.
    prepared = path.with_name(f".smoke-{path.name}")
    nbtools.prepare_smoke(path, prepared)
    try:
        run_nbval(prepared, tmp_path, SMOKE_ENV)
    finally:
        prepared.unlink(missing_ok=True)


@pytest.mark.slow
@pytest.mark.parametrize("stem", JAX_CHAPTERS)
def test_notebook_runs_under_jax(stem: str, tmp_path: Path) -> None:
    path = ROOT / "notebooks" / f"{stem}.ipynb"
    prepared = path.with_name(f".jax-{path.name}")
    nbtools.prepare_smoke(path, prepared)
    nb = nbtools.read(prepared)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import sys\nimport keras\n"
            'assert keras.backend.backend() == "jax", keras.backend.backend()\n'
            'assert sys.modules.get("tensorflow") is None, "TensorFlow was imported"'
        )
    )
    nbformat.write(nb, prepared)
    # The GPU machines have JAX but no TensorFlow: hide it from the kernel, as it is there.
    hide = tmp_path / "no-tensorflow"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\nsys.modules['tensorflow'] = None  # import tensorflow -> ImportError\n"
    )
    path_now = os.environ.get("PYTHONPATH")
    python_path = os.pathsep.join([str(hide), path_now] if path_now else [str(hide)])
    try:
        run_nbval(
            prepared,
            tmp_path,
            {**SMOKE_ENV, "KERAS_BACKEND": "jax", "PYTHONPATH": python_path},
        )
    finally:
        prepared.unlink(missing_ok=True)


def text_outputs(nb: nbformat.NotebookNode) -> list[list[str]]:
    """Every text a notebook's cells printed or displayed, cell by cell.

    What a cell printed is joined into one text per stream: how the kernel cuts a stream
    into outputs depends on timing, not on what was printed.
    """
    texts = []
    for cell in nb.cells:
        streams: dict[str, str] = {}
        displayed = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                streams[out.name] = streams.get(out.name, "") + out.text
            for kind, value in out.get("data", {}).items():
                if kind.startswith("text/") or kind.endswith("text/plain"):
                    displayed.append(value)
        texts.append([*streams.values(), *displayed])
    return texts


def test_text_outputs_ignore_how_a_stream_was_cut_but_not_what_it_says() -> None:
    def ran(*printed: str, shown: str = "1.5") -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell("print(x)")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=t) for t in printed]
        cell.outputs.append(nbformat.v4.new_output("execute_result", {"text/plain": shown}))
        return nbformat.v4.new_notebook(cells=[cell])

    assert text_outputs(ran("a\n", "b\n")) == text_outputs(ran("a\nb\n")) == [["a\nb\n", "1.5"]]
    assert text_outputs(ran("a\nb\n")) != text_outputs(ran("a\nc\n"))
    assert text_outputs(ran("a\n")) != text_outputs(ran("a\n", shown="1.6"))


@pytest.mark.slow
@pytest.mark.parametrize("stem", REPRODUCIBLE)
def test_same_parameters_same_numbers(
    stem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SMOKE_ENV.items():
        monkeypatch.setenv(name, value)
    path = ROOT / "notebooks" / f"{stem}.ipynb"
    smoke = nbtools.smoke_parameters(nbtools.read(path), path.name)
    runs = [nbtools.run(path, tmp_path / f"run{i}.ipynb", path.parent, smoke) for i in range(2)]
    first, second = (text_outputs(nb) for nb in runs)
    assert sum(map(len, first)) > 10, "too few outputs to compare"
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        assert a == b, f"{stem}: cell {i} printed different text in two runs"


RESULTS = ROOT / "book" / "results.ipynb"


def test_results_page_was_generated_after_every_chapter() -> None:
    page = nbtools.read(RESULTS).metadata["papermill"]["start_time"]
    for path in NOTEBOOKS:
        ended = nbtools.read(path).metadata["papermill"]["end_time"]
        assert ended <= page, f"{path.name} ran after the results page: run make execute"


@pytest.mark.slow
def test_results_page_runs(tmp_path: Path) -> None:
    run_nbval(RESULTS, tmp_path)
