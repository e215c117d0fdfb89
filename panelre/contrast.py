"""The classic Hausman contrast of two fitted results (one implementation, used by
``pr.hausman`` and by the Hausman–Taylor over-identification test)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from panelre._linalg import pinv_psd
from panelre._validation import check_option
from panelre._warnings import warn
from panelre.exceptions import IncompatibleResultsError, NonPositiveDefiniteWarning
from panelre.results import PanelResults, TestDetails, TestResult

__all__ = ["hausman_contrast", "HAUSMAN_NULL", "HAUSMAN_ALTERNATIVE"]

HAUSMAN_NULL = "the effects are uncorrelated with the regressors (random effects is consistent)"
HAUSMAN_ALTERNATIVE = (
    "the effects are correlated with the regressors (only fixed effects is consistent)"
)
_NULL, _ALT = HAUSMAN_NULL, HAUSMAN_ALTERNATIVE


def _check_comparable(consistent: PanelResults, efficient: PanelResults) -> None:
    for res, role in ((consistent, "first"), (efficient, "second")):
        if not isinstance(res, PanelResults):
            raise IncompatibleResultsError(
                f"hausman() compares two fitted panel results; the {role} argument is a "
                f"{type(res).__name__}."
            )
    a, b = consistent.source, efficient.source
    if a.weight_type != b.weight_type:
        kinds = [k or "no" for k in (a.weight_type, b.weight_type)]
        raise IncompatibleResultsError(
            f"The two results were fitted with different weights ({kinds[0]} weights vs "
            f"{kinds[1]} weights). Fit both models with the same weights."
        )
    same = a.y_name == b.y_name and a.stats.fingerprint() == b.stats.fingerprint()
    if not same:
        raise IncompatibleResultsError(
            "The two results were fitted on different data (response, rows or entities differ: "
            f"{a.y_name!r} with {a.stats.n} rows vs {b.y_name!r} with {b.stats.n} rows). "
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


def hausman_contrast(
    fe_result: PanelResults,
    re_result: PanelResults,
    *,
    variant: str = "classic",
    convention: str = "stata",
) -> TestResult:
    """``(b₁ − b₂)'(V₁ − V₂)⁺(b₁ − b₂)`` on the shared coefficients (see ``pr.hausman``)."""
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
            details=TestDetails(common, rank, eig, None, variant),
        )
    tol = len(common) * 1e-9 * max(np.abs(eig).max(), np.finfo(float).tiny)
    psd = bool((eig >= -tol).all())
    pd_ = bool((eig > tol).all())
    valid, reason = True, ""
    difference = f"V({fe_result.model.title}) − V({re_result.model.title})"
    if rank == 0:
        valid = False
        reason = (
            f"{difference} is zero: the two estimators coincide on the compared coefficients "
            "(e.g. the regressors have no between-entity variation), so there is nothing to test."
        )
    elif not psd or stat < 0:
        valid = False
        reason = (
            f"{difference}, the difference of the two estimated covariance matrices, is not "
            "positive semi-definite"
            + (f" (smallest eigenvalue {eig.min():.3g})" if not psd else "")
            + (f" and the statistic is negative ({stat:.4g})" if stat < 0 else "")
            + ". In a finite sample the estimated difference need not be positive "
            "semi-definite even when the efficient model is right, so this statistic cannot be "
            "read as a test. Use variant='sigmamore' (both covariances on one estimate of "
            "σₑ², Stata's advice), or pr.hausman_regression(formula, data, cov='cluster') "
            "(the regression-based, cluster-robust form)."
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
        details=TestDetails(common, rank, eig, pd_, variant),
    )
