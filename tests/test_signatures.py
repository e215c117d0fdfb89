"""The panel estimator functions share one set of keywords (same names, order, defaults),
and every public function documents its parameters (numpydoc)."""

from __future__ import annotations

import inspect

import pytest

import panelre as pr
from panelre.api import COMMON_KEYWORDS

ESTIMATORS = [
    pr.pooled_ols,
    pr.between,
    pr.fixed_effects,
    pr.first_difference,
    pr.random_effects,
    pr.correlated_random_effects,
    pr.hausman_taylor,
]


def _keywords(fn) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY]


@pytest.mark.parametrize("fn", ESTIMATORS, ids=lambda f: f.__name__)
def test_common_keywords_are_identical(fn) -> None:
    reference = {p.name: p for p in _keywords(pr.pooled_ols)}
    params = _keywords(fn)
    names = [p.name for p in params]
    # the estimator's own options first, then the common ones in the shared order
    assert names[-len(COMMON_KEYWORDS) :] == list(COMMON_KEYWORDS)
    for p in params[-len(COMMON_KEYWORDS) :]:
        assert p.default == reference[p.name].default, p.name
        assert p.annotation == reference[p.name].annotation, p.name
    positional = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind is p.POSITIONAL_OR_KEYWORD]  # fmt: skip
    assert positional == ["formula", "data"]


PUBLIC_FUNCTIONS = [
    *ESTIMATORS,
    pr.hausman,
    pr.hausman_regression,
    pr.breusch_pagan,
    pr.f_test_effects,
    pr.select,
    pr.serial_correlation,
    pr.cross_sectional_dependence,
    pr.unit_root,
    pr.mixed,
    pr.meta_analysis,
    pr.effect_size,
    pr.compare,
    pr.wild_bootstrap,
    pr.margins,
    pr.gmm,
    pr.read_panel,
]


@pytest.mark.parametrize("fn", PUBLIC_FUNCTIONS, ids=lambda f: f.__name__)
def test_public_functions_document_parameters_and_returns(fn) -> None:
    doc = inspect.getdoc(fn) or ""
    for section in (
        "Parameters\n----------",
        "Returns\n-------",
        "Raises\n------",
        "Examples\n--------",
    ):
        assert section in doc, f"{fn.__name__}: no {section.splitlines()[0]} section"
    documented = doc.split("Parameters\n----------", 1)[1].split("\n\n")[0]
    for name in inspect.signature(fn).parameters:
        if name in ("unknown", "self") or name.startswith("_"):
            continue
        assert name in documented, f"{fn.__name__}: parameter {name!r} is not documented"
