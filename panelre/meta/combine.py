r"""The random-effects (and fixed-effect) meta-analysis model fit, as R's ``metafor::rma.uni``.

Model: :math:`y_i = x_i'\beta + u_i + e_i`, :math:`u_i \sim N(0, \tau^2)`,
:math:`e_i \sim N(0, v_i)` with known :math:`v_i`. Given :math:`\hat\tau^2` (from
``panelre.meta.tau2``), :math:`\hat\beta` is weighted least squares with
:math:`w_i = 1/(v_i + \hat\tau^2)` and :math:`\operatorname{Var}\hat\beta = (X'WX)^{-1}`
(times :math:`s^2 = \sum w_i e_i^2/(k-p)` under the Hartung-Knapp-Sidik-Jonkman test).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from panelre._progress import progress as show_progress
from panelre._validation import check_option, check_probability
from panelre._warnings import warn as warn_user
from panelre.exceptions import BoundaryWarning, InsufficientDataError, InvalidParameterError
from panelre.meta._inputs import INTERCEPT, StudyData, prepare_studies
from panelre.meta._wls import weighted_fit
from panelre.meta.results import Heterogeneity, Inference, MetaAnalysisResults
from panelre.meta.tau2 import TAU2_ESTIMATORS, Tau2Estimate, q_profile_ci

__all__ = ["meta_analysis", "fit_studies", "leave_one_out", "METHODS", "TESTS"]

METHODS: tuple[str, ...] = tuple(TAU2_ESTIMATORS)
TESTS: tuple[str, ...] = ("z", "hksj")
_METHOD_ALIASES = {"EE": "FE", "CE": "FE"}
_TEST_ALIASES = {"knha": "hksj", "hk": "hksj"}


def _check_sizes(studies: StudyData, method: str, test: str) -> None:
    k, p = studies.k, studies.p
    if p == 0:
        raise InvalidParameterError(
            "The model has no coefficients (the moderator formula "
            "removed the intercept and has no terms)."
        )
    if method == "FE" and test == "z" and k >= p:
        return
    if k <= p:
        what = f"method={method!r}" if method != "FE" else f"test={test!r}"
        raise InsufficientDataError(
            f"{what} needs more studies than coefficients (k > p) to estimate tau^2 or the "
            f"residual variance; got k = {k} studies and p = {p} coefficient(s). With one "
            "study use method='FE' (tau^2 is not identifiable)."
        )


def _estimate_tau2(studies: StudyData, method: str, warn: bool) -> Tau2Estimate:
    y_centred = studies.y - studies.y.mean()  # as metafor; P annihilates it when X has 1s
    est = TAU2_ESTIMATORS[method](y_centred, studies.v, studies.X)
    if warn and est.at_boundary and method != "FE":
        detail = f" (untruncated value {est.raw:.4g})" if est.raw < 0 else ""
        warn_user(
            f"The {method} estimate of tau^2 is on the boundary and was set to 0{detail}; "
            "the random-effects model reduces to the fixed-effect model.",
            BoundaryWarning,
        )
    return est


def _inference(studies: StudyData, tau2: float, test: str, level: float) -> Inference:
    """Coefficients, covariance, tests and confidence intervals for a given tau^2 (with
    user weights ``w``, metafor's ``weights=``: ``b = (X'WX)⁻¹X'Wy`` with the sandwich
    ``(X'WX)⁻¹ X'W(V + τ²)WX (X'WX)⁻¹``)."""
    k, p = studies.k, studies.p
    total = studies.v + tau2
    fit = weighted_fit(studies.y, studies.X, 1.0 / total)
    if studies.weights is not None:
        fit = weighted_fit(studies.y, studies.X, studies.weights)
    scale, df = 1.0, None
    if test == "hksj":
        df = k - p
        scale = fit.rss / df if fit.rss > np.finfo(float).eps else 0.0  # metafor's rule
    cov = scale * fit.A
    if studies.weights is not None:
        wx = studies.X * studies.weights[:, None]
        cov = fit.A @ ((wx * total[:, None]).T @ wx) @ fit.A
    se = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = fit.beta / se
    dist = stats.norm if df is None else stats.t(df)
    crit = float(dist.ppf(0.5 + level / 2))
    pvalue = 2 * dist.sf(np.abs(stat))
    tested = [j for j, n in enumerate(studies.names) if n != INTERCEPT] or list(range(p))
    b = fit.beta[tested]
    qm = float(b @ np.linalg.solve(cov[np.ix_(tested, tested)], b))
    if df is None:
        qm_df: tuple[int, ...] = (len(tested),)
        qm_p = float(stats.chi2.sf(qm, len(tested)))
    else:
        qm, qm_df = qm / len(tested), (len(tested), df)
        qm_p = float(stats.f.sf(qm, len(tested), df))
    return Inference(
        fit.beta,
        cov,
        se,
        stat,
        pvalue,
        fit.beta - crit * se,
        fit.beta + crit * se,
        crit,
        df,
        fit.d,
        qm,
        qm_p,
        qm_df,
    )


def _heterogeneity(studies: StudyData, method: str, tau2: float) -> Heterogeneity:
    """Cochran's (residual) Q with I^2 and H^2 (metafor's default definitions)."""
    k, p = studies.k, studies.p
    if k <= p:
        return Heterogeneity(0.0, 1.0, k - p, 0.0, 1.0)
    fe = weighted_fit(studies.y - studies.y.mean(), studies.X, 1.0 / studies.v)
    q = max(0.0, fe.rss)
    q_p = float(stats.chi2.sf(q, k - p))
    if method == "FE":
        i2 = max(0.0, 100 * (q - (k - p)) / q) if q > 0 else 0.0
        return Heterogeneity(q, q_p, k - p, i2, q / (k - p))
    typical = (k - p) / fe.trace()
    return Heterogeneity(q, q_p, k - p, 100 * tau2 / (typical + tau2), tau2 / typical + 1)


def _pseudo_r2(studies: StudyData, method: str, tau2: float) -> float:
    """metafor's R^2 in percent: (tau2_0 - tau2)/tau2_0 with tau2_0 from the model without
    moderators; for FE the adjusted R^2 of the inverse-variance weighted regression."""
    y, w = studies.y, 1.0 / studies.v
    if method == "FE":
        if np.var(y) == 0:
            return 0.0
        rss = weighted_fit(y, studies.X, w).rss
        tss = float(np.sum(w * (y - np.sum(w * y) / w.sum()) ** 2))
        adj = 1 - (rss / tss) * (studies.k - 1) / (studies.k - studies.p)
        return max(0.0, 100 * adj)
    null = StudyData(
        y, studies.v, np.ones((studies.k, 1)), (INTERCEPT,), studies.labels, True, True
    )
    tau2_null = _estimate_tau2(null, method, warn=False).tau2
    return 0.0 if tau2_null == 0 else max(0.0, 100 * (tau2_null - tau2) / tau2_null)


def fit_studies(
    studies: StudyData,
    method: str,
    test: str,
    level: float,
    *,
    full: bool = True,
    warn: bool = True,
) -> MetaAnalysisResults:
    """Fit a validated ``StudyData``; ``full=False`` skips the tau^2 CI and R^2."""
    _check_sizes(studies, method, test)
    est = _estimate_tau2(studies, method, warn)
    inf = _inference(studies, est.tau2, test, level)
    het = _heterogeneity(studies, method, est.tau2)
    tau2_ci = None
    if full and method != "FE":
        tau2_ci = q_profile_ci(studies.y, studies.v, studies.X, level)
    r2 = None
    if full and not studies.int_only and studies.has_intercept:
        r2 = _pseudo_r2(studies, method, est.tau2)
    loglike = _loglike(studies, method, est.tau2, inf.beta)
    return MetaAnalysisResults.build(
        studies, method, test, level, est, inf, het, tau2_ci, r2, loglike
    )


def _loglike(studies: StudyData, method: str, tau2: float, beta: np.ndarray) -> float:
    """metafor's ``logLik``: the restricted log-likelihood for REML (with its
    ``+ ½ log|X'X|`` term), else the log-likelihood, at τ² and the reported coefficients
    (user-weighted ones with ``weights``), with the inverse-variance weights."""
    total = studies.v + tau2
    e = studies.y - studies.X @ beta
    k, p = studies.k, studies.p
    core = float(np.log(total).sum() + (e * e / total).sum())
    if method != "REML":
        return float(-0.5 * (k * np.log(2 * np.pi) + core))
    xwx = (studies.X / total[:, None]).T @ studies.X
    logdets = np.linalg.slogdet(xwx)[1] - np.linalg.slogdet(studies.X.T @ studies.X)[1]
    return float(-0.5 * ((k - p) * np.log(2 * np.pi) + core + float(logdets)))


def meta_analysis(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    test: str = "z",
    moderators: Any = None,
    data: pd.DataFrame | None = None,
    level: float = 0.95,
    labels: Any = None,
    weights: Any = None,
) -> MetaAnalysisResults:
    r"""Random-effects meta-analysis or meta-regression (R's ``metafor::rma``).

    Parameters
    ----------
    yi, vi : str, array-like or Series
        Effect sizes and their sampling variances (> 0); column names need ``data=``.
    method : {"REML", "DL", "ML", "PM", "HE", "SJ", "EB", "HS", "FE"}, default "REML"
        Estimator of the between-study variance tau^2 (see ``panelre.meta.tau2``);
        "FE" fits the fixed-(equal-)effect model ("EE" and "CE" are aliases).
    test : {"z", "hksj"}, default "z"
        Normal-theory tests, or the Hartung-Knapp-Sidik-Jonkman adjustment with t (and F)
        tests on k - p degrees of freedom (metafor's ``test="knha"``; "knha" is an alias).
    moderators : str, DataFrame, Series or array-like, optional
        Meta-regression moderators: a formula such as ``"~ ablat"`` evaluated in ``data``
        with formulaic, or columns to which an ``Intercept`` is prepended.
    data : DataFrame, optional
        Where column names and formulas are looked up.
    level : float, default 0.95
        Confidence level of the confidence, prediction and tau^2 intervals.
    labels : str or array-like, optional
        Study labels (a column name or values); default ``data``'s index if it is not a
        plain RangeIndex, else 1..k.
    weights : str or array-like, optional
        User weights (a column name or values, >= 0), metafor's ``weights=``: the
        coefficients are the weighted average ``(X'WX)⁻¹X'Wy`` with standard errors from
        ``(X'WX)⁻¹ X'W(V + τ²)WX (X'WX)⁻¹``; τ² and the heterogeneity statistics are
        estimated as without them (inverse-variance weights). Studies of weight zero are
        dropped with a warning. Not combined with ``test="hksj"``.

    Returns
    -------
    MetaAnalysisResults

    Raises
    ------
    InvalidParameterError
        Unknown ``method`` or ``test``, ``level`` outside (0, 1).
    DataError
        Mismatched lengths, non-numeric or infinite values, variances <= 0.
    InsufficientDataError
        Fewer studies than needed: a random-effects estimator or ``test="hksj"`` needs
        k > p (so at least two studies without moderators); ``method="FE"`` with one study
        returns that study's estimate.
    ConvergenceError
        An iterative estimator failed to converge.

    Warns
    -----
    MissingValueWarning
        Studies with a missing yi, vi or moderator were dropped (the count is given).
    BoundaryWarning
        The tau^2 estimate was truncated at 0.

    Examples
    --------
    >>> from panelre.datasets import load
    >>> from panelre.meta import effect_size, meta_analysis
    >>> bcg = load("bcg")
    >>> es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
    >>> m = meta_analysis(es.yi, es.vi, method="REML")
    >>> round(m.estimate, 4), round(m.tau2, 4), round(m.i2, 2)
    (-0.7145, 0.3132, 92.22)
    >>> reg = meta_analysis(es.yi, es.vi, moderators="~ ablat", data=bcg)
    >>> reg.estimate.round(4).to_dict()
    {'Intercept': 0.2515, 'ablat': -0.0291}
    """
    method = check_option("method", method, METHODS, _METHOD_ALIASES)
    test = check_option("test", test, TESTS, _TEST_ALIASES)
    level = check_probability("level", level)
    if weights is not None and test == "hksj":
        raise InvalidParameterError(
            "test='hksj' is not combined with user weights here (the Knapp-Hartung scale of "
            "a user-weighted average is not the one metafor documents for its default "
            "weights); use test='z', or drop the weights."
        )
    studies = prepare_studies(yi, vi, moderators, data, labels, weights)
    return fit_studies(studies, method, test, level)


def leave_one_out(result: MetaAnalysisResults, progress: bool | None = None) -> pd.DataFrame:
    """Refit without each study in turn (metafor's ``leave1out``); see
    ``MetaAnalysisResults.leave_one_out``. ``progress`` shows a progress bar (default:
    only in an interactive terminal)."""
    studies = result.studies
    if not studies.int_only:
        raise InvalidParameterError(
            "leave_one_out() is only available for models without "
            "moderators (as metafor's leave1out)."
        )
    rows: list[dict[str, float]] = []
    for i in show_progress(
        range(studies.k), total=studies.k, desc="leave-one-out", enabled=progress
    ):
        keep = np.arange(studies.k) != i
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = fit_studies(
                    studies.subset(keep),
                    result.method,
                    result.test,
                    result.level,
                    full=False,
                    warn=False,
                )
        except InsufficientDataError:
            rows.append({})
            continue
        rows.append(
            {
                "estimate": r.estimate,
                "se": r.se,
                "statistic": r.statistic,
                "pvalue": r.pvalue,
                "lower": r.ci[0],
                "upper": r.ci[1],
                "q": r.q,
                "q_pvalue": r.q_pvalue,
                "tau2": r.tau2,
                "i2": r.i2,
                "h2": r.h2,
            }
        )
    columns = [
        "estimate",
        "se",
        "statistic",
        "pvalue",
        "lower",
        "upper",
        "q",
        "q_pvalue",
        "tau2",
        "i2",
        "h2",
    ]
    out = pd.DataFrame(rows, index=studies.labels, columns=columns, dtype=float)
    return out.drop(columns="tau2") if result.method == "FE" else out
