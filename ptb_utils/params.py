"""Checking a notebook's parameters the moment they are set, with one clear line per mistake.

Every chapter has a ``parameters`` cell that papermill can override from the command line
(``papermill ch.ipynb out.ipynb -p epochs 3``). Papermill accepts any name and any value, so
without a check a typo (``-p lamda_step 0.25``) runs the whole chapter with the default, a
string where a number belongs fails ten cells later with a raw ``TypeError``, and a zero step
raises ``ZeroDivisionError`` in the middle of a loop. The cell right after the parameters
calls :func:`check_parameters` with one spec per parameter::

    check_parameters(globals(), epochs=Int(ge=1), lambda_step=Float(gt=0, lt=1),
                     series=Choice("sunspots", "co2"), lags=ListOf(Int(ge=1)))

and the notebook stops there, with one line such as ``ParameterError: lambda_step = 0 is
not allowed: expected a number > 0 and < 1``.
"""

from __future__ import annotations

import difflib
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

#: Types of the values papermill can inject: the only globals that can be a parameter typo.
INJECTABLE = (bool, int, float, str, list, dict, tuple, type(None))
#: Globals that IPython defines in every kernel.
IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit"})


class ParameterError(ValueError):
    """A notebook parameter is unknown, of the wrong type or out of its range.

    In IPython (Jupyter, papermill, nbval) the error shows as its one-line message instead
    of a traceback through this module, which would only hide the line that matters.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Spec(ABC):
    """What values a parameter accepts, and how to say it."""

    @abstractmethod
    def allowed(self) -> str:
        """What is allowed, as the end of the sentence "expected ...": ``an integer >= 1``."""

    @abstractmethod
    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is allowed."""


@dataclass(frozen=True)
class _Bounded(Spec):
    """A number of some kind, optionally bounded on either side."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    kind: ClassVar[str]

    @abstractmethod
    def is_kind(self, value: Any) -> bool:
        """Whether ``value`` is a number of this spec's kind, before the bounds."""

    def allowed(self) -> str:
        bounds = " and ".join(
            f"{op} {v}"
            for op, v in ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt))
            if v is not None
        )
        return self.kind + (f" {bounds}" if bounds else "")

    def accepts(self, value: Any) -> bool:
        return (
            self.is_kind(value)
            and (self.ge is None or value >= self.ge)
            and (self.gt is None or value > self.gt)
            and (self.le is None or value <= self.le)
            and (self.lt is None or value < self.lt)
        )


class Int(_Bounded):
    """An integer (not a bool), optionally bounded: ``Int(ge=1, le=100)``."""

    kind = "an integer"

    def is_kind(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)


class Float(_Bounded):
    """A finite number (an integer is fine, a bool is not), optionally bounded."""

    kind = "a number"

    def is_kind(self, value: Any) -> bool:
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )


@dataclass(frozen=True)
class Bool(Spec):
    """``True`` or ``False``."""

    def allowed(self) -> str:
        return "True or False"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)


@dataclass(frozen=True)
class Str(Spec):
    """A string, non-empty unless ``empty=True``."""

    empty: bool = False

    def allowed(self) -> str:
        return "a string" if self.empty else "a non-empty string"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and (self.empty or bool(value.strip()))


class Choice(Spec):
    """One of a fixed set of values: ``Choice("small", "medium")`` or ``Choice(*SERIES)``."""

    def __init__(self, *options: Any) -> None:
        if not options:
            raise ValueError("Choice needs at least one option")
        self.options = options

    def allowed(self) -> str:
        return "one of " + ", ".join(map(repr, self.options))

    def accepts(self, value: Any) -> bool:
        return any(type(value) is type(o) and value == o for o in self.options)


@dataclass(frozen=True)
class ListOf(Spec):
    """A list whose items all satisfy ``item``, with at least ``min_len`` of them."""

    item: Spec
    min_len: int = 1

    def allowed(self) -> str:
        return f"a list of at least {self.min_len} items, each {self.item.allowed()}"

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, list)
            and len(value) >= self.min_len
            and all(self.item.accepts(v) for v in value)
        )


def unknown_names(namespace: Mapping[str, Any], known: set[str]) -> list[str]:
    """Globals of ``namespace`` that look like injected parameters but are not in ``known``.

    A candidate is a name papermill could have injected: a value of a literal type (a
    number, string, bool, list, dict, tuple or None), not ``_``-private, not an IPython
    global and not an ``UPPER_CASE`` constant. Modules, functions, classes and any other
    object (an array, a figure) can only come from the notebook's own code.
    """
    return sorted(
        name
        for name, value in namespace.items()
        if name not in known
        and not name.startswith("_")
        and name not in IPYTHON_NAMES
        and not name.isupper()
        and isinstance(value, INJECTABLE)
    )


def check_parameters(namespace: Mapping[str, Any], **specs: Spec) -> None:
    """Stop the notebook with a :class:`ParameterError` unless every parameter is valid.

    ``namespace`` is the notebook's ``globals()``; each keyword names one parameter and its
    :class:`Spec`. Checked in this order, the first problem raising: a spec whose parameter
    is not defined (the notebook's own mistake), a global that is not a parameter but looks
    injected (a misspelt ``-p`` name; the closest parameter name is suggested), then each
    parameter's value against its spec.
    """
    missing = [name for name in specs if name not in namespace]
    if missing:
        raise ParameterError(
            f"{missing[0]} has a spec but no value: define it in the parameters cell"
        )
    for name in unknown_names(namespace, set(specs)):
        close = difflib.get_close_matches(name, specs, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else f"the parameters are {', '.join(specs)}"
        raise ParameterError(f"unknown parameter {name} = {_show(namespace[name])} ({hint})")
    for name, spec in specs.items():
        value = namespace[name]
        if not spec.accepts(value):
            raise ParameterError(
                f"{name} = {_show(value)} is not allowed: expected {spec.allowed()}"
            )
