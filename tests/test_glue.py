"""Glued values are stored the way the book's builder reads them back."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from myst_nb.core.variables import format_plain_text
from myst_nb.ext.glue import extract_glue_data_cell

from ptb_utils.glue import glue_output


@pytest.mark.parametrize(
    ("value", "spec", "shown"),
    [
        (20.0612, ".1f", "20.1"),
        (np.float64(0.31), ".0%", "31%"),
        (np.int64(929589), ",d", "929,589"),
        (235, "d", "235"),
        ("sunspots", "s", "sunspots"),
    ],
)
def test_the_book_reads_back_the_value_and_formats_it(value, spec: str, shown: str) -> None:
    data, metadata = glue_output("ch01_value", value)
    cell = nbformat.v4.new_code_cell("glue(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data, metadata=metadata)]
    [(name, output)] = extract_glue_data_cell(cell)
    assert name == "ch01_value"
    assert format_plain_text(output["data"]["text/plain"], spec) == shown


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("rmse", 1.0, "must look like 'ch01_ar_rmse'"),
        ("ch1_rmse", 1.0, "must look like"),
        ("ch01_RMSE", 1.0, "must look like"),
        ("ch01_rmse", np.ones(2), "got ndarray"),
        ("ch01_rmse", True, "got bool"),
        ("ch01_rmse", None, "got NoneType"),
    ],
)
def test_bad_names_and_values_are_refused(name: str, value, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        glue_output(name, value)
