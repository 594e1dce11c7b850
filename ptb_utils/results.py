"""Gathering the book's measured numbers from what the runs committed, for the results page.

Nothing here is typed by hand: each chapter notebook carries the outputs and the metadata
of its last real run (``make execute`` records the machine; papermill the start time and
duration), and each language-model run leaves a ``history.csv`` and a ``metrics.json``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd

from ptb_utils.notebooks import METADATA_KEY, SMOKE_SECONDS_KEY


@dataclass(frozen=True)
class Table:
    """One table a chapter printed: the section it sits in and its HTML."""

    chapter: str
    section: str
    html: str


def chapter_title(nb: nbformat.NotebookNode) -> str:
    """The notebook's ``# Title`` line, without the hashes."""
    first = nb.cells[0].source.splitlines()[0] if nb.cells else ""
    return first.lstrip("# ").strip()


def chapter_runs(notebooks: list[str | os.PathLike]) -> pd.DataFrame:
    """One row per chapter: when and where its committed outputs were made, and how long it took."""
    rows = []
    for path in notebooks:
        nb = nbformat.read(os.fspath(path), as_version=4)
        run = nb.metadata.get("papermill", {})
        book = nb.metadata.get(METADATA_KEY, {})
        machine = book.get("executed_on", {})
        rows.append({
            "chapter": chapter_title(nb),
            "executed (UTC)": (run.get("end_time") or "")[:16].replace("T", " "),
            "wall time (s)": round(run["duration"], 1) if run.get("duration") else None,
            "smoke run (s)": book.get(SMOKE_SECONDS_KEY),
            "processor": machine.get("cpu"),
            "cores": machine.get("cores"),
            "GPUs": machine.get("nvidia_gpus"),
            "TensorFlow": machine.get("packages", {}).get("tensorflow"),
        })
    return pd.DataFrame(rows).set_index("chapter")


def chapter_tables(path: str | os.PathLike) -> list[Table]:
    """Every HTML table (a displayed ``DataFrame``) in a notebook's committed outputs."""
    nb = nbformat.read(os.fspath(path), as_version=4)
    title, section, tables = chapter_title(nb), "", []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            headings = re.findall(r"^#{2,3} (.+)$", cell.source, re.M)
            section = headings[-1] if headings else section
            continue
        if {"hide-input", "solution"} & set(cell.metadata.get("tags", [])):
            continue  # exercise solutions are the reader's to find
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            if "<table" in html:
                tables.append(Table(title, section, html))
    return tables


def read_history(run_dir: str | os.PathLike) -> tuple[pd.DataFrame, dict]:
    """A training run's per-epoch ``history.csv`` and its final ``metrics.json``."""
    run_dir = Path(run_dir)
    history = pd.read_csv(run_dir / "history.csv")
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return history, metrics
