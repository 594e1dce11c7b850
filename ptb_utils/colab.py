"""Opening a chapter in Google Colab: the setup cell that installs this package there.

Each notebook's first code cell (tagged ``colab-setup``) installs ``ptb_utils`` with the
``notebooks`` extra (what the chapters import, no book tooling) from the book's repository at
a pinned commit, when it runs in Colab; anywhere else it does nothing and prints nothing.
Colab ships numpy, TensorFlow, pandas, ipywidgets 7.7 and the rest, so pip only adds what is
missing or too old.

The pin is one commit of the repository whose package (``ptb_utils/`` and
``pyproject.toml``) is the current one. It is written once, in ``_config.yml``
(``repository.package_commit``), and copied into every setup cell. A commit that changes the
package makes the pin stale (``tests/test_colab.py`` then fails); re-pin with::

    python -m ptb_utils.colab pin      # or: make pin-colab

which finds the last commit that touched the package, records it and rewrites the setup
cells, executing nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
SETUP_TAG = "colab-setup"
EXTRA = "notebooks"
PACKAGE_PATHS = ("ptb_utils", "pyproject.toml")
PIN_KEY = "package_commit"
_PIN_LINE = re.compile(rf"^(\s+{PIN_KEY}:\s*)(\S+)(.*)$", re.M)


def pinned_commit(config: Path = CONFIG) -> str:
    """The commit the setup cells install from, as recorded in ``_config.yml``."""
    import yaml

    commit = yaml.safe_load(config.read_text())["repository"].get(PIN_KEY)
    if not isinstance(commit, str) or not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise ValueError(
            f"{config}: repository.{PIN_KEY} must be a full 40-digit commit hash; "
            f"run `python -m ptb_utils.colab pin`"
        )
    return commit


def setup_cell_source(url: str, commit: str) -> str:
    """The code of the setup cell: install ``ptb_utils[notebooks]`` from ``url`` at ``commit``."""
    return (
        "# Google Colab only: install the book's helper package (from the book's repository, at\n"
        "# a fixed commit) and report the accelerator. Anywhere else this does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "ptb_utils[{EXTRA}] @ git+{url}@{commit}"\n'
        "    import tensorflow as tf\n"
        "\n"
        '    print("GPU:", tf.config.list_physical_devices("GPU") or "none (CPU runtime)")'
    )


def with_setup_cell(nb: nbformat.NotebookNode, commit: str | None = None) -> bool:
    """Insert or update the setup cell right after the title; True if ``nb`` changed.

    ``commit`` defaults to the pin recorded in ``_config.yml``.
    """
    from ptb_utils.notebooks import repository_url

    source = setup_cell_source(repository_url(), commit or pinned_commit())
    cells = [c for c in nb.cells if SETUP_TAG in c.get("metadata", {}).get("tags", [])]
    if cells and cells[0].source == source:
        return False
    if cells:
        cells[0].source = source
    else:
        nb.cells.insert(
            1, nbformat.v4.new_code_cell(source, metadata={"tags": [SETUP_TAG, "hide-cell"]})
        )
    return True


def _git(*args: str, root: Path = ROOT) -> str:
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def package_commit(root: Path = ROOT) -> str:
    """The last commit that changed the package, whose package therefore equals HEAD's.

    Pinning that commit rather than HEAD keeps the pin, and the notebooks, unchanged by
    commits that leave the package alone. Refuses while the package has uncommitted
    changes: Colab can only install what the repository holds.
    """
    dirty = _git("status", "--porcelain", "--", *PACKAGE_PATHS, root=root)
    if dirty:
        raise RuntimeError(
            "the package has uncommitted changes; commit them, then re-pin:\n" + dirty
        )
    commit = _git("log", "-1", "--format=%H", "--", *PACKAGE_PATHS, root=root)
    return commit if same_package(commit, root) else _git("rev-parse", "HEAD", root=root)


def same_package(commit: str, root: Path = ROOT) -> bool:
    """Whether ``commit`` exists and its ``ptb_utils/`` and ``pyproject.toml`` equal HEAD's."""
    try:
        _git("cat-file", "-e", f"{commit}^{{commit}}", root=root)
    except RuntimeError:
        return False
    return all(
        _git("rev-parse", f"{commit}:{p}", root=root) == _git("rev-parse", f"HEAD:{p}", root=root)
        for p in PACKAGE_PATHS
    )


def notebooks_with_setup_cells(root: Path = ROOT) -> list[Path]:
    """The chapters and the results page: every notebook the book renders."""
    return sorted((root / "notebooks").glob("[0-9]*.ipynb")) + [root / "book" / "results.ipynb"]


def pin(root: Path = ROOT) -> str:
    """Record the current package commit in ``_config.yml`` and in every setup cell."""
    commit = package_commit(root)
    config = root / "_config.yml"
    text = config.read_text()
    if not _PIN_LINE.search(text):
        raise ValueError(f"{config}: no 'repository.{PIN_KEY}:' line to update")
    config.write_text(_PIN_LINE.sub(rf"\g<1>{commit}\g<3>", text, count=1))
    for path in notebooks_with_setup_cells(root):
        nb = nbformat.read(os.fspath(path), as_version=4)
        if with_setup_cell(nb, commit):
            nbformat.write(nb, os.fspath(path))
            print(f"re-pinned {path.relative_to(root)}")
    return commit


def main(argv: list[str] | None = None) -> int:
    """``python -m ptb_utils.colab pin``: re-pin the setup cells to the current package."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m ptb_utils.colab",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["pin"])
    parser.parse_args(argv)
    try:
        print(f"setup cells install the package at commit {pin()}")
    except (RuntimeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
