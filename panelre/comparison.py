"""Side-by-side comparison tables of fitted models (``pr.compare``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from panelre.exceptions import InvalidParameterError
from panelre.tables import Summary, format_number

__all__ = ["compare"]


def _stars(p: float) -> str:
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


def _footer(res: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for label, attr in (("N", "nobs"), ("Entities", "n_entities")):
        if hasattr(res, attr):
            out[label] = str(getattr(res, attr))
    source = getattr(res, "source", None)
    if source is not None and hasattr(source, "stats"):
        c = source.stats.entity.counts.astype(int)
        out["T min/avg/max"] = f"{c.min()}/{c.mean():.1f}/{c.max()}"
    for label, attr in (
        ("R² within", "rsquared_within"),
        ("R² between", "rsquared_between"),
        ("R² overall", "rsquared_overall"),
    ):
        if hasattr(res, attr):
            out[label] = format_number(getattr(res, attr))
    vc = getattr(res, "variance_components", None)
    if vc is not None:
        out["sigma_u"] = format_number(vc.sigma_u)
        out["sigma_e"] = format_number(vc.sigma_e)
        out["rho"] = format_number(vc.rho)
        th = vc.theta
        out["theta"] = (
            format_number(th) if np.isscalar(th) else f"{np.min(th):.3f}–{np.max(th):.3f}"
        )
    elif hasattr(res, "resid_variance") and getattr(res, "estimator", "") == "fixed_effects":
        out["sigma_e"] = format_number(float(np.sqrt(res.resid_variance)))
    if hasattr(res, "cov_type"):
        out["Covariance"] = res.cov_type
    return out


def compare(
    results: Mapping[str, Any] | Sequence[Any],
    *,
    stars: bool = True,
    digits: int = 4,
    tests: Mapping[str, Any] | None = None,
) -> Summary:
    """A side-by-side table: coefficients with standard errors in parentheses, and footer
    rows for N, entities, T range, R² within/between/overall, σᵤ, σₑ, ρ, θ and covariance.

    Parameters
    ----------
    results : mapping of name -> results, or a sequence (named Model 1, Model 2, ...)
    stars : bool
        Append significance stars (* p<0.1, ** p<0.05, *** p<0.01).
    digits : int, default 4
        Decimal places of the coefficients and standard errors.
    tests : mapping of label -> TestResult, optional
        Key tests to report under the table (statistic, df and p-value).

    Returns
    -------
    Summary
        Renders as text (``str``), HTML, LaTeX (``as_latex`` / ``to_latex(path)``) and
        Markdown (``as_markdown`` / ``to_markdown(path)``).

    Raises
    ------
    InvalidParameterError
        No results to compare.

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> fe = pr.fixed_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> re = pr.random_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> table = pr.compare({"FE": fe, "RE": re})
    >>> "value" in str(table) and "(0.0119)" in str(table)
    True
    """
    if not isinstance(results, Mapping):
        results = {f"Model {i + 1}": r for i, r in enumerate(results)}
    if not results:
        raise InvalidParameterError("compare() needs at least one fitted result. Got none.")
    names: list[str] = []
    for res in results.values():
        for n in res.params.index:
            if n not in names:
                names.append(n)
    index: list[str] = []
    rows: list[dict[str, str]] = []
    for n in names:
        est_row, se_row = {}, {}
        for label, res in results.items():
            if n in res.params.index:
                star = _stars(float(res.pvalues[n])) if stars else ""
                est_row[label] = format_number(float(res.params[n]), digits) + star
                se_row[label] = "(" + format_number(float(res.std_errors[n]), digits) + ")"
            else:
                est_row[label] = se_row[label] = ""
        index += [n, ""]  # the standard-error row has no label
        rows += [est_row, se_row]
    coef = pd.DataFrame(rows, index=index)[list(results)]
    footers = {label: _footer(res) for label, res in results.items()}
    keys: list[str] = []
    for f in footers.values():
        keys += [k for k in f if k not in keys]
    foot = pd.DataFrame(
        {label: [footers[label].get(k, "") for k in keys] for label in results}, index=keys
    )
    notes = ["Standard errors in parentheses."]
    for label, test in (tests or {}).items():
        notes.append(
            f"{label}: statistic {format_number(test.stat)} (df {test.df}), "
            f"p = {format_number(test.pvalue)}" + ("" if test.valid else " [not valid]")
        )
    if stars:
        notes.append("* p<0.1, ** p<0.05, *** p<0.01")
    return Summary("Model comparison", (), [coef, foot], notes, digits)
