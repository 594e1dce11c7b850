"""Running the book's notebooks: their parameters, smoke runs and in-place execution.

Every chapter notebook has exactly one code cell tagged ``parameters`` (the papermill
convention) holding plain literal assignments: the defaults the committed outputs were
made with. The notebook's metadata holds a second, tiny set under
``metadata["ptb_book"]["smoke_parameters"]`` that makes the whole notebook run in seconds;
the test suite injects it with papermill and runs the result under nbval.

Each notebook's first code cell (tagged ``colab-setup``) installs this package when the
notebook runs in Google Colab and does nothing anywhere else (see :mod:`ptb_utils.colab`);
:func:`execute` brings it up to date before every run.

:func:`execute` re-runs a notebook in place at its default parameters, then once more at its
smoke parameters (to a scratch file), and records both times. From them and the note
``metadata["ptb_book"]["gpu_note"]`` it writes the chapter's cost line, the markdown cell
tagged ``chapter-cost`` right after the title (:func:`cost_text`), so that the line can never
disagree with the run.

Command line (what ``make execute`` calls)::

    python -m ptb_utils.notebooks execute notebooks/01_time_series.ipynb
"""

from __future__ import annotations

import ast
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from ptb_utils.colab import SETUP_TAG, with_setup_cell  # noqa: F401 (SETUP_TAG re-exported)
from ptb_utils.machine import machine_description

METADATA_KEY = "ptb_book"
SMOKE_KEY = "smoke_parameters"
PARAMETERS_TAG = "parameters"
COST_TAG = "chapter-cost"
GPU_NOTE_KEY = "gpu_note"
SMOKE_SECONDS_KEY = "smoke_seconds"
ROOT = Path(__file__).resolve().parents[1]


class NotebookError(ValueError):
    """A notebook breaks one of the book's conventions."""


def read(path: str | os.PathLike) -> nbformat.NotebookNode:
    """Read a notebook (nbformat 4)."""
    return nbformat.read(os.fspath(path), as_version=4)


def parameters_cell(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The one code cell tagged ``parameters``; raises if there is none or several."""
    cells = [
        c
        for c in nb.cells
        if c.cell_type == "code" and PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])
    ]
    if len(cells) != 1:
        raise NotebookError(
            f"{name}: expected exactly one code cell tagged 'parameters', found {len(cells)}. "
            f"Tag the cell of default values in Jupyter (View > Cell toolbar > Tags)."
        )
    return cells[0]


def default_parameters(nb: nbformat.NotebookNode, name: str = "notebook") -> dict[str, Any]:
    """The ``name = literal`` assignments of the parameters cell, as a dict.

    Raises :class:`NotebookError` when the cell holds anything else (a computed value
    belongs in a later cell, so that papermill's injected values flow into it).
    """
    source = parameters_cell(nb, name).source
    values: dict[str, Any] = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(target, ast.Name)
        ):
            raise NotebookError(
                f"{name}: the parameters cell may hold only 'name = literal' lines, "
                f"found {ast.unparse(node)!r}"
            )
        try:
            values[target.id] = ast.literal_eval(node.value)
        except ValueError:
            raise NotebookError(
                f"{name}: parameter {target.id} = {ast.unparse(node.value)} is not a plain "
                f"literal; move derived values to a later cell"
            ) from None
    return values


def smoke_parameters(nb: nbformat.NotebookNode, name: str = "notebook") -> dict[str, Any]:
    """The notebook's smoke parameters, checked against its parameters cell."""
    smoke = nb.metadata.get(METADATA_KEY, {}).get(SMOKE_KEY)
    if not isinstance(smoke, dict):
        raise NotebookError(
            f"{name}: metadata['{METADATA_KEY}']['{SMOKE_KEY}'] is missing; add the small "
            f"values that make the notebook run in seconds"
        )
    unknown = sorted(set(smoke) - set(default_parameters(nb, name)))
    if unknown:
        raise NotebookError(f"{name}: smoke parameters {unknown} are not in the parameters cell")
    return dict(smoke)


def repository_url(config: str | os.PathLike = ROOT / "_config.yml") -> str:
    """The book's repository URL, from ``repository.url`` in the Jupyter Book config."""
    import yaml

    return yaml.safe_load(Path(config).read_text())["repository"]["url"]


def nbval_command(notebook: str | os.PathLike, rootdir: str | os.PathLike) -> list[str]:
    """The command that runs ``notebook`` under ``pytest --nbval-lax`` in a fresh process.

    It uses this Python's kernel (``--nbval-current-env``), caches nothing, and takes
    ``rootdir`` (a scratch folder, also the working directory to run it in) as pytest's root,
    so that no project ``conftest.py`` or setting changes how the notebook runs. The test
    suite and the GPU script (``bench/gpu_run.py``) run the chapters with it.
    """
    return [
        sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q",
        "-p", "no:cacheprovider", "--rootdir", str(rootdir), str(notebook),
    ]


def prepare_smoke(path: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write ``path`` with its smoke parameters injected (papermill ``--prepare-only``)."""
    import papermill

    path, out = Path(path), Path(out)
    params = smoke_parameters(read(path), path.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(path), str(out), parameters=params, prepare_only=True, progress_bar=False
    )
    return out


def duration_text(seconds: float) -> str:
    """A run time as a reader says it: ``4 s``, ``95 s``, ``12 min``, ``1.5 h``."""
    if seconds < 120:
        return f"{max(1, round(seconds))} s"
    if seconds < 2 * 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def cost_text(metadata: Mapping[str, Any], name: str = "notebook") -> str:
    """The chapter's cost line, generated from the metadata of its last ``make execute``.

    It names the run time at default parameters (papermill's ``duration``), the machine
    (``ptb_book.executed_on``), the time at smoke parameters (``ptb_book.smoke_seconds``)
    and whether a GPU helps (``ptb_book.gpu_note``, one or two sentences by the author).
    Raises :class:`NotebookError` naming the first missing field.
    """
    book = metadata.get(METADATA_KEY, {})
    fields = {
        "papermill.duration": metadata.get("papermill", {}).get("duration"),
        f"{METADATA_KEY}.executed_on": book.get("executed_on"),
        f"{METADATA_KEY}.{SMOKE_SECONDS_KEY}": book.get(SMOKE_SECONDS_KEY),
        f"{METADATA_KEY}.{GPU_NOTE_KEY}": book.get(GPU_NOTE_KEY),
    }
    for field, value in fields.items():
        if value in (None, "", {}):
            how = ("write it: does a GPU make this chapter faster, and why?"
                   if field.endswith(GPU_NOTE_KEY) else "run make execute")
            raise NotebookError(f"{name}: metadata {field} is missing; {how}")
    machine = book["executed_on"]
    gpus = machine.get("nvidia_gpus", 0)
    accelerator = f"{gpus} NVIDIA GPU{'s' if gpus > 1 else ''}" if gpus else "no GPU"
    return (
        f"**Running this chapter** took {duration_text(metadata['papermill']['duration'])} at "
        f"its default parameters on the machine that made these pages ({machine['cores']} "
        f"CPU cores, {machine['cpu']}, {accelerator}), and "
        f"{duration_text(book[SMOKE_SECONDS_KEY])} at its smoke parameters. "
        f"{book[GPU_NOTE_KEY].strip()}"
    )


def with_cost_cell(nb: nbformat.NotebookNode, name: str = "notebook") -> bool:
    """Insert or update the cost line right after the title; True if ``nb`` changed."""
    source = cost_text(nb.metadata, name)
    cells = [c for c in nb.cells if COST_TAG in c.get("metadata", {}).get("tags", [])]
    if cells and cells[0].source == source:
        return False
    if cells:
        cells[0].source = source
    else:
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(source, metadata={"tags": [COST_TAG]}))
    return True


def run(source: str | os.PathLike, out: str | os.PathLike, cwd: str | os.PathLike,
        parameters: dict[str, Any] | None = None) -> nbformat.NotebookNode:
    """Run ``source`` into ``out`` with papermill, in folder ``cwd``; return the result.

    C++ libraries' start-up messages (TensorFlow's oneDNN and CUDA notes) go to the
    terminal, not into the outputs; Python's own output is unaffected.
    """
    import papermill

    return papermill.execute_notebook(
        os.fspath(source), os.fspath(out), parameters=parameters, cwd=os.fspath(cwd),
        kernel_name="python3",
        progress_bar=False, extra_arguments=["--IPKernelApp.capture_fd_output=False"],
    )


def execute(path: str | os.PathLike) -> Path:
    """Re-run ``path`` in place at its default parameters, keeping widget state.

    The Colab setup cell is brought up to date first (see :func:`with_setup_cell`), and the
    machine the run happens on is recorded in ``metadata["ptb_book"]["executed_on"]``
    (papermill adds the start time and duration) for the book's results page. The notebook
    then runs once more at its smoke parameters, into a scratch folder, and that time goes
    to ``metadata["ptb_book"]["smoke_seconds"]``. A notebook with a ``gpu_note`` gets its
    cost line (:func:`with_cost_cell`) from these records.

    The run writes to a temporary file beside the notebook, which replaces the original
    only when every cell of both runs succeeded: a failed run leaves the committed notebook
    untouched and keeps the failed copy in ``$TMPDIR/ptb_book_failed/`` to look at.
    """
    path = Path(path).resolve()
    nb = read(path)
    default_parameters(nb, path.name)  # refuse notebooks that break the convention
    smoke = smoke_parameters(nb, path.name)
    with_setup_cell(nb)
    nb.metadata.setdefault(METADATA_KEY, {})["executed_on"] = machine_description()
    fd, tmp = tempfile.mkstemp(suffix=".ipynb", prefix=f".{path.stem}.", dir=path.parent)
    os.close(fd)
    nbformat.write(nb, tmp)
    try:
        run(tmp, tmp, path.parent)
        with tempfile.TemporaryDirectory() as scratch:
            smoke_run = run(tmp, Path(scratch) / path.name, path.parent, smoke)
    except BaseException:
        failed = Path(tempfile.gettempdir()) / "ptb_book_failed" / path.name
        failed.parent.mkdir(exist_ok=True)
        os.replace(tmp, failed)
        print(f"{path.name} failed; the original is untouched, the run is in {failed}",
              file=sys.stderr)
        raise
    ran = read(tmp)  # papermill recorded the temporary name; record the real one
    ran.metadata["papermill"].update(input_path=path.name, output_path=path.name)
    ran.metadata[METADATA_KEY][SMOKE_SECONDS_KEY] = round(
        smoke_run.metadata["papermill"]["duration"], 1)
    if ran.metadata[METADATA_KEY].get(GPU_NOTE_KEY):  # a chapter (not the results page)
        with_cost_cell(ran, path.name)
    nbformat.write(ran, tmp)
    os.chmod(tmp, 0o644)  # mkstemp made it private; the notebook is a normal repository file
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m ptb_utils.notebooks execute NB [NB ...]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ptb_utils.notebooks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("execute",
                             help="re-run notebooks in place at their default parameters")
    command.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for nb in args.notebooks:
        execute(nb)
        print(f"executed {nb}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
