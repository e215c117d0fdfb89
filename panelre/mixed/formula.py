"""lme4 formula syntax on top of formulaic: random terms ``(expr | g)`` and ``(expr || g)``.

The fixed part of the formula goes to formulaic unchanged; each parenthesised term with a
top-level ``|`` (correlated effects) or ``||`` (independent effects, lme4's "double bar") is a
random term whose left-hand side is itself a formulaic right-hand side (``1``, ``Days``,
``0 + Days``, ``1 + x + z``) and whose right-hand side names the grouping factor: a column
``g``, an interaction of columns ``a:b`` (one level per observed combination), or a nesting
``a/b``, which lme4 expands to ``(expr | a) + (expr | b:a)`` (``b`` within ``a``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from panelre.exceptions import FormulaError

__all__ = ["RandomTerm", "MixedFormula", "parse_mixed_formula"]

_NAME = re.compile(r"^`?([A-Za-z_.][A-Za-z0-9_.]*)`?$")
_SEPARATORS = re.compile(r"\s*([/:])\s*")


@dataclass(frozen=True)
class RandomTerm:
    """One random term: a formulaic expression for Z, its grouping column, and whether the
    effects are independent (``||``) rather than correlated (``|``)."""

    expr: str
    group: str
    independent: bool = False
    nested: bool = False  # an inner level of an 'a/b' nesting (the 'b:a' of it)

    @property
    def group_columns(self) -> tuple[str, ...]:
        """The data columns whose combinations are the levels of the grouping factor."""
        return tuple(self.group.split(":"))

    def __str__(self) -> str:
        bar = "||" if self.independent else "|"
        return f"({self.expr} {bar} {self.group})"


@dataclass(frozen=True)
class MixedFormula:
    """A parsed mixed-model formula: response, fixed right-hand side and random terms."""

    response: str
    fixed: str
    random: tuple[RandomTerm, ...]

    @property
    def group(self) -> str:
        """The grouping factor of a single-factor model (the first one otherwise)."""
        return self.random[0].group

    @property
    def factors(self) -> tuple[str, ...]:
        """The distinct grouping factors, in order of first appearance."""
        return tuple(dict.fromkeys(t.group for t in self.random))

    @property
    def nested_factors(self) -> frozenset[str]:
        """The factors that an 'a/b' nesting produced as its inner levels ('b:a')."""
        return frozenset(t.group for t in self.random if t.nested)

    @property
    def fixed_formula(self) -> str:
        """The formulaic formula of the fixed part, ``response ~ fixed``."""
        return f"{self.response} ~ {self.fixed}"


def _top_level_parens(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, stop)`` of parenthesised groups at depth 0 of ``text``."""
    spans, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise FormulaError(f"Unbalanced parentheses in formula. Got {text!r}.")
            if depth == 0:
                spans.append((start, i + 1))
    if depth != 0:
        raise FormulaError(f"Unbalanced parentheses in formula. Got {text!r}.")
    return spans


def _split_bar(inner: str) -> tuple[str, str, bool] | None:
    """Split ``expr | g`` / ``expr || g`` at its top-level bar, or return None."""
    depth = 0
    for i, ch in enumerate(inner):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "|" and depth == 0:
            if inner[i + 1 : i + 2] == "|":
                return inner[:i], inner[i + 2 :], True
            return inner[:i], inner[i + 1 :], False
    return None


def _grouping_names(rhs: str, source: str) -> list[str]:
    """Names of the grouping factors in ``g``, ``a:b`` or ``a/b/c`` (lme4's expansion of
    nesting: ``a``, ``b:a``, ``c:b:a``)."""
    parts = _SEPARATORS.split(rhs)
    columns, seps = parts[0::2], parts[1::2]
    names = []
    for col in columns:
        match = _NAME.match(col.strip())
        if match is None:
            raise FormulaError(
                f"The grouping factor of a random term must be a column name, an interaction "
                f"'a:b' or a nesting 'a/b'. Got {rhs!r} in {source!r}."
            )
        names.append(match.group(1))
    if len(set(names)) != len(names):
        raise FormulaError(f"A grouping column appears twice in {rhs!r} (in {source!r}).")
    if "/" not in seps:
        return [":".join(names)]
    # split at the slashes into nesting levels, each an interaction of columns
    levels, current = [], [names[0]]
    for sep, name in zip(seps, names[1:], strict=True):
        if sep == "/":
            levels.append(current)
            current = [name]
        else:
            current.append(name)
    levels.append(current)
    out: list[str] = []
    outer: list[str] = []
    for level in levels:
        out.append(":".join(level + outer))
        outer = level + outer
    return out


def _make_terms(lhs: str, rhs: str, independent: bool, source: str) -> list[RandomTerm]:
    lhs, rhs = lhs.strip(), rhs.strip()
    if not lhs:
        raise FormulaError(
            f"The random term {source!r} has nothing before the bar. Use '1 | g' for a random "
            "intercept."
        )
    names = _grouping_names(rhs, source)
    return [RandomTerm(lhs, name, independent, nested=i > 0) for i, name in enumerate(names)]


def _clean_fixed(text: str) -> str:
    text = re.sub(r"\+\s*(?=\+|-|$)", "", text.strip())
    text = re.sub(r"^\s*\+", "", text).strip()
    return text or "1"


def _split_response(formula: str) -> tuple[str, str]:
    if not isinstance(formula, str):
        raise FormulaError(f"The formula must be a string. Got {type(formula).__name__}.")
    if formula.count("~") != 1:
        raise FormulaError(
            "A mixed-model formula needs exactly one '~' between the response and the terms, "
            f"e.g. 'Reaction ~ Days + (Days | Subject)'. Got {formula!r}."
        )
    response, rhs = (part.strip() for part in formula.split("~"))
    if not response or not rhs:
        raise FormulaError(f"The formula needs a response and right-hand side. Got {formula!r}.")
    return response, rhs


def parse_mixed_formula(
    formula: str,
    *,
    groups: object = None,
    re_formula: str | None = None,
) -> MixedFormula:
    """Split an lme4-style formula into response, fixed part and random terms.

    Parameters
    ----------
    formula : str
        ``"y ~ fixed + (expr | g)"``; or, with ``groups``, a formula without random terms.
    groups : str, optional
        statsmodels spelling: the grouping column (random intercept unless ``re_formula``).
    re_formula : str, optional
        statsmodels spelling: the random part's right-hand side, e.g. ``"~Time"``.

    Returns
    -------
    MixedFormula

    Raises
    ------
    FormulaError
        No random term, random terms together with ``groups``, or a malformed term.

    Examples
    --------
    >>> f = parse_mixed_formula("Reaction ~ Days + (Days || Subject)")
    >>> f.fixed, f.random
    ('Days', (RandomTerm(expr='Days', group='Subject', independent=True, nested=False),))
    >>> parse_mixed_formula("Weight ~ Time", groups="Pig", re_formula="~Time").random[0].expr
    'Time'
    >>> parse_mixed_formula("strength ~ 1 + (1 | batch/cask)").factors
    ('batch', 'cask:batch')
    """
    response, rhs = _split_response(formula)
    terms: list[RandomTerm] = []
    fixed_parts, last = [], 0
    for start, stop in _top_level_parens(rhs):
        split = _split_bar(rhs[start + 1 : stop - 1])
        if split is None:
            continue
        fixed_parts.append(rhs[last:start])
        last = stop
        terms.extend(_make_terms(*split, source=rhs[start:stop]))
    fixed = _clean_fixed("".join(fixed_parts) + rhs[last:])
    terms = _add_statsmodels_terms(terms, groups, re_formula, formula)
    return MixedFormula(response, fixed, tuple(terms))


def _add_statsmodels_terms(
    terms: Sequence[RandomTerm], groups: object, re_formula: str | None, formula: str
) -> list[RandomTerm]:
    terms = list(terms)
    if groups is None:
        if re_formula is not None:
            raise FormulaError("'re_formula' needs 'groups' (the grouping column) as well.")
        if not terms:
            raise FormulaError(
                "The formula has no random term. Add one in lme4 syntax, e.g. "
                f"'{formula} + (1 | group)', or pass groups='column'. Got {formula!r}."
            )
        return terms
    if terms:
        raise FormulaError(
            "Give the random part either in the formula, lme4 style, or with 'groups'/"
            f"'re_formula', not both. Got formula {formula!r} and groups={groups!r}."
        )
    expr = "1"
    if re_formula is not None:
        if not isinstance(re_formula, str):
            raise FormulaError(
                f"'re_formula' must be a string such as '~Time'. Got {re_formula!r}."
            )
        expr = re_formula.strip().lstrip("~").strip() or "1"
    name = groups if isinstance(groups, str) else "group"
    return [RandomTerm(expr, name, False)]
