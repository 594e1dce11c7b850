"""The chapter conventions of ``CONTRIBUTING.md``, as checks that list what a notebook breaks.

Each ``*_problems`` function takes a notebook (or its markdown) and returns a list of
one-line problems, empty when the notebook follows the rule. The test suite runs them on
every chapter, and on small notebooks built to break each rule once, so that every check is
known to be able to fail. Build tooling: chapters never import this module.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

import nbformat

from ptb_utils import notebooks as nbtools
from ptb_utils.plots import DPI, WIDTH

SOLUTION_TAG = "solution"
HIDE_TAG = "hide-cell"
SOLUTION_PROMPTS = {"code_prompt_show": "Show solution", "code_prompt_hide": "Hide solution"}
FIXED_NUMBERS_KEY = "fixed_numbers"
#: Largest committed notebook, in bytes.
MAX_NOTEBOOK_BYTES = 1_000_000
#: A figure may come out this much wider than :data:`~ptb_utils.plots.WIDTH` (tight crop).
WIDTH_SLACK = 1.05
IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")

_FENCED = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<!\\)\$[^$\n]+?(?<!\\)\$")
_ROLE = re.compile(r"\{[\w:.-]+\}`[^`]*`")
_CODE = re.compile(r"`[^`\n]*`")
_LINK_TARGET = re.compile(r"\]\([^)\s]*\)")
_LINK = re.compile(r"\[[^\]]*\]\([^)\s]*\)")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_NUMBER = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?%?")
_CHAPTER = re.compile(r"\b[Cc]hapters?\s+\d+")
_EQ_LABEL = re.compile(r"\$\$\s*\((eq-[\w-]+)\)")
_EQ_REF = re.compile(r"\{eq\}`([^`]+)`")
_GLUE_REF = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")
_EXERCISE = re.compile(r"^\*\*Exercise (\d+)\.\*\*")
_SOLUTION_MD = re.compile(r"^\s*\*\*Solutions?\b", re.M)


def markdown(nb: nbformat.NotebookNode) -> str:
    """All markdown cells of ``nb``, one after the other."""
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def prose(text: str, keep_links: bool = False) -> str:
    """``text`` without what is not prose: code, math, MyST roles, comments, link targets.

    With ``keep_links`` False, whole links ``[text](target)`` go too (their text is already
    a link); with True only their targets go.
    """
    for pattern in (_COMMENT, _FENCED, _DISPLAY_MATH, _ROLE, _CODE, _INLINE_MATH):
        text = pattern.sub(" ", text)
    return (_LINK_TARGET if keep_links else _LINK).sub(" ", text)


def tags(cell: nbformat.NotebookNode) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _called_check(source: str) -> ast.Call | None:
    """The ``check_parameters(globals(), ...)`` call in ``source``, if any."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            first = node.args[0] if node.args else None
            if (
                name == "check_parameters"
                and isinstance(first, ast.Call)
                and isinstance(first.func, ast.Name)
                and first.func.id == "globals"
            ):
                return node
    return None


def parameter_check_problems(nb: nbformat.NotebookNode, name: str = "notebook") -> list[str]:
    """The cell right after ``parameters`` checks exactly the parameters, by name."""
    try:
        defaults = nbtools.default_parameters(nb, name)
    except nbtools.NotebookError as error:
        return [str(error)]
    problems = [f"parameter {p} is not lower_case" for p in defaults if p != p.lower()]
    index = nb.cells.index(nbtools.parameters_cell(nb, name))
    following = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
    call = (
        _called_check(following.source)
        if following is not None and following.cell_type == "code"
        else None
    )
    if call is None:
        return problems + [
            "the cell after the parameters cell does not call check_parameters(globals(), ...)"
        ]
    checked = [k.arg for k in call.keywords]
    if set(checked) != set(defaults):
        missing, extra = sorted(set(defaults) - set(checked)), sorted(set(checked) - set(defaults))
        problems.append(
            f"check_parameters specs differ from the parameters: "
            f"without a spec {missing}, not parameters {extra}"
        )
    return problems


def figure_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Every figure has a caption, a ``fig-`` name and an alt text, drawn in the book style;
    every precomputed frame of an explorer says in words what it shows."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            page = out.get("data", {}).get("text/html", "")
            for alt in re.findall(r'<img alt="([^"]*)"', "".join(page)):
                if len(alt.split()) < 4:
                    problems.append(
                        f"cell {i}: an explorer frame's alt text is {alt!r}: re-run the chapter "
                        f"(the explorer describes each frame), or give explorer() an alt="
                    )
        images = [
            o for o in cell.get("outputs", []) if any(t in o.get("data", {}) for t in IMAGE_TYPES)
        ]
        if not images:
            continue
        meta = cell.metadata.get("mystnb", {})
        figure, image = meta.get("figure", {}), meta.get("image", {})
        where = f"cell {i} ({cell.source.splitlines()[0][:50] if cell.source else ''!r})"
        if not str(figure.get("caption", "")).strip():
            problems.append(f"{where}: figure without a caption")
        if not str(figure.get("name", "")).startswith("fig-"):
            problems.append(f"{where}: figure name must start with 'fig-'")
        alt = str(image.get("alt", "")).strip()
        if len(alt.split()) < 4:
            problems.append(f"{where}: alt text must say in words what the figure shows")
        if len(images) > 1:
            problems.append(f"{where}: {len(images)} images in one figure cell")
        for out in images:
            size = out.get("metadata", {}).get("image/png", {})
            if "image/png" in out.get("data", {}) and "width" not in size:
                problems.append(f"{where}: not a 2x image (call plots.use_book_style())")
            elif size.get("width", 0) > WIDTH * DPI * WIDTH_SLACK:
                problems.append(
                    f"{where}: {size['width']} px wide, wider than the book's "
                    f"{WIDTH * DPI:.0f} px figures (text too small on a phone)"
                )
    return problems


def _is_solution(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and SOLUTION_TAG in tags(cell)


def solution_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Each ``**Exercise N.**`` cell is followed by exactly one hidden solution cell."""
    problems = [
        f"a '**Solution**' markdown cell: {m.group(0).strip()!r}; the explanation "
        f"belongs in the solution cell's output"
        for c in nb.cells
        if c.cell_type == "markdown"
        for m in [_SOLUTION_MD.search(c.source)]
        if m
    ]
    numbers = []
    for i, cell in enumerate(nb.cells):
        exercise = _EXERCISE.match(cell.source) if cell.cell_type == "markdown" else None
        if _is_solution(cell) and not (
            i
            and _EXERCISE.match(nb.cells[i - 1].source or "")
            and nb.cells[i - 1].cell_type == "markdown"
        ):
            problems.append(f"cell {i}: a solution cell that does not follow an exercise")
        if not exercise:
            continue
        numbers.append(int(exercise.group(1)))
        label = f"exercise {exercise.group(1)}"
        solution = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        if solution is None or not _is_solution(solution):
            problems.append(f"{label}: not followed by a code cell tagged '{SOLUTION_TAG}'")
            continue
        after = nb.cells[i + 2] if i + 2 < len(nb.cells) else None
        if after is not None and after.cell_type == "code":
            problems.append(f"{label}: more than one code cell after it")
        if HIDE_TAG not in tags(solution):
            problems.append(f"{label}: the solution is not tagged '{HIDE_TAG}'")
        prompts = {k: solution.metadata.get("mystnb", {}).get(k) for k in SOLUTION_PROMPTS}
        if prompts != SOLUTION_PROMPTS:
            problems.append(f"{label}: the solution's mystnb prompts are {prompts}")
        hidden = solution.metadata.get("jupyter", {})
        if not (hidden.get("source_hidden") and hidden.get("outputs_hidden")):
            problems.append(
                f"{label}: the solution is not collapsed in Jupyter "
                f"(jupyter.source_hidden and outputs_hidden)"
            )
        if not any("text/markdown" in o.get("data", {}) for o in solution.get("outputs", [])):
            problems.append(
                f"{label}: the solution's output has no explanation "
                f"(display(Markdown(...)) at its end)"
            )
    if not numbers:
        problems.append("no '**Exercise 1.**' cell")
    elif numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"exercises are numbered {numbers}, not 1 to {len(numbers)}")
    return problems


def unlinked_chapter_mentions(text: str) -> list[str]:
    """Mentions of "chapter N" in the markdown ``text`` that are not the text of a link."""
    return _CHAPTER.findall(prose(text))


def equation_labels(text: str) -> list[str]:
    """Labels of the numbered equations ``$$ ... $$ (eq-name)`` in ``text``."""
    return _EQ_LABEL.findall(text)


def equation_references(text: str) -> list[str]:
    """Labels referenced with ``{eq}`label``` in ``text``."""
    return _EQ_REF.findall(text)


def _is_number_to_glue(token: str) -> bool:
    """Decimals, percentages and numbers of 1,000 or more; bare 1500-2100 read as years."""
    if token.endswith("%") or "." in token:
        return True
    if "," in token:
        return re.fullmatch(r"\d{1,3}(,\d{3})+", token) is not None
    value = int(token)
    return value >= 1000 and not 1500 <= value <= 2100


def numbers_in_prose(text: str) -> list[str]:
    """The numbers in the prose of markdown ``text`` that must be glued or listed as fixed."""
    tokens = (t.rstrip(",") for t in _NUMBER.findall(prose(text, keep_links=True)))
    return [t for t in tokens if t and _is_number_to_glue(t)]


def glued(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The values glued in ``nb``'s outputs: name -> their ``text/plain``."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                data = out.get("data", {})
                values[name] = next((v for k, v in data.items() if k.endswith("text/plain")), "")
    return values


def number_problems(nb: nbformat.NotebookNode, prefix: str) -> list[str]:
    """Numbers in the prose not glued nor fixed; glue references that do not resolve.

    ``prefix`` is the chapter's glue prefix, ``ch01_`` for ``01_time_series``.
    """
    fixed = nb.metadata.get(nbtools.METADATA_KEY, {}).get(FIXED_NUMBERS_KEY, {})
    problems = [
        f"'{token}' in the prose is neither glued nor in ptb_book.{FIXED_NUMBERS_KEY}"
        for token in numbers_in_prose(markdown(nb))
        if token not in fixed
    ]
    values = glued(nb)
    for reference in _GLUE_REF.findall(markdown(nb)):
        key, _, spec = reference.partition(":")
        if not key.startswith(prefix):
            problems.append(f"glue name {key!r} does not start with {prefix!r}")
        if key not in values:
            problems.append(f"{{glue}} {key!r} is never glued (myst_nb.glue({key!r}, ...))")
        elif spec and spec[-1] in "bcdoxXeEfFgGn%":
            try:
                float(ast.literal_eval(values[key]))
            except (ValueError, SyntaxError, TypeError):
                problems.append(
                    f"glued {key!r} = {values[key]} is not a plain number; "
                    f"glue float(...) or int(...)"
                )
    return problems


def cost_problems(nb: nbformat.NotebookNode, name: str = "notebook") -> list[str]:
    """The cell after the title is the cost line that the run's metadata gives."""
    if len(nb.cells) < 2 or nbtools.COST_TAG not in tags(nb.cells[1]):
        return [f"the cell after the title is not tagged '{nbtools.COST_TAG}'"]
    try:
        expected = nbtools.cost_text(nb.metadata, name)
    except nbtools.NotebookError as error:
        return [str(error)]
    if nb.cells[1].source != expected:
        return ["the cost line differs from the run's metadata: run make execute"]
    return []


def size_problems(path: Path) -> list[str]:
    """The notebook file is at most :data:`MAX_NOTEBOOK_BYTES`."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return [f"{path.name} is {size / 1e6:.2f} MB, over {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB"]
    return []


#: Modules of the build tooling, which chapters never import.
TOOLING_MODULES = ("notebooks", "results", "conventions", "colab")


def tooling_imports(nb: nbformat.NotebookNode) -> list[str]:
    """The build-tooling modules that ``nb``'s code cells import (chapters import none)."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    pattern = rf"ptb_utils(?:\.| import )({'|'.join(TOOLING_MODULES)})\b"
    return re.findall(pattern, code)


def glossary_terms(text: str) -> list[tuple[str, str]]:
    """``(term, definition)`` pairs of the ``{glossary}`` directive in ``text``, in order."""
    body = re.search(r"```\{glossary\}\n(.*?)^```", text, re.S | re.M)
    if body is None:
        return []
    entries: list[tuple[str, str]] = []
    for line in body.group(1).splitlines():
        if line and not line[0].isspace():
            entries.append((line.strip(), ""))
        elif entries:
            entries[-1] = (entries[-1][0], f"{entries[-1][1]} {line.strip()}".strip())
    return entries


def glossary_problems(text: str, chapters: dict[str, nbformat.NotebookNode]) -> list[str]:
    """The glossary is alphabetical and each entry links to a section of a chapter.

    ``chapters`` maps a notebook's file name to the notebook; links are written from
    ``book/`` (``../notebooks/NN_slug.ipynb#section``).
    """
    entries = glossary_terms(text)
    terms = [term for term, _ in entries]
    problems = (
        []
        if terms == sorted(terms, key=str.casefold)
        else [f"terms are not in alphabetical order: {terms}"]
    )
    for term, definition in entries:
        targets = [t for _, t in links(definition) if t.startswith("../notebooks/")]
        if not targets:
            problems.append(f"{term!r} links to no chapter section")
        for target in targets:
            page, _, anchor = target.removeprefix("../notebooks/").partition("#")
            if page not in chapters:
                problems.append(f"{term!r} links to a missing page {page}")
            elif anchor not in headings(chapters[page]):
                problems.append(f"{term!r} links to #{anchor}, not a section of {page}")
    return problems


def headings(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Anchor slug -> heading text of every ``#``-heading of ``nb``'s markdown."""
    found = {}
    for line in markdown(nb).splitlines():
        heading = re.match(r"^#{1,6}\s+(.+?)\s*$", line)
        if heading:
            found[slug(heading.group(1))] = heading.group(1)
    return found


def slug(heading: str) -> str:
    """The anchor MyST gives a heading (``myst_heading_anchors``): GitHub's slug rules.

    Math in the heading is left out and code keeps its text, as MyST does.
    """
    text = _INLINE_MATH.sub("", heading.strip()).replace("`", "").lower().replace(" ", "-")
    return re.sub(r"[^\w\-]", "", text)


def links(text: str) -> Iterable[tuple[str, str]]:
    """``(text, target)`` of every markdown link in ``text``."""
    return re.findall(r"\[([^\]]*)\]\(([^)\s]+)\)", text)
