"""A selector language as a registry: each kind of selector (``persona``, ``zone``,
``other-lob``) is one small function, registered with the arguments it takes; its docstring is
the grammar's documentation of it (``selectors.grammar_text`` renders every registry).

A selector is ``KIND`` or ``KIND/ARGUMENT``. A kind's forms say which arguments it takes:
``""`` none, a literal (``*``, ``own``, ``approved``) that one, ``<name>`` any argument but
``own`` (which a kind takes only where it lists it), and ``<principal>`` / ``<resource>`` (the
registry's own noun) a selector of the same registry, checked in turn.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

R = TypeVar("R", bound=Callable[..., Any])
OWN = "own"


@dataclass(frozen=True)
class Kind(Generic[R]):
    """One kind of selector: its name, the arguments it takes, its resolver and what it
    selects (the resolver's docstring unless given)."""

    name: str
    forms: tuple[str, ...]
    resolve: R
    doc: str

    @property
    def selectors(self) -> tuple[str, ...]:
        """How the catalog writes it: ``app/*``, ``persona/<name>``, ``ingestion``."""
        return tuple(f"{self.name}/{form}" if form else self.name for form in self.forms)

    @property
    def summary(self) -> str:
        """The first paragraph of its documentation, on one line."""
        return re.sub(r"\s+", " ", self.doc.split("\n\n", 1)[0]).strip()


class Registry(Generic[R]):
    """The kinds of one selector language: ``noun`` names it in messages (``principal``)."""

    def __init__(self, noun: str) -> None:
        self.noun = noun
        self.kinds: dict[str, Kind[R]] = {}

    @property
    def nested(self) -> str:
        """The form of an argument that is itself a selector of this registry."""
        return f"<{self.noun}>"

    def kind(self, name: str, *forms: str, doc: str | None = None) -> Callable[[R], R]:
        """Register the decorated function as the resolver of ``name``, which takes
        ``forms`` (none: no argument)."""

        def register(resolve: R) -> R:
            self.add(name, forms, resolve, doc)
            return resolve

        return register

    def add(self, name: str, forms: tuple[str, ...], resolve: R, doc: str | None = None) -> None:
        if name in self.kinds:
            raise ValueError(f"the {self.noun} selector kind '{name}' is registered twice")
        text = doc or inspect.getdoc(resolve)
        if not text:
            raise ValueError(f"the {self.noun} selector kind '{name}' has no documentation")
        self.kinds[name] = Kind(name, forms or ("",), resolve, text)

    def include(self, other: Registry[R]) -> None:
        """Take every kind of ``other`` (a part of this language kept in another module)."""
        for kind in other.kinds.values():
            self.add(kind.name, kind.forms, kind.resolve, kind.doc)

    def problem(self, selector: str) -> str | None:
        """Why ``selector`` is no selector of this registry; None when it is one."""
        name, _, argument = selector.partition("/")
        kind = self.kinds.get(name)
        if kind is None:
            known = ", ".join(sorted(self.kinds))
            return (
                f"unknown {self.noun} selector kind '{name}' in '{selector}'; known kinds: {known}"
            )
        if argument in kind.forms:
            return None
        if argument and argument != OWN and any(_placeholder(f, self) for f in kind.forms):
            return None
        if argument and self.nested in kind.forms:
            return self.problem(argument)
        takes = " | ".join(kind.selectors)
        return f"the {self.noun} selector '{selector}' is none of the forms of {name}: {takes}"

    def lookup(self, selector: str) -> tuple[R, str]:
        """The resolver of ``selector`` and its argument; refused (ValueError, naming the known
        kinds or forms) when it is no selector of this registry."""
        problem = self.problem(selector)
        if problem is not None:
            raise ValueError(problem)
        return self.find(selector)

    def find(self, selector: str) -> tuple[R, str]:
        name, _, argument = selector.partition("/")
        return self.kinds[name].resolve, argument


def _placeholder(form: str, registry: Registry[Any]) -> bool:
    """Whether ``form`` takes any argument (``<name>``, not a nested selector)."""
    return form.startswith("<") and form != registry.nested
