"""The Colab route: the setup cell, its pinned commit, and every chapter run as Colab would.

The offline proof (``test_chapter_runs_as_in_colab``) builds the package's wheel from this
checkout, makes a fresh virtual environment holding only what Colab preinstalls
(``tests/colab_preinstalled.txt``, installed once per machine: see :func:`colab_packages`),
stands in for Colab's ``google.colab`` module, and runs
each chapter at its smoke parameters from a folder that holds nothing but the notebook. The
one change to the notebook is said plainly: in the setup cell, the ``git+`` URL of the
repository at the pinned commit is replaced by the path of the wheel just built, since the
test has no network to clone from. Everything else the setup cell installs comes from the
package registry, as in Colab.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from ptb_utils import colab
from ptb_utils import notebooks as nbtools

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
PREINSTALLED = Path(__file__).with_name("colab_preinstalled.txt")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_setup_cell_is_guarded_and_installs_only_what_the_chapters_import() -> None:
    url = nbtools.repository_url()
    source = colab.setup_cell_source(url, "0" * 40)
    assert url.startswith("https://")
    assert 'if "google.colab" in sys.modules:' in source
    assert f'"ptb_utils[notebooks] @ git+{url}@{"0" * 40}"' in source
    install = next(line for line in source.splitlines() if "%pip" in line)
    assert install.startswith("    "), "the install must sit inside the Colab guard"
    assert "print(" not in source.split("if ")[0], "outside Colab the cell prints nothing"


def test_notebooks_extra_holds_no_book_tooling() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    names = {r.split(">")[0].split("<")[0].split("=")[0] for r in extras["notebooks"]}
    assert not names & {"jupyter-book", "sphinx", "papermill", "nbval", "pytest"}, names
    assert "ipywidgets>=7.7,<9" in extras["notebooks"], "Colab ships ipywidgets 7.7"


def test_setup_cell_is_inserted_after_the_title_once() -> None:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# 0. Title"), nbformat.v4.new_code_cell("x = 1")]
    )
    assert colab.with_setup_cell(nb) is True
    assert colab.SETUP_TAG in nb.cells[1].metadata["tags"]
    assert colab.pinned_commit() in nb.cells[1].source
    assert colab.with_setup_cell(nb) is False
    assert sum(colab.SETUP_TAG in c.metadata.get("tags", []) for c in nb.cells) == 1


def test_pinned_commit_exists_and_holds_the_current_package() -> None:
    commit = colab.pinned_commit()
    assert colab.same_package(commit), (
        f"_config.yml pins {commit}, which this repository lacks or whose ptb_utils/ or "
        f"pyproject.toml differ from HEAD's: Colab would install another package. Commit the "
        f"package, then run `make pin-colab` and commit the setup cells it rewrites."
    )


def test_a_stale_pin_is_noticed() -> None:
    first = colab._git("rev-list", "--max-parents=0", "HEAD").splitlines()[0]
    assert not colab.same_package(first), "the first commit cannot hold today's package"
    assert not colab.same_package("f" * 40)


def test_package_commit_is_the_last_one_that_touched_the_package() -> None:
    commit = colab.package_commit()
    assert colab.same_package(commit)
    touched = colab._git("log", "--format=%H", f"{commit}..HEAD", "--", *colab.PACKAGE_PATHS)
    assert touched == ""


def test_speech_recording_travels_with_the_package() -> None:
    from ptb_utils.speech import speech_wav

    path = speech_wav()
    assert path.is_relative_to(ROOT / "ptb_utils")
    assert path.read_bytes()[:4] == b"RIFF"


# --- the offline proof ------------------------------------------------------------------


def run(*args: str | os.PathLike, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([os.fspath(a) for a in args], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result


def colab_packages() -> Path:
    """Colab's preinstalled packages, installed once per machine into a shared folder.

    Installing TensorFlow and the rest takes minutes, so the folder is kept (keyed by the
    list's content and the Python version) in ``~/.cache/ptb_utils``; each test run then
    starts from an empty venv that merely sees it (a ``.pth`` file), and anything the setup
    cell installs or upgrades lands in that venv, never in the shared folder.
    """
    key = hashlib.sha256(PREINSTALLED.read_bytes() + sys.version.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ptb_utils"
    folder = cache / f"colab-preinstalled-{key}"
    if not folder.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=".colab-", dir=cache))
        run(
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--target",
            partial,
            "-r",
            PREINSTALLED,
        )
        partial.rename(folder)
    return folder


@pytest.fixture(scope="module")
def colab_kernel(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A kernel like Colab's: a fresh venv with Colab's packages and ``google.colab`` loaded."""
    base = tmp_path_factory.mktemp("colab")
    started = time.perf_counter()
    # The wheel, built from a copy of the package files (the build leaves no debris here).
    source = base / "source"
    source.mkdir()
    shutil.copytree(
        ROOT / "ptb_utils", source / "ptb_utils", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", base / "dist", source)
    (wheel,) = (base / "dist").glob("ptb_utils-*.whl")

    venv = base / "venv"
    run(sys.executable, "-m", "venv", venv)  # based on the interpreter, not on this venv
    python = venv / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout
    (Path(site.strip()) / "colab_preinstalled.pth").write_text(f"{colab_packages()}\n")

    # Colab imports google.colab before any cell runs; so does this kernel.
    stub = base / "stub"
    (stub / "google" / "colab").mkdir(parents=True)
    (stub / "google" / "colab" / "__init__.py").write_text(
        '"""Stand-in for Colab\'s module: the setup cell only asks whether it is loaded."""\n'
    )
    (stub / "sitecustomize.py").write_text("import google.colab  # noqa: F401\n")
    kernels = base / "share" / "jupyter" / "kernels" / "colab"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Colab stand-in",
                "language": "python",
            }
        )
    )
    print(f"Colab stand-in ready in {time.perf_counter() - started:.0f} s")
    return {
        "wheel": wheel,
        "python": python,
        "stub": stub,
        "jupyter_path": base / "share" / "jupyter",
    }


def as_in_colab(path: Path, folder: Path, wheel: Path) -> Path:
    """Copy the notebook alone into ``folder``, its setup cell pointed at the local wheel."""
    nb = nbtools.read(path)
    (cell,) = [c for c in nb.cells if colab.SETUP_TAG in c.metadata.get("tags", [])]
    remote = f"git+{nbtools.repository_url()}@{colab.pinned_commit()}"
    assert remote in cell.source, f"{path.name}: the setup cell is stale; run make pin-colab"
    cell.source = cell.source.replace(remote, wheel.as_uri())
    folder.mkdir()
    copy = folder / path.name
    nbformat.write(nb, copy)
    return copy


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_as_in_colab(
    path: Path, colab_kernel: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papermill

    notebook = as_in_colab(path, tmp_path / "content", colab_kernel["wheel"])
    assert [p.name for p in notebook.parent.iterdir()] == [path.name]
    monkeypatch.setenv("JUPYTER_PATH", str(colab_kernel["jupyter_path"]))
    monkeypatch.setenv("PYTHONPATH", str(colab_kernel["stub"]))
    monkeypatch.setenv("PTB_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "agg")
    out = tmp_path / "ran.ipynb"
    papermill.execute_notebook(
        str(notebook),
        str(out),
        parameters=nbtools.smoke_parameters(nbtools.read(path)),
        kernel_name="colab",
        cwd=str(notebook.parent),
        progress_bar=False,
    )

    ran = nbtools.read(out)
    setup = next(c for c in ran.cells if colab.SETUP_TAG in c.metadata.get("tags", []))
    printed = "".join(o.get("text", "") for o in setup.outputs)
    assert "GPU: none (CPU runtime)" in printed, f"the setup cell took the Colab branch?\n{printed}"
    for cell in ran.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{path.name}: {output}"
            if WIDGET_VIEW in output.get("data", {}):
                assert "text/html" in output.data, f"{path.name}: an explorer lost its page view"
