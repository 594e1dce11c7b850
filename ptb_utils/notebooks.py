"""Running the book's notebooks: their parameters, smoke runs and in-place execution.

Every chapter notebook has exactly one code cell tagged ``parameters`` (the papermill
convention) holding plain literal assignments: the defaults the committed outputs were
made with. The notebook's metadata holds a second, tiny set under
``metadata["ptb_book"]["smoke_parameters"]`` that makes the whole notebook run in seconds;
the test suite injects it with papermill and runs the result under nbval.

Each notebook's first code cell (tagged ``colab-setup``) installs this package when the
notebook runs in Google Colab and does nothing anywhere else (see :mod:`ptb_utils.colab`);
:func:`execute` brings it up to date before every run.

Command line (what ``make execute`` calls)::

    python -m ptb_utils.notebooks execute notebooks/01_time_series.ipynb
"""

from __future__ import annotations

import ast
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat

from ptb_utils.colab import SETUP_TAG, with_setup_cell  # noqa: F401 (SETUP_TAG re-exported)

METADATA_KEY = "ptb_book"
SMOKE_KEY = "smoke_parameters"
PARAMETERS_TAG = "parameters"
ROOT = Path(__file__).resolve().parents[1]
NVIDIA_GPUS = "/proc/driver/nvidia/gpus"


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


def machine_description() -> dict[str, Any]:
    """Where a run happened: processor, cores, memory, accelerators and library versions."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory_gib = None
    versions = {}
    for package in ("tensorflow", "keras", "numpy", "jax"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "nvidia_gpus": len(os.listdir(NVIDIA_GPUS)) if os.path.isdir(NVIDIA_GPUS) else 0,
        "python": platform.python_version(),
        "packages": versions,
    }


def execute(path: str | os.PathLike) -> Path:
    """Re-run ``path`` in place at its default parameters, keeping widget state.

    The Colab setup cell is brought up to date first (see :func:`with_setup_cell`), and the
    machine the run happens on is recorded in ``metadata["ptb_book"]["executed_on"]``
    (papermill adds the start time and duration) for the book's results page.

    The run writes to a temporary file beside the notebook, which replaces the original
    only when every cell succeeded: a failed run leaves the committed notebook untouched
    and keeps the failed copy in ``$TMPDIR/ptb_book_failed/`` to look at.
    """
    import papermill

    path = Path(path).resolve()
    nb = read(path)
    default_parameters(nb, path.name)  # refuse notebooks that break the convention
    with_setup_cell(nb)
    nb.metadata.setdefault(METADATA_KEY, {})["executed_on"] = machine_description()
    fd, tmp = tempfile.mkstemp(suffix=".ipynb", prefix=f".{path.stem}.", dir=path.parent)
    os.close(fd)
    nbformat.write(nb, tmp)
    try:
        papermill.execute_notebook(
            tmp, tmp, cwd=str(path.parent), kernel_name="python3", progress_bar=False,
            # Keep what C++ libraries print at start-up (TensorFlow's oneDNN and CUDA notes)
            # in the terminal, out of the committed outputs; Python's output is unaffected.
            extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        )
    except BaseException:
        failed = Path(tempfile.gettempdir()) / "ptb_book_failed" / path.name
        failed.parent.mkdir(exist_ok=True)
        os.replace(tmp, failed)
        print(f"{path.name} failed; the original is untouched, the run is in {failed}",
              file=sys.stderr)
        raise
    ran = read(tmp)  # papermill recorded the temporary name; record the real one
    ran.metadata["papermill"].update(input_path=path.name, output_path=path.name)
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
    run = sub.add_parser("execute", help="re-run notebooks in place at their default parameters")
    run.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for nb in args.notebooks:
        execute(nb)
        print(f"executed {nb}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
