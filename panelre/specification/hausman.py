"""Hausman tests: the classic contrast (Stata's ``hausman``) and the regression-based
(Mundlak/Wooldridge) form that can be made cluster-robust."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
from scipy import stats

from panelre._linalg import column_ss, pinv_psd
from panelre._validation import check_option
from panelre._warnings import warn
from panelre.covariance import CovarianceInputs, make_covariance
from panelre.dask import dispatch as dask_dispatch
from panelre.dask import is_dask
from panelre.estimators import RandomEffects
from panelre.estimators._base import transformed_ols
from panelre.exceptions import IncompatibleResultsError, NonPositiveDefiniteWarning
from panelre.formula import build_design
from panelre.panel import as_panel
from panelre.results import PanelResults
from panelre.specification._base import TestResult

__all__ = ["hausman", "hausman_regression"]

_NULL = "the effects are uncorrelated with the regressors (random effects is consistent)"
_ALT = "the effects are correlated with the regressors (only fixed effects is consistent)"


def _check_comparable(consistent: PanelResults, efficient: PanelResults) -> None:
    for res, role in ((consistent, "first"), (efficient, "second")):
        if not isinstance(res, PanelResults):
            raise IncompatibleResultsError(
                f"hausman() compares two fitted panel results; the {role} argument is a "
                f"{type(res).__name__}."
            )
    a, b = consistent.design, efficient.design
    same = (
        a.y_name == b.y_name
        and a.panel.nobs == b.panel.nobs
        and np.array_equal(a.y, b.y)
        and np.array_equal(a.panel.entity_codes, b.panel.entity_codes)
    )
    if not same:
        raise IncompatibleResultsError(
            "The two results were fitted on different data (response, rows or entities differ: "
            f"{a.y_name!r} with {a.panel.nobs} rows vs {b.y_name!r} with {b.panel.nobs} rows). "
            "Fit both models on the same data and formula."
        )
    for res in (consistent, efficient):
        if res.cov_estimator.name != "unadjusted":
            raise IncompatibleResultsError(
                "The classic Hausman test assumes the random-effects estimator is efficient, "
                f"which rules out robust or clustered covariances (got {res.cov_type!r}). Fit both "
                "models "
                "with cov='unadjusted', or use pr.hausman_regression(..., cov='cluster') for the "
                "cluster-robust test."
            )


def hausman(
    fe_result: PanelResults,
    re_result: PanelResults,
    *,
    variant: str = "classic",
    convention: str = "stata",
) -> TestResult:
    """Hausman test of fixed against random effects, following Stata's ``hausman``.

    Compares the coefficients the two models share (the intercept excluded):
    ``H = (b_FE − b_RE)' (V_FE − V_RE)⁺ (b_FE − b_RE)``, with the Moore–Penrose inverse
    (eigenvalues below ``k·1e-9·max`` treated as zero) and ``df = rank(V_FE − V_RE)``.

    Parameters
    ----------
    fe_result, re_result : PanelResults
        The consistent (fixed effects) and efficient (random effects) fits, on the same
        data, with unadjusted covariances.
    variant : {"classic", "sigmamore", "sigmaless"}
        ``sigmamore`` bases both covariances on the RE estimate of σₑ² (rescales V_FE by
        (s_RE/s_FE)², with s² each model's residual mean square: the within regression's
        and the GLS regression's), ``sigmaless`` on the FE estimate (rescales V_RE); Stata
        recommends either for FE vs RE because the difference is then positive
        semi-definite.
    convention : {"stata", "plm"}
        ``"stata"`` (default): Moore–Penrose inverse, df = rank, invalid flagged.
        ``"plm"``: R plm's ``phtest`` — ordinary inverse, ``|statistic|``, df = number of
        compared coefficients, no rank check (identical when the difference is positive
        definite).

    Returns
    -------
    TestResult
        ``extra`` holds ``rank``, ``positive_definite``, ``eigenvalues`` and the compared
        names. A negative statistic or a difference that is not positive semi-definite is
        returned with ``valid=False``, a ``reason`` and a warning; it is never ``abs()``-ed.

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> fe = pr.fixed_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> re = pr.random_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> round(pr.hausman(fe, re).stat, 4)
    2.3304
    """
    variant = check_option("variant", variant, ["classic", "sigmamore", "sigmaless"])
    convention = check_option("convention", convention, ["stata", "plm"])
    _check_comparable(fe_result, re_result)
    common = [n for n in re_result.params.index if n in fe_result.params.index and n != "Intercept"]
    if not common:
        raise IncompatibleResultsError(
            "The two models share no coefficients besides the intercept (no time-varying "
            "regressors), so the Hausman test is undefined."
        )
    q = (fe_result.params[common] - re_result.params[common]).to_numpy()
    v_fe = fe_result.cov.loc[common, common].to_numpy()
    v_re = re_result.cov.loc[common, common].to_numpy()
    # each model's own estimate of σₑ²: FE e'e/(n−N−K), RE the GLS regression's mean
    # squared error (with Swamy–Arora σ̂ₑ² itself equals the FE one, which would make the
    # rescaling a no-op)
    s2_fe = fe_result.resid_variance
    s2_re = re_result.resid_variance
    if variant == "sigmamore":
        v_fe = v_fe * (s2_re / s2_fe)
    elif variant == "sigmaless":
        v_re = v_re * (s2_fe / s2_re)
    diff = v_fe - v_re
    pinv, rank, eig = pinv_psd(diff)
    stat = float(q @ pinv @ q)
    if convention == "plm":
        stat = abs(float(q @ np.linalg.solve(diff, q)))
        return TestResult(
            name=f"Hausman test ({fe_result.model.title} vs {re_result.model.title}, plm)",
            stat=stat,
            df=len(common),
            pvalue=float(stats.chi2.sf(stat, len(common))),
            null=_NULL,
            alternative=_ALT,
            distribution="chi2",
            extra={"rank": rank, "eigenvalues": eig, "names": common, "variant": variant},
        )
    tol = len(common) * 1e-9 * max(np.abs(eig).max(), np.finfo(float).tiny)
    psd = bool((eig >= -tol).all())
    pd_ = bool((eig > tol).all())
    valid, reason = True, ""
    if rank == 0:
        valid = False
        reason = (
            "V_FE − V_RE is zero: the two estimators coincide on the compared coefficients "
            "(e.g. the regressors have no between-entity variation), so there is nothing to test."
        )
    elif not psd or stat < 0:
        valid = False
        reason = (
            "V_FE − V_RE is not positive semi-definite"
            + (f" (smallest eigenvalue {eig.min():.3g})" if not psd else "")
            + (f" and the statistic is negative ({stat:.4g})" if stat < 0 else "")
            + ": the data do not support the assumption that random effects is efficient. Use "
            "pr.hausman_regression(formula, data, cov='cluster') (robust), or "
            "variant='sigmamore'."
        )
        warn(reason, NonPositiveDefiniteWarning)
    pvalue = float(stats.chi2.sf(stat, rank)) if rank > 0 and stat >= 0 else float("nan")
    return TestResult(
        name=f"Hausman test ({fe_result.model.title} vs {re_result.model.title}, {variant})",
        stat=stat,
        df=rank,
        pvalue=pvalue,
        null=_NULL,
        alternative=_ALT,
        valid=valid,
        reason=reason,
        distribution="chi2",
        extra={
            "rank": rank,
            "positive_definite": pd_,
            "eigenvalues": eig,
            "names": common,
            "variant": variant,
        },
    )


def _undefined(reason: str) -> TestResult:
    """A regression-based Hausman test that cannot be computed, with the reason."""
    return TestResult(
        name="Regression-based Hausman test",
        stat=float("nan"),
        df=0,
        pvalue=float("nan"),
        null=_NULL,
        alternative=_ALT,
        valid=False,
        reason=reason,
    )


def hausman_regression(
    formula: str,
    data: Any,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    effects: str = "entity",
    method: str = "swamy-arora",
    **cov_options: Any,
) -> TestResult:
    """Regression-based (Mundlak/Wooldridge) Hausman test, R plm's ``phtest(method="aux")``.

    Regresses the RE quasi-demeaned response on the RE quasi-demeaned regressors and the
    within-demeaned time-varying regressors, and tests that the latter are jointly zero
    with a Wald test (df = number of time-varying regressors). With ``cov="cluster"``
    (by entity) it is the cluster-robust test Stata users get from ``xtoverid`` or
    ``estat mundlak``.

    Examples
    --------
    >>> import panelre as pr
    >>> t = pr.hausman_regression("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                           entity="firm", time="year", cov="cluster")
    >>> round(t.stat, 4), t.df
    (8.2998, 2)
    """
    if is_dask(data):
        return dask_dispatch("hausman_regression", formula, data, entity=entity, time=time,
                             cov=cov, effects=effects, method=method, **cov_options)  # fmt: skip
    design = build_design(formula, as_panel(data, entity, time))
    model = RandomEffects(design, effects=effects, method=method)
    p = design.panel
    slope_cols = [j for j, n in enumerate(design.x_names) if n != "Intercept"]
    X = design.X[:, slope_cols]
    Xw = p.demean(X, model.effects)
    ss_raw = column_ss(X)
    varying = np.diag(Xw.T @ Xw) > 1e-10 * np.maximum(ss_raw, np.finfo(float).tiny)
    names = [design.x_names[j] + ".tilde" for j, v in zip(slope_cols, varying) if v]
    if not names:
        return _undefined(
            "The model has no time-varying regressors, so the Hausman test is undefined "
            "(fixed and random effects estimate nothing in common)."
        )
    re_est = model.fit()._est
    # As R plm, the auxiliary regression has a plain intercept (not the quasi-demeaned
    # 1 − θᵢ); on balanced panels the two are the same regression.
    re_X = re_est.regressors().copy()
    if "Intercept" in re_est.names:
        re_X[:, re_est.names.index("Intercept")] = 1.0
    aux_X = np.column_stack([re_X, Xw[:, varying]])
    ols = transformed_ols(aux_X, re_est.y, [*re_est.names, *names], warn=False)

    inputs = CovarianceInputs(
        X=ols.X,
        resid=ols.resid,
        bread=ols.bread,
        df_resid=p.nobs - ols.X.shape[1],
        entity_codes=p.entity_codes,
        time_codes=p.time_codes,
        frame=p.frame,
        n_params=ols.X.shape[1],
    )
    V = make_covariance(cov, **cov_options).cov(inputs)
    idx = [ols.names.index(n) for n in names if n in ols.names]
    if not idx:
        return _undefined(
            "The within-demeaned regressors are collinear with the quasi-demeaned ones "
            "(no between-entity variation, e.g. the same design for every entity): fixed and "
            "random effects give the same slopes and the test is undefined."
        )
    b = ols.params[idx]
    stat = float(b @ np.linalg.solve(V[np.ix_(idx, idx)], b))
    df = len(idx)
    return TestResult(
        name=f"Regression-based Hausman test ({make_covariance(cov, **cov_options).describe()})",
        stat=stat,
        df=df,
        pvalue=float(stats.chi2.sf(stat, df)),
        null=_NULL,
        alternative=_ALT,
        distribution="chi2",
        extra={"names": names, "coefficients": b},
    )
