"""Parameter checks: every mistake stops at once with one line naming the parameter."""

from __future__ import annotations

import math
import types
from typing import Any

import pytest

from ptb_utils.params import (
    Bool,
    Choice,
    Float,
    Int,
    ListOf,
    ParameterError,
    Str,
    check_parameters,
    unknown_names,
)

SPECS = {
    "epochs": Int(ge=1),
    "lambda_step": Float(gt=0, lt=1),
    "series": Choice("sunspots", "co2"),
    "lags": ListOf(Int(ge=1)),
    "fast": Bool(),
    "prompt": Str(),
}
GOOD = {
    "epochs": 3,
    "lambda_step": 0.05,
    "series": "co2",
    "lags": [10, 20],
    "fast": False,
    "prompt": "the stock",
}


def namespace(**changes: Any) -> dict[str, Any]:
    """A notebook's globals: imports, helpers, IPython's own names, the parameters."""
    ns = {
        "np": math,
        "plt": types,
        "display": print,
        "Markdown": str,
        "In": [""],
        "Out": {},
        "_i1": "x = 1",
        "_": None,
        "COLORS": {"truth": "0.2"},
        **GOOD,
    }
    ns.update(changes)
    return {k: v for k, v in ns.items() if v is not ...}


def test_valid_parameters_pass() -> None:
    check_parameters(namespace(), **SPECS)
    check_parameters(namespace(lambda_step=0.999, epochs=10**6, lags=[1]), **SPECS)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lamda_step": 0.25}, "unknown parameter lamda_step = 0.25 (did you mean lambda_step?)"),
        ({"epoch": 3}, "unknown parameter epoch = 3 (did you mean epochs?)"),
        (
            {"colour": "red"},
            "unknown parameter colour = 'red' (the parameters are epochs, "
            "lambda_step, series, lags, fast, prompt)",
        ),
        ({"lambda_step": 0}, "lambda_step = 0 is not allowed: expected a number > 0 and < 1"),
        ({"lambda_step": 1.0}, "lambda_step = 1.0 is not allowed: expected a number > 0 and < 1"),
        ({"lambda_step": "0.1"}, "lambda_step = '0.1' is not allowed: expected a number"),
        ({"lambda_step": math.nan}, "lambda_step = nan is not allowed"),
        ({"lambda_step": True}, "lambda_step = True is not allowed"),
        ({"epochs": 0}, "epochs = 0 is not allowed: expected an integer >= 1"),
        ({"epochs": 3.0}, "epochs = 3.0 is not allowed: expected an integer >= 1"),
        ({"epochs": True}, "epochs = True is not allowed"),
        ({"series": "co3"}, "series = 'co3' is not allowed: expected one of 'sunspots', 'co2'"),
        (
            {"lags": []},
            "lags = [] is not allowed: expected a list of at least 1 items, each an integer >= 1",
        ),
        ({"lags": [10, -1]}, "lags = [10, -1] is not allowed"),
        ({"lags": 10}, "lags = 10 is not allowed"),
        ({"fast": "yes"}, "fast = 'yes' is not allowed: expected True or False"),
        ({"fast": 1}, "fast = 1 is not allowed"),
        ({"prompt": "  "}, "prompt = '  ' is not allowed: expected a non-empty string"),
        ({"prompt": ...}, "prompt has a spec but no value: define it in the parameters cell"),
    ],
)
def test_each_mistake_gives_one_line_naming_the_parameter(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ParameterError) as caught:
        check_parameters(namespace(**changes), **SPECS)
    text = str(caught.value)
    assert text.startswith(message)
    assert "\n" not in text


def test_long_values_are_shortened() -> None:
    with pytest.raises(ParameterError) as caught:
        check_parameters(namespace(prompt=7 * ["a long word"]), **SPECS)
    assert len(str(caught.value)) < 160 and "..." in str(caught.value)


def test_only_injectable_lowercase_globals_count_as_unknown() -> None:
    ns = namespace(rng=object(), helper=lambda: 0, _hidden=3, MAX=4, In=["x"], typo=[1])
    assert unknown_names(ns, set(SPECS)) == ["typo"]


def test_ipython_shows_only_the_message() -> None:
    error = ParameterError("epochs = 0 is not allowed: expected an integer >= 1")
    assert error._render_traceback_() == [
        "ParameterError: epochs = 0 is not allowed: expected an integer >= 1"
    ]
    assert isinstance(error, ValueError)


def test_a_choice_needs_options_and_compares_types() -> None:
    with pytest.raises(ValueError, match="at least one option"):
        Choice()
    assert Choice(1, 2).accepts(1) and not Choice(1, 2).accepts(True)
