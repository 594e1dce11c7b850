"""The notebook tooling: parameters, smoke values, safe execution, the cost line, and every
convention check on a notebook built to break it (the Colab setup cell: test_colab.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from ptb_utils import conventions as conv
from ptb_utils import notebooks as nbtools


def notebook(params: str, smoke: dict | None = None, extra: str = "") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
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
        "epochs": 3,
        "name": "co2",
        "sizes": [1, 2],
        "fast": True,
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
def test_execute_runs_in_place_records_the_cost_and_a_failure_keeps_the_original(
    tmp_path: Path,
) -> None:
    good = tmp_path / "good.ipynb"
    nb = notebook("epochs = 3", {"epochs": 1})
    nb.metadata["ptb_book"]["gpu_note"] = "A GPU would not help."
    nbformat.write(nb, good)
    nbtools.execute(good)
    ran = nbtools.read(good)
    assert ran.cells[-1].outputs[0].text == "6\n"  # the default run, not the smoke one
    assert nbtools.COST_TAG in ran.cells[1].metadata["tags"]
    assert nbtools.SETUP_TAG in ran.cells[2].metadata["tags"]
    assert ran.cells[2].outputs == []  # outside Colab the setup cell does nothing
    assert ran.metadata["ptb_book"]["smoke_seconds"] > 0
    assert conv.cost_problems(ran) == []

    for name, extra in [
        ("bad", "raise RuntimeError('x')"),
        ("bad_smoke", "assert epochs > 1, 'RuntimeError: smoke'"),
    ]:
        bad = tmp_path / f"{name}.ipynb"
        nbformat.write(notebook("epochs = 3", {"epochs": 1}, extra=extra), bad)
        before = bad.read_bytes()
        with pytest.raises(Exception, match="RuntimeError"):
            nbtools.execute(bad)
        assert bad.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.ipynb",
        "bad_smoke.ipynb",
        "good.ipynb",
    ]


# The cost line.

RUN_METADATA = {
    "papermill": {"duration": 312.4},
    "ptb_book": {
        "executed_on": {"cpu": "AMD EPYC", "cores": 2, "nvidia_gpus": 0},
        "smoke_seconds": 21.04,
        "gpu_note": "A GPU would not help: NumPy only.",
    },
}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.2, "1 s"),
        (5.6, "6 s"),
        (119, "119 s"),
        (312.4, "5 min"),
        (7100, "118 min"),
        (9000, "2.5 h"),
    ],
)
def test_durations_read_as_a_reader_says_them(seconds: float, text: str) -> None:
    assert nbtools.duration_text(seconds) == text


def test_cost_text_says_time_machine_smoke_time_and_gpu_note() -> None:
    assert nbtools.cost_text(RUN_METADATA) == (
        "**Running this chapter** took 5 min at its default parameters on the machine that "
        "made these pages (2 CPU cores, AMD EPYC, no GPU), and 21 s at its smoke parameters. "
        "A GPU would not help: NumPy only."
    )
    with_gpu = {
        **RUN_METADATA,
        "ptb_book": {
            **RUN_METADATA["ptb_book"],
            "executed_on": {"cpu": "x", "cores": 16, "nvidia_gpus": 1},
        },
    }
    assert "(16 CPU cores, x, 1 NVIDIA GPU)" in nbtools.cost_text(with_gpu)


@pytest.mark.parametrize("missing", ["gpu_note", "smoke_seconds", "executed_on"])
def test_cost_text_names_the_missing_record(missing: str) -> None:
    metadata = {**RUN_METADATA, "ptb_book": dict(RUN_METADATA["ptb_book"])}
    del metadata["ptb_book"][missing]
    with pytest.raises(nbtools.NotebookError, match=f"ptb_book.{missing} is missing"):
        nbtools.cost_text(metadata)


def test_cost_cell_goes_right_after_the_title_and_follows_the_metadata() -> None:
    nb = notebook("epochs = 3", {"epochs": 1})
    nb.metadata.update(RUN_METADATA)
    assert nbtools.with_cost_cell(nb) is True
    assert nbtools.COST_TAG in nb.cells[1].metadata["tags"]
    assert conv.cost_problems(nb) == []
    assert nbtools.with_cost_cell(nb) is False
    nb.metadata["papermill"]["duration"] = 5.0  # a new run, the old line
    assert conv.cost_problems(nb) == [
        "the cost line differs from the run's metadata: run make execute"
    ]
    nbtools.with_cost_cell(nb)
    assert nb.cells[1].source.startswith("**Running this chapter** took 5 s")
    del nb.cells[1]
    assert conv.cost_problems(nb) == ["the cell after the title is not tagged 'chapter-cost'"]


# The conventions, each on a notebook built to break it once.

EXPLANATION = nbformat.v4.new_output("display_data", {"text/markdown": "Because ..."})


def follows_conventions() -> nbformat.NotebookNode:
    """A small chapter that follows every convention of CONTRIBUTING.md."""
    nb = notebook("epochs = 3  # passes\nrate = 0.5  # step", {"epochs": 1})
    nb.metadata["ptb_book"]["fixed_numbers"] = {"114.5": "Zaremba et al. 2014, Table 1"}
    check = nbformat.v4.new_code_cell(
        "check_parameters(globals(), epochs=Int(ge=1), rate=Float(gt=0))"
    )
    figure = nbformat.v4.new_code_cell(
        "plt.plot(x)\nplt.show()",
        metadata={
            "mystnb": {
                "figure": {"caption": "A line.", "name": "fig-line"},
                "image": {"alt": "A straight line rising from left to right."},
            }
        },
    )
    figure.outputs = [
        nbformat.v4.new_output(
            "display_data",
            {"image/png": "iVBOR", "text/plain": "<Figure>"},
            metadata={"image/png": {"width": 590, "height": 350}},
        )
    ]
    glue = nbformat.v4.new_code_cell('glue("ch00_loss", 1.2345, display=False)')
    glue.outputs = [
        nbformat.v4.new_output(
            "display_data",
            {"application/papermill.record/text/plain": "1.2345"},
            metadata={
                "scrapbook": {"name": "ch00_loss", "mime_prefix": "application/papermill.record/"}
            },
        )
    ]
    solution = nbformat.v4.new_code_cell(
        "print(2 + 2)",
        metadata={
            "tags": ["solution", "hide-cell"],
            "mystnb": {"code_prompt_show": "Show solution", "code_prompt_hide": "Hide solution"},
            "jupyter": {"source_hidden": True, "outputs_hidden": True},
        },
    )
    solution.outputs = [EXPLANATION]
    nb.cells[2:] = [
        check,
        figure,
        glue,
        nbformat.v4.new_markdown_cell(
            "The loss fell to {glue:text}`ch00_loss:.2f`, against 114.5 published by "
            "[chapter 4](04_gradient_instability.ipynb); see {eq}`eq-line` and "
            "$x = 0.25$ and `lr = 0.5`, in 1998.\n\n$$ y = a x + b $$ (eq-line)"
        ),
        nbformat.v4.new_markdown_cell("## Exercises"),
        nbformat.v4.new_markdown_cell("**Exercise 1.** Add two and two."),
        solution,
    ]
    return nb


def all_problems(nb: nbformat.NotebookNode) -> list[str]:
    return (
        conv.parameter_check_problems(nb)
        + conv.figure_problems(nb)
        + conv.solution_problems(nb)
        + conv.number_problems(nb, "ch00_")
        + conv.unlinked_chapter_mentions(conv.markdown(nb))
    )


def cell_with(nb: nbformat.NotebookNode, text: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if text in c.source)


def test_the_model_notebook_follows_every_convention() -> None:
    nb = follows_conventions()
    assert all_problems(nb) == []
    assert conv.equation_labels(conv.markdown(nb)) == ["eq-line"]
    assert conv.equation_references(conv.markdown(nb)) == ["eq-line"]


def _set(cell_text: str, path: str, value) -> Callable[[nbformat.NotebookNode], None]:
    def change(nb: nbformat.NotebookNode) -> None:
        target = cell_with(nb, cell_text)
        *keys, last = path.split(".")
        node = target
        for key in keys:
            node = node[int(key)] if key.isdigit() else node[key]
        node[last] = value

    return change


def _edit(cell_text: str, old: str, new: str) -> Callable[[nbformat.NotebookNode], None]:
    def change(nb: nbformat.NotebookNode) -> None:
        cell = cell_with(nb, cell_text)
        cell.source = cell.source.replace(old, new)

    return change


def _insert_after(cell_text: str, cell: nbformat.NotebookNode):
    def change(nb: nbformat.NotebookNode) -> None:
        nb.cells.insert(nb.cells.index(cell_with(nb, cell_text)) + 1, cell)

    return change


BREAKS = [
    # checked parameters
    (_edit("check_parameters", "check_parameters", "print"), "does not call check_parameters"),
    (_edit("check_parameters", ", rate=Float(gt=0)", ""), "without a spec ['rate']"),
    (_edit("check_parameters", "gt=0))", "gt=0), seed=Int())"), "not parameters ['seed']"),
    (_edit("epochs = 3", "rate", "Rate"), "parameter Rate is not lower_case"),
    (
        lambda nb: nb.cells.insert(2, nbformat.v4.new_markdown_cell("Now check:")),
        "does not call check_parameters",
    ),
    # figures
    (_set("plt.plot", "metadata.mystnb.figure.caption", " "), "figure without a caption"),
    (_set("plt.plot", "metadata.mystnb.figure.name", "line"), "must start with 'fig-'"),
    (_set("plt.plot", "metadata.mystnb.image.alt", "figure"), "alt text must say"),
    (_set("plt.plot", "metadata.mystnb.image", {}), "alt text must say"),
    (
        lambda nb: cell_with(nb, "check_parameters").outputs.append(
            nbformat.v4.new_output(
                "display_data",
                data={"text/html": '<div><img alt="precomputed view" src="data:,"></div>'},
            )
        ),
        "an explorer frame's alt text is 'precomputed view'",
    ),
    (lambda nb: cell_with(nb, "plt.plot").outputs[0].metadata.clear(), "not a 2x image"),
    (_set("plt.plot", "outputs.0.metadata.image/png.width", 900), "900 px wide"),
    (
        lambda nb: cell_with(nb, "plt.plot").outputs.append(cell_with(nb, "plt.plot").outputs[0]),
        "2 images in one figure cell",
    ),
    # solutions
    (
        _insert_after("Add two", nbformat.v4.new_markdown_cell("**Solution.**")),
        "a '**Solution**' markdown cell",
    ),
    (_set("2 + 2", "metadata.tags", ["hide-cell"]), "not followed by a code cell tagged"),
    (_set("2 + 2", "metadata.tags", ["solution"]), "not tagged 'hide-cell'"),
    (_set("2 + 2", "metadata.mystnb.code_prompt_show", "Show code"), "mystnb prompts"),
    (_set("2 + 2", "metadata.jupyter.outputs_hidden", False), "not collapsed in Jupyter"),
    (_set("2 + 2", "outputs", []), "has no explanation"),
    (_insert_after("2 + 2", nbformat.v4.new_code_cell("print(5)")), "more than one code cell"),
    (_edit("Add two", "Exercise 1.", "Exercise 2."), "numbered [2], not 1 to 1"),
    (_edit("Add two", "**Exercise 1.**", "Exercise:"), "no '**Exercise 1.**' cell"),
    # numbers and links
    (_edit("loss fell", "{glue:text}`ch00_loss:.2f`", "1.23"), "'1.23' in the prose"),
    (_edit("loss fell", "114.5 published", "114.6 published"), "'114.6' in the prose"),
    (_edit("loss fell", "in 1998", "in 12,500 runs"), "'12,500' in the prose"),
    (_edit("loss fell", "in 1998", "in 25% of runs"), "'25%' in the prose"),
    (_edit("loss fell", "in 1998", "in 3200 runs"), "'3200' in the prose"),
    (_edit("loss fell", "ch00_loss:", "ch00_gain:"), "'ch00_gain' is never glued"),
    (_edit("loss fell", "ch00_loss:", "loss:"), "does not start with 'ch00_'"),
    (
        _set(
            'glue("ch00',
            "outputs.0.data",
            {"application/papermill.record/text/plain": "np.float64(1.2345)"},
        ),
        "not a plain number",
    ),
    (_edit("loss fell", "[chapter 4](04_gradient_instability.ipynb)", "chapter 4"), "chapter 4"),
]


@pytest.mark.parametrize(("change", "problem"), BREAKS, ids=[p for _, p in BREAKS])
def test_each_convention_check_catches_its_break(change, problem: str) -> None:
    nb = follows_conventions()
    change(nb)
    problems = all_problems(nb)
    assert any(problem in p for p in problems), problems


def test_equation_references_and_labels_are_found() -> None:
    text = "See {eq}`eq-a` and {eq}`eq-b`.\n$$ a = 1 $$ (eq-a)\n\n$$\nb = 2\n$$ (eq-b)\n$$ c $$"
    assert conv.equation_labels(text) == ["eq-a", "eq-b"]
    assert conv.equation_references(text) == ["eq-a", "eq-b"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("as chapter 4 shows", ["chapter 4"]),
        ("Chapters 2 and 3", ["Chapters 2"]),
        ("[chapter 4](04_gradient_instability.ipynb) and [chapters 5](05_lstm.ipynb)", []),
        ("`chapter 4` in code, $chapter 4$ in math", []),
    ],
)
def test_unlinked_chapter_mentions(text: str, found: list[str]) -> None:
    assert conv.unlinked_chapter_mentions(text) == found


def test_notebooks_over_the_size_limit_are_named(tmp_path: Path) -> None:
    path = tmp_path / "big.ipynb"
    path.write_bytes(b" " * (conv.MAX_NOTEBOOK_BYTES + 1))
    assert conv.size_problems(path) == ["big.ipynb is 1.00 MB, over 1 MB"]
    path.write_bytes(b" " * conv.MAX_NOTEBOOK_BYTES)
    assert conv.size_problems(path) == []


GLOSSARY = """# Glossary

```{glossary}
Alpha
  First, taught in [chapter 1](../notebooks/01_time_series.ipynb#a-baseline).

Beta term
  Second
  on two lines.
```
"""


def test_glossary_problems_name_order_and_broken_links() -> None:
    chapter = notebook("epochs = 3")
    chapter.cells.append(nbformat.v4.new_markdown_cell("## A baseline"))
    chapters = {"01_time_series.ipynb": chapter}
    assert conv.glossary_problems(GLOSSARY, chapters) == ["'Beta term' links to no chapter section"]
    swapped = GLOSSARY.replace("Alpha", "Gamma")
    assert "terms are not in alphabetical order" in conv.glossary_problems(swapped, chapters)[0]
    assert conv.glossary_problems(GLOSSARY.replace("#a-baseline", "#a-base"), chapters)[0] == (
        "'Alpha' links to #a-base, not a section of 01_time_series.ipynb"
    )
    assert conv.glossary_problems(GLOSSARY, {})[0] == (
        "'Alpha' links to a missing page 01_time_series.ipynb"
    )


def test_glossary_entries_and_heading_anchors() -> None:
    assert conv.glossary_terms(GLOSSARY) == [
        ("Alpha", "First, taught in [chapter 1](../notebooks/01_time_series.ipynb#a-baseline)."),
        ("Beta term", "Second on two lines."),
    ]
    assert conv.slug("A baseline: tomorrow is like today") == "a-baseline-tomorrow-is-like-today"
    assert conv.slug("Which forecaster wins?") == "which-forecaster-wins"
    assert (
        conv.slug("Measuring $\\partial h_T$ with `GradientTape`") == "measuring--with-gradienttape"
    )


# Where the code lives: what chapters import never imports the build tooling.

TOOLING = set(conv.TOOLING_MODULES)


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from ptb_utils.notebooks import machine_description", ["notebooks"]),
        (
            "import ptb_utils.results as r\nfrom ptb_utils import conventions",
            ["results", "conventions"],
        ),
        ("from ptb_utils.machine import machine_description\nfrom ptb_utils import plots", []),
    ],
)
def test_chapters_importing_build_tooling_are_found(source: str, found: list[str]) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    assert conv.tooling_imports(nb) == found


def test_modules_chapters_import_do_not_import_the_build_tooling() -> None:
    package = Path(nbtools.__file__).parent
    for module in sorted(package.glob("*.py")):
        if module.stem in TOOLING or module.stem.startswith("_"):
            continue
        imported = re.findall(
            r"^\s*(?:from ptb_utils(?:\.| import )|import ptb_utils\.)(\w+)",
            module.read_text(),
            re.M,
        )
        assert not TOOLING & set(imported), f"{module.name} imports build tooling"


# A parameter mistake, as a reader sees it.


@pytest.mark.slow
def test_a_parameter_mistake_shows_one_line_in_the_notebook(tmp_path: Path) -> None:
    nb = notebook(
        "epochs = 3",
        {"epochs": 1},
        extra=(
            "from ptb_utils.params import Int, check_parameters\n"
            "check_parameters(globals(), epochs=Int(ge=1))"
        ),
    )
    source = tmp_path / "typo.ipynb"
    nbformat.write(nb, source)
    with pytest.raises(Exception) as caught:
        nbtools.run(source, tmp_path / "out.ipynb", tmp_path, {"epoch": 5})
    error = next(
        o
        for c in nbtools.read(tmp_path / "out.ipynb").cells
        for o in c.get("outputs", [])
        if o.output_type == "error"
    )
    assert error.traceback == ["ParameterError: unknown parameter epoch = 5 (did you mean epochs?)"]
    assert "did you mean epochs?" in str(caught.value)
