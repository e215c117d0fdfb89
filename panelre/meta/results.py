"""Immutable results of a meta-analysis (``MetaAnalysisResults``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from panelre._validation import check_probability
from panelre.meta._inputs import StudyData
from panelre.meta.tau2 import Tau2Estimate
from panelre.results import tidy_coefficients
from panelre.tables import Summary, format_number

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MetaAnalysisResults", "Inference", "Heterogeneity"]

_METHOD_NAMES = {
    "FE": "fixed-effect",
    "DL": "DerSimonian-Laird",
    "REML": "restricted maximum likelihood",
    "ML": "maximum likelihood",
    "PM": "Paule-Mandel",
    "HE": "Hedges",
    "SJ": "Sidik-Jonkman",
    "EB": "empirical Bayes",
    "HS": "Hunter-Schmidt",
}


@dataclass(frozen=True)
class Inference:
    """Coefficient estimates and tests for a given tau^2 (internal value type)."""

    beta: np.ndarray
    cov: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    crit: float
    df: int | None
    weights: np.ndarray
    qm: float
    qm_pvalue: float
    qm_df: tuple[int, ...]


@dataclass(frozen=True)
class Heterogeneity:
    """Cochran's (residual) Q test, I^2 (percent) and H^2 (internal value type)."""

    q: float
    q_pvalue: float
    q_df: int
    i2: float
    h2: float


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float, copy=True)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, repr=False)
class MetaAnalysisResults:
    """Results of ``panelre.meta.meta_analysis`` (immutable).

    Without moderators ``estimate``, ``se``, ``statistic`` and ``pvalue`` are floats and
    ``ci``/``pi`` are ``(lower, upper)`` tuples of floats (``pi`` is None for FE).

    With moderators they are pandas Series indexed by coefficient name (``Intercept``
    first), ``ci`` is a tuple of two Series and ``pi`` is None; ``qm``/``qm_pvalue`` test
    the moderators (chi-square, or F under ``test="hksj"``), ``r2`` is metafor's pseudo-R^2
    in percent and ``q``/``q_pvalue`` test residual heterogeneity (metafor's QE).
    """

    method: str
    test: str
    level: float
    estimate: Any
    se: Any
    statistic: Any
    pvalue: Any
    ci: tuple[Any, Any]
    pi: tuple[float, float] | None
    df: int | None
    tau2: float
    tau2_se: float
    tau2_ci: tuple[float, float] | None
    tau2_at_boundary: bool
    i2: float
    h2: float
    q: float
    q_pvalue: float
    q_df: int
    k: int
    weights: pd.Series
    qm: float | None
    qm_pvalue: float | None
    qm_df: tuple[int, ...] | None
    r2: float | None
    cov: pd.DataFrame
    loglike: float
    studies: StudyData = field(compare=False)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        studies: StudyData,
        method: str,
        test: str,
        level: float,
        est: Tau2Estimate,
        inf: Inference,
        het: Heterogeneity,
        tau2_ci: tuple[float, float] | None,
        r2: float | None,
        loglike: float,
    ) -> MetaAnalysisResults:
        """Assemble the result from the fitted pieces (used by ``panelre.meta.combine``)."""
        names = list(studies.names)
        pi: tuple[float, float] | None = None
        if studies.int_only:

            def pick(a: np.ndarray) -> Any:
                return float(a[0])

            if method != "FE":  # as metafor, no prediction interval for the FE model
                half = inf.crit * np.sqrt(inf.se[0] ** 2 + est.tau2)
                pi = (float(inf.beta[0] - half), float(inf.beta[0] + half))
        else:

            def pick(a: np.ndarray) -> Any:
                return pd.Series(_frozen(a), index=names, dtype=float)

        moderated = not studies.int_only
        return cls(
            method=method,
            test=test,
            level=level,
            estimate=pick(inf.beta),
            se=pick(inf.se),
            statistic=pick(inf.statistic),
            pvalue=pick(inf.pvalue),
            ci=(pick(inf.lower), pick(inf.upper)),
            pi=pi,
            df=inf.df,
            tau2=est.tau2,
            tau2_se=float("nan") if method == "FE" else est.se,
            tau2_ci=tau2_ci,
            tau2_at_boundary=est.at_boundary and method != "FE",
            i2=het.i2,
            h2=het.h2,
            q=het.q,
            q_pvalue=het.q_pvalue,
            q_df=het.q_df,
            k=studies.k,
            weights=pd.Series(
                _frozen(100 * inf.weights / inf.weights.sum()), index=studies.labels, name="weight"
            ),
            qm=inf.qm if moderated else None,
            qm_pvalue=inf.qm_pvalue if moderated else None,
            qm_df=inf.qm_df if moderated else None,
            r2=r2,
            cov=pd.DataFrame(_frozen(inf.cov), index=names, columns=names),
            loglike=loglike,
            studies=studies,
        )

    # -- derived values ------------------------------------------------------------------------
    @property
    def tau(self) -> float:
        """Estimated between-study standard deviation, sqrt(tau2)."""
        return float(np.sqrt(self.tau2))

    # -- the vocabulary every result shares -------------------------------------------------
    def _series(self, values: Any, name: str) -> pd.Series:
        return pd.Series(np.atleast_1d(np.asarray(values, dtype=float)),
                         index=list(self.studies.names), name=name)  # fmt: skip

    @property
    def params(self) -> pd.Series:
        """Coefficients as a Series (``Intercept``, then the moderators)."""
        return self._series(self.estimate, "params")

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors of ``params``."""
        return self._series(self.se, "std_errors")

    @property
    def tstats(self) -> pd.Series:
        """z (or, under ``test="hksj"``, t) statistics of ``params``."""
        return self._series(self.statistic, "tstats")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of ``params``."""
        return self._series(self.pvalue, "pvalues")

    @property
    def nobs(self) -> int:
        """Number of studies (metafor's k)."""
        return self.k

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Confidence intervals of ``params`` (columns ``lower``, ``upper``): normal, or t on
        ``df`` degrees of freedom under ``test="hksj"``; ``level`` defaults to the fit's.

        Examples
        --------
        >>> from panelre.datasets import load
        >>> from panelre.meta import effect_size, meta_analysis
        >>> bcg = load("bcg")
        >>> es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
        >>> meta_analysis(es.yi, es.vi, moderators="~ ablat", data=bcg).conf_int().round(4)
                    lower   upper
        Intercept -0.2367  0.7397
        ablat     -0.0432 -0.0150
        """
        level = self.level if level is None else check_probability("level", level)
        dist = stats.norm if self.df is None else stats.t(self.df)
        crit = float(dist.ppf(0.5 + level / 2))
        half = crit * self.std_errors
        return pd.DataFrame({"lower": self.params - half, "upper": self.params + half})

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """Tidy coefficient table (the columns of every result's ``to_frame``)."""
        return tidy_coefficients(self, level)

    @property
    def fitted_values(self) -> pd.Series:
        """``X b`` per study (metafor's ``fitted``)."""
        values = self.studies.X @ self.params.to_numpy()
        return pd.Series(values, index=self.studies.labels, name="fitted_values")

    @property
    def resids(self) -> pd.Series:
        """``yi − X b`` per study (metafor's ``resid``)."""
        return (self.yi - self.fitted_values).rename("resids")

    @property
    def yi(self) -> pd.Series:
        """The effect sizes used (after dropping missing values)."""
        return pd.Series(self.studies.y, index=self.studies.labels, name="yi")

    @property
    def vi(self) -> pd.Series:
        """The sampling variances used."""
        return pd.Series(self.studies.v, index=self.studies.labels, name="vi")

    def leave_one_out(self, progress: bool | None = None) -> pd.DataFrame:
        """Refit the model without each study in turn (metafor's ``leave1out``).

        Returns
        -------
        DataFrame
            One row per omitted study (indexed by label) with ``estimate, se, statistic,
            pvalue, lower, upper, q, q_pvalue, tau2, i2, h2`` (metafor's
            ``estimate, se, zval/tval, pval, ci.lb, ci.ub, Q, Qp, tau2, I2, H2``; no ``tau2``
            for FE). Rows are NaN where the reduced model cannot be fitted.

        Examples
        --------
        >>> from panelre.datasets import load
        >>> from panelre.meta import effect_size, meta_analysis
        >>> es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load("bcg"))
        >>> loo = meta_analysis(es.yi, es.vi, method="DL").leave_one_out()
        >>> loo.shape
        (13, 11)
        """
        from panelre.meta.combine import leave_one_out

        return leave_one_out(self, progress=progress)

    # -- rendering -----------------------------------------------------------------------------
    def _coefficient_table(self) -> pd.DataFrame:
        stat = "z" if self.df is None else "t"
        lo, hi = self.ci
        table = pd.DataFrame(
            {
                "Estimate": self.estimate,
                "Std. Err.": self.se,
                stat: self.statistic,
                f"P>|{stat}|": self.pvalue,
                "Lower CI": lo,
                "Upper CI": hi,
            },
            index=list(self.studies.names) if not self.studies.int_only else ["estimate"],
        )
        return table

    def _header(self) -> list[tuple[str, str]]:
        f = format_number
        pct = f"{self.level:.0%}"
        header = [("Studies (k)", str(self.k)), ("tau^2 estimator", self.method)]
        if self.method != "FE":
            header += [
                ("tau^2", f(self.tau2)),
                ("SE(tau^2)", f(self.tau2_se)),
                ("tau", f(self.tau)),
            ]
            if self.tau2_ci is not None:
                header += [
                    (f"tau^2 {pct} CI lower", f(self.tau2_ci[0])),
                    (f"tau^2 {pct} CI upper", f(self.tau2_ci[1])),
                ]
        suffix = " (residual)" if not self.studies.int_only else ""
        header += [
            (f"I^2 (%){suffix}", f(self.i2, 2)),
            (f"H^2{suffix}", f(self.h2)),
            (f"Q{'E' if suffix else ''}(df = {self.q_df})", f(self.q)),
            (f"P(>Q{'E' if suffix else ''})", f(self.q_pvalue)),
        ]
        if self.qm is not None and self.qm_df is not None:
            name = "QM" if self.df is None else "F"
            header += [
                (f"{name}(df = {', '.join(map(str, self.qm_df))})", f(self.qm)),
                (f"P(>{name})", f(self.qm_pvalue)),
            ]
        if self.r2 is not None:
            header.append(("R^2 (%)", f(self.r2, 2)))
        if self.pi is not None:
            header += [
                (f"Prediction {pct} lower", f(self.pi[0])),
                (f"Prediction {pct} upper", f(self.pi[1])),
            ]
        return header

    @property
    def summary(self) -> Summary:
        """A metafor-like summary (text, HTML, LaTeX, Markdown via ``Summary``).

        Examples
        --------
        >>> from panelre.datasets import load
        >>> from panelre.meta import effect_size, meta_analysis
        >>> es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load("bcg"))
        >>> text = str(meta_analysis(es.yi, es.vi).summary)
        >>> "Random-Effects Model (k = 13; tau^2 estimator: REML)" in text
        True
        """
        kind = "Fixed-Effect" if self.method == "FE" else "Random-Effects"
        if not self.studies.int_only:
            kind = "Mixed-Effects" if self.method != "FE" else kind
        title = f"{kind} Model (k = {self.k}; tau^2 estimator: {self.method})"
        notes = [f"tau^2 estimator: {_METHOD_NAMES[self.method]}."]
        if self.df is not None:
            notes.append(f"Hartung-Knapp-Sidik-Jonkman adjustment: t tests with {self.df} df.")
        if self.tau2_at_boundary:
            notes.append("tau^2 was truncated at 0 (boundary).")
        return Summary(title, self._header(), [self._coefficient_table()], notes)

    def __repr__(self) -> str:
        est = self.estimate if self.studies.int_only else dict(self.estimate.round(4))
        return (
            f"MetaAnalysisResults(method={self.method!r}, test={self.test!r}, k={self.k}, "
            f"estimate={est if not isinstance(est, float) else round(est, 4)}, "
            f"tau2={self.tau2:.4g}, i2={self.i2:.2f})"
        )

    # -- plots ---------------------------------------------------------------------------------
    def forest_plot(self, **kwargs: Any) -> Figure:
        """Forest plot; see ``panelre.meta.plots.forest_plot``."""
        from panelre.meta.plots import forest_plot

        return forest_plot(self, **kwargs)

    def funnel_plot(self, **kwargs: Any) -> Figure:
        """Funnel plot; see ``panelre.meta.plots.funnel_plot``."""
        from panelre.meta.plots import funnel_plot

        return funnel_plot(self, **kwargs)

    def study_intervals(self) -> pd.DataFrame:
        """Per-study estimate with its normal-theory confidence interval at ``level``."""
        crit = stats.norm.ppf(0.5 + self.level / 2)
        se = np.sqrt(self.studies.v)
        y = self.studies.y
        return pd.DataFrame(
            {
                "yi": y,
                "lower": y - crit * se,
                "upper": y + crit * se,
                "weight": self.weights.to_numpy(),
            },
            index=self.studies.labels,
        )
