"""The OData ``$filter`` language as ODK Central reads it, parsed into a small tree (no tables).

Central's ``.svc`` endpoints take ``$filter`` expressions over ``__system`` fields::

    expression := disjunct ("or" disjunct)*
    disjunct   := factor ("and" factor)*
    factor     := "not" factor | "(" expression ")" | field operator literal
    operator   := eq | ne | lt | le | gt | ge
    literal    := 'text' ('' is a quote) | null | true | false | number | 2026-12-07[T08:00Z]

The service turns the tree into a query; a field it does not know is refused there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Union

__all__ = ["And", "Compare", "Filter", "Not", "ODataError", "Or", "parse_filter"]

OPERATORS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})
_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<text>'(?:[^']|'')*')"
    r"|(?P<datetime>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)"
    r"|(?P<number>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][\w/]*))"
)
Literal = Union[str, int, float, bool, datetime, None]  # noqa: UP007 - a runtime alias


class ODataError(ValueError):
    """The expression cannot be read (the text says where)."""


@dataclass(frozen=True, slots=True)
class Compare:
    """``field op literal``."""

    field: str
    op: str
    value: Literal


@dataclass(frozen=True, slots=True)
class And:
    """Both sides hold."""

    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Or:
    """Either side holds."""

    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Not:
    """The inner expression does not hold."""

    inner: Filter


Filter = Union[Compare, And, Or, Not]  # noqa: UP007 - a runtime alias


def parse_filter(text: str) -> Filter:
    """The tree of a ``$filter`` expression, or ``ODataError``."""
    tokens = _tokens(text)
    parser = _Parser(tokens)
    tree = parser.expression()
    if parser.position != len(tokens):
        raise ODataError(f"unexpected {tokens[parser.position][1]!r}")
    return tree


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ODataError(f"cannot read {text[position : position + 20]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match[kind]))
        position = match.end()
    if not tokens:
        raise ODataError("the expression is empty")
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.position = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise ODataError("the expression ends too early")
        self.position += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self.position += 1
            return True
        return False

    def expression(self) -> Filter:
        tree = self.disjunct()
        while self._keyword("or"):
            tree = Or(tree, self.disjunct())
        return tree

    def disjunct(self) -> Filter:
        tree = self.factor()
        while self._keyword("and"):
            tree = And(tree, self.factor())
        return tree

    def factor(self) -> Filter:
        if self._keyword("not"):
            return Not(self.factor())
        kind, value = self._take()
        if kind == "open":
            tree = self.expression()
            if self._take()[0] != "close":
                raise ODataError("a parenthesis is not closed")
            return tree
        if kind != "word":
            raise ODataError(f"expected a field, found {value!r}")
        op_kind, op = self._take()
        if op_kind != "word" or op.lower() not in OPERATORS:
            raise ODataError(f"expected one of {', '.join(sorted(OPERATORS))}, found {op!r}")
        return Compare(value, op.lower(), _literal(*self._take()))


def _literal(kind: str, value: str) -> Literal:
    if kind == "text":
        return value[1:-1].replace("''", "'")
    if kind == "number":
        return float(value) if "." in value else int(value)
    if kind == "datetime":
        try:
            if "T" not in value:
                return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ODataError(f"{value!r} is not a date or time") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if kind == "word" and value in ("null", "true", "false"):
        return {"null": None, "true": True, "false": False}[value]
    raise ODataError(f"expected a value, found {value!r}")
