"""Panel instrumental variables: the two-stage least squares form of each estimator.

A formula ``"y ~ x1 + [x2 ~ z1 + z2]"`` binds the columns ``y, x1, x2, z1, z2``; the
estimator's own transform of the rows (identity for pooled OLS, the entity means for
between, first differences, the within map for fixed effects) is applied to all of them,
and 2SLS runs on the transformed columns from their cross-products:

    Π = (W*'W*)⁻¹ W*'X*,   X̂* = W*Π,   β = (X̂*'X*)⁻¹ X̂*'y*,

with W* the transformed exogenous regressors and excluded instruments. The covariance
module sees the regression of y* on X̂* with residuals e* = y* − X*β (so every
covariance, clustered or Driscoll–Kraay, is the 2SLS sandwich), as Stata's ``xtivreg``
and R plm's ``plm(y ~ x | z)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from scipy import stats as sps

from panelre._columns import ColumnSelection, select_columns
from panelre._linalg import cholesky_scaled, independent_columns, inv_psd
from panelre.covariance import BellMcCaffrey, Clustered, CovarianceEstimator, CovarianceInputs
from panelre.estimators._base import index_r2
from panelre.exceptions import IdentificationError
from panelre.formula import InstrumentSpec
from panelre.results import Estimation, TestResult, overidentification_test
from panelre.stats import (
    PanelSource,
    PanelStats,
    RowMap,
    ScoreReducer,
    column_sums,
    corr2,
    cross,
)

__all__ = [
    "FirstStage",
    "IVColumns",
    "TwoStageFit",
    "WeakIdentification",
    "iv_columns",
    "two_stage_estimation",
]


@dataclass(frozen=True)
class IVColumns:
    """Positions in z of the parts of an IV model (z = [y, regressors..., instruments...]).

    Attributes
    ----------
    exogenous, endogenous, instruments : list of int
    names : dict of position -> column name
    """

    exogenous: list[int]
    endogenous: list[int]
    instruments: list[int]
    names: dict[int, str]

    @property
    def regressors(self) -> list[int]:
        """Exogenous and endogenous regressors, in formula order."""
        return sorted(self.exogenous + self.endogenous)

    @property
    def instrument_set(self) -> list[int]:
        """Exogenous regressors and excluded instruments."""
        return self.exogenous + self.instruments


def _columns_of(terms: Sequence[str], names: Sequence[str]) -> list[str]:
    """The model-matrix columns a formula term produced (``C(g)`` gives ``C(g)[T.b]``...)."""
    out = []
    for term in terms:
        hits = [n for n in names if n == term or n.startswith(term + "[")]
        if not hits:
            raise IdentificationError(
                f"The instrumental-variables term {term!r} produced no column of the design "
                f"(columns: {', '.join(names)})."
            )
        out += [h for h in hits if h not in out]
    return out


def iv_columns(source: PanelSource, spec: InstrumentSpec) -> IVColumns:
    """Classify the source's columns into exogenous, endogenous and instruments."""
    names = list(source.x_names)
    endogenous = _columns_of(spec.endogenous, names)
    instruments = _columns_of(spec.instruments, names)
    overlap = sorted(set(endogenous) & set(instruments))
    if overlap:
        raise IdentificationError(
            f"{overlap} appear both as endogenous regressors and as their instruments."
        )
    exogenous = [n for n in names if n not in endogenous and n not in instruments]
    position = {n: 1 + i for i, n in enumerate(names)}
    return IVColumns(
        exogenous=[position[n] for n in exogenous],
        endogenous=[position[n] for n in endogenous],
        instruments=[position[n] for n in instruments],
        names={position[n]: n for n in names},
    )


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a⁻¹ b`` for symmetric positive definite ``a`` (scaled Cholesky)."""
    from scipy import linalg

    factor, d, _ = cholesky_scaled(a)
    scale = d[:, None] if b.ndim == 2 else d
    return linalg.cho_solve(factor, b / scale, check_finite=False) / scale


@dataclass(frozen=True)
class FirstStage:
    """The first stage of one endogenous regressor.

    Attributes
    ----------
    endogenous : str
    partial_rsquared : float
        R² of the excluded instruments after partialling out the exogenous regressors.
    f_stat, f_pvalue : float
        Their F test (the Wald statistic over ``df_num`` with a robust or clustered
        covariance), with ``df_num`` and ``df_denom`` degrees of freedom.
    sw_f_stat, sw_f_pvalue : float
        Sanderson and Windmeijer's (2016) conditional F: the same test for the part of
        the regressor the other endogenous regressors' instruments do not explain, with
        ``sw_df_num`` = instruments − endogenous regressors + 1 numerator degrees of
        freedom (equal to ``f_stat`` with one endogenous regressor).
    """

    endogenous: str
    partial_rsquared: float
    f_stat: float
    f_pvalue: float
    df_num: int
    df_denom: int
    sw_f_stat: float
    sw_f_pvalue: float
    sw_df_num: int


@dataclass(frozen=True)
class WeakIdentification:
    """Weak-identification statistics of the excluded instruments for all endogenous
    regressors together (``ivreg2``'s "weak identification test"; compare with the
    Stock–Yogo critical values).

    Attributes
    ----------
    cragg_donald_f : float
        The Cragg–Donald Wald F: the smallest eigenvalue of the concentration matrix
        ``Σ^{-1/2}'Π'Z̃'Z̃Π Σ^{-1/2}`` over the number of excluded instruments.
    kleibergen_paap_f : float
        The Kleibergen–Paap rk Wald F under the fit's robust or clustered covariance
        (with Stata's small-sample factors); the Cragg–Donald F with the unadjusted one.
    df_num, df_denom : int
        The excluded instruments, and n − L (G − 1 with clusters).
    """

    cragg_donald_f: float
    kleibergen_paap_f: float
    df_num: int
    df_denom: int


@dataclass(frozen=True)
class TwoStageFit:
    """What a panel 2SLS fit keeps for its diagnostics.

    Attributes
    ----------
    rows : PanelSource
        The rows of the transformed regression.
    transform : RowMap
        The estimator's transform of the rows' z.
    columns : IVColumns
        Kept regressors and instruments (positions in z).
    params : ndarray
    absorbed_df : int
        Degrees of freedom the transform absorbs (fixed effects), for the F tests.
    instrument_map : RowMap
        The instruments of the second stage (the transformed exogenous regressors and
        excluded instruments, or EC2SLS's within and between instruments).
    instrument_names : list of str
        A name per column of ``instrument_map``.
    """

    rows: PanelSource
    transform: RowMap
    columns: IVColumns
    params: np.ndarray
    absorbed_df: int
    instrument_map: RowMap
    instrument_names: list[str]

    def first_stage_coefficients(self) -> np.ndarray:
        """``Π = (W'W)⁻¹W'X`` of the endogenous regressors on the instruments (after the
        estimator's transform): one column per endogenous regressor."""
        st = self.rows.stats
        W = self.instrument_map
        return _solve(cross(st, W, W), cross(st, W, self._part(self.columns.endogenous)))

    def _part(self, positions: Sequence[int]) -> RowMap:
        return self.transform.columns(list(positions))

    def first_stage(self, covariance: CovarianceEstimator | None = None) -> list[FirstStage]:
        """Per endogenous regressor: the partial R² of the excluded instruments in its
        first-stage regression, their F statistic and the Sanderson–Windmeijer conditional
        F, from the cross-products. With the unadjusted covariance the classical F; with a
        robust or clustered ``covariance`` the Wald statistic of the excluded instruments
        over its degrees of freedom, with Stata's small-sample factors and F(q, G − 1) for
        clusters, as ``ivreg2`` prints them (for one endogenous regressor the
        Kleibergen–Paap rk Wald F)."""
        st = self.rows.stats
        c = self.columns
        out = []
        q = self.instrument_map.width - len(c.exogenous)
        sw_q = q - len(c.endogenous) + 1
        df = st.n - self.instrument_map.width - self.absorbed_df
        robust = None if covariance is None or covariance.name == "unadjusted" else covariance
        for j in c.endogenous:
            x = self._part([j])
            ssr_r, ssr_u = self._partial_ssr(x)
            f, df_f = self._excluded_f(x, q, q, df, robust)
            sw_f, df_sw = self._excluded_f(self._conditional(j), q, sw_q, df, robust)
            out.append(
                FirstStage(
                    endogenous=c.names[j],
                    partial_rsquared=1 - ssr_u / ssr_r,
                    f_stat=f,
                    f_pvalue=float(sps.f.sf(f, q, df_f)),
                    df_num=q,
                    df_denom=df_f,
                    sw_f_stat=sw_f,
                    sw_f_pvalue=float(sps.f.sf(sw_f, sw_q, df_sw)),
                    sw_df_num=sw_q,
                )
            )
        return out

    def _partial_ssr(self, x: RowMap) -> tuple[float, float]:
        """Residual sums of squares of ``x`` on the exogenous regressors and on all the
        instruments."""
        st = self.rows.stats
        exog = self._part(self.columns.exogenous)
        restricted = _ssr(st, x, exog) if self.columns.exogenous else float(cross(st, x, x)[0, 0])
        return restricted, _ssr(st, x, self.instrument_map)

    def _conditional(self, j: int) -> RowMap:
        """The residual of the 2SLS regression of endogenous regressor ``j`` on the other
        regressors with all the instruments (Sanderson–Windmeijer's conditional first
        stage; the regressor itself when it is the only one)."""
        st = self.rows.stats
        W = self.instrument_map
        others = self._part([p for p in self.columns.regressors if p != j])
        x = self._part([j])
        if others.width == 0:
            return x
        wo, wx = cross(st, W, others), cross(st, W, x)[:, 0]
        Pi = _solve(cross(st, W, W), wo)
        delta = np.linalg.solve(Pi.T @ wo, Pi.T @ wx)
        return RowMap.hstack([x, others]).times(np.concatenate([[1.0], -delta]))

    def _excluded_f(
        self,
        x: RowMap,
        q: int,
        df_num: int,
        df: int,
        covariance: CovarianceEstimator | None,
    ) -> tuple[float, int]:
        """F statistic of the ``q`` excluded instruments in the regression of ``x`` on the
        instruments, on ``df_num`` numerator degrees of freedom, and its denominator
        degrees of freedom: classical (``df``), or the Wald statistic under a robust or
        clustered ``covariance`` over ``df_num``."""
        ssr_r, ssr_u = self._partial_ssr(x)
        if ssr_u <= 1e-12 * ssr_r:  # the instruments reproduce the regressor
            return float("inf"), df
        if covariance is None:
            return ((ssr_r - ssr_u) / df_num) / (ssr_u / df), df
        wald, inference_df = self._wald(x, q, df, covariance)
        return wald / df_num, df if inference_df is None else inference_df

    def _wald(
        self, x: RowMap, q: int, df: int, covariance: CovarianceEstimator
    ) -> tuple[float, int | None]:
        """Wald statistic of the ``q`` excluded instruments in the regression of ``x`` on
        the instruments under ``covariance`` with Stata's small-sample factors (``ivreg2``
        applies them to its first-stage statistics), and the covariance's inference
        degrees of freedom (G − 1 for clusters). NaN when the instruments are not
        ``exogenous + excluded`` in that order, as in EC2SLS."""
        st = self.rows.stats
        W = self.instrument_map
        if W.width != len(self.columns.instrument_set):
            return float("nan"), None
        covariance = _with_stata_factors(covariance)
        ww = cross(st, W, W)
        pi = _solve(ww, cross(st, W, x)[:, 0])
        resid = RowMap.hstack([x, W.times(pi)]).times(np.array([1.0, -1.0]))
        inputs = CovarianceInputs(
            scores=self.rows.scores(W, resid), bread=inv_psd(ww), df_resid=df, n_params=W.width,
        )  # fmt: skip
        result = covariance.compute(inputs)
        tail = slice(W.width - q, W.width)
        b = pi[tail]
        return float(b @ np.linalg.solve(result.matrix[tail, tail], b)), result.inference_df

    def weak_identification(
        self, covariance: CovarianceEstimator | None = None
    ) -> WeakIdentification:
        """The Cragg–Donald Wald F and, with a robust or clustered ``covariance``, the
        Kleibergen–Paap (2006) rk Wald F of the excluded instruments (``ivreg2``'s weak
        identification statistics; with one endogenous regressor the first-stage F)."""
        st = self.rows.stats
        c = self.columns
        W = self.instrument_map
        k = len(c.endogenous)
        n_excluded = W.width - len(c.exogenous)
        df = st.n - W.width - self.absorbed_df
        nan = WeakIdentification(float("nan"), float("nan"), n_excluded, df)
        if W.width != len(c.instrument_set) or n_excluded < k:
            return nan  # EC2SLS: the excluded part is not a block of the instruments
        endog = self._part(c.endogenous)
        ww = cross(st, W, W)
        wx = cross(st, W, endog)
        coef = _solve(ww, wx)  # (W'W)⁻¹W'X, the excluded block is Π
        excluded = slice(W.width - n_excluded, W.width)
        pi = coef[excluded]
        # the partialled cross-products: Z̃'Z̃ (a Schur complement), X̃'M_W X̃
        zz = inv_psd(inv_psd(ww)[excluded, excluded])
        xx = cross(st, endog, endog)
        resid_cross = xx - wx.T @ coef
        sigma = resid_cross / df
        f_root = np.linalg.cholesky(zz).T  # F'F = Z̃'Z̃
        g_root = np.linalg.cholesky(resid_cross).T
        theta = f_root @ pi @ np.linalg.inv(g_root)
        # Cragg–Donald: the smallest eigenvalue of Σ^{-1/2}'Π'Z̃'Z̃Π Σ^{-1/2} over L₁
        s_root = np.linalg.inv(np.linalg.cholesky(sigma))
        cragg_donald = float(np.linalg.eigvalsh(s_root @ pi.T @ zz @ pi @ s_root.T)[0])
        cragg_donald /= n_excluded
        if covariance is None or covariance.name == "unadjusted":
            return WeakIdentification(cragg_donald, cragg_donald, n_excluded, df)
        covariance = _with_stata_factors(covariance)

        def reducer(weights: np.ndarray) -> ScoreReducer:
            resid = RowMap.hstack([endog, W.times(coef)]).times(np.concatenate([weights, -weights]))
            return self.rows.scores(W, resid)

        bread = np.kron(np.eye(k), inv_psd(ww))
        inputs = CovarianceInputs(
            scores=_StackedScores(reducer, k), bread=bread, df_resid=df, n_params=W.width,
        )  # fmt: skip
        result = covariance.compute(inputs)
        rows = np.concatenate([np.arange(W.width)[excluded] + j * W.width for j in range(k)])
        v_pi = result.matrix[np.ix_(rows, rows)]
        to_theta = np.kron(np.linalg.inv(g_root).T, f_root)
        v_theta = to_theta @ v_pi @ to_theta.T
        stat = _rank_statistic(theta, v_theta)
        df_denom = df if result.inference_df is None else result.inference_df
        return WeakIdentification(cragg_donald, stat / n_excluded, n_excluded, df_denom)

    def sargan(self) -> TestResult:
        """Sargan's over-identification test: n·R² of the 2SLS residuals on the
        instruments (uncentred, as Stata's ``ivreg2``/``xtivreg2`` and AER's ``ivreg``)."""
        st = self.rows.stats
        c = self.columns
        resid = self.transform.columns([0, *c.regressors]).times(
            np.concatenate([[1.0], -self.params])
        )
        df = self.instrument_map.width - len(c.regressors)
        total = float(cross(st, resid, resid)[0, 0])
        explained = total - _ssr(st, resid, self.instrument_map)
        stat = st.n * explained / total
        return overidentification_test(
            "Sargan test of overidentifying restrictions",
            stat,
            df,
            "the excluded instruments are uncorrelated with the error",
            "some instruments are correlated with the error",
        )

    def _residual(self) -> RowMap:
        c = self.columns
        return self.transform.columns([0, *c.regressors]).times(
            np.concatenate([[1.0], -self.params])
        )

    def _moment_covariance(
        self, W: RowMap, resid: RowMap, meat: Callable[[CovarianceInputs], np.ndarray]
    ) -> np.ndarray:
        """``meat`` (the fit's covariance estimator) of the moment scores ``w e``."""
        st = self.rows.stats
        k = len(self.columns.regressors)
        inputs = CovarianceInputs(
            scores=self.rows.scores(W, resid), bread=np.eye(W.width), df_resid=st.n - k,
            n_params=k,
        )  # fmt: skip
        S = meat(inputs)
        return (S + S.T) / 2

    def _criterion(self, W: RowMap, S: np.ndarray) -> float:
        """The minimised GMM criterion ``g'S⁻¹g`` with moments ``W``, weight ``S⁻¹``."""
        st = self.rows.stats
        X = self.transform.columns(self.columns.regressors)
        y = self.transform.columns([0])
        wx, wy = cross(st, W, X), cross(st, W, y)[:, 0]
        S_inv = np.linalg.pinv(S)
        beta = np.linalg.solve(wx.T @ S_inv @ wx, wx.T @ S_inv @ wy)
        g = wy - wx @ beta
        return float(g @ S_inv @ g)

    def hansen(self, meat: Callable[[CovarianceInputs], np.ndarray]) -> TestResult:
        """Hansen's J: the minimised criterion of two-step efficient GMM whose weight is the
        inverse of ``meat`` (the fit's covariance estimator) of the instrument scores
        ``w e`` at the 2SLS residuals (as linearmodels' ``IVGMM.j_stat``, ivreg2's J)."""
        W = self.instrument_map
        S = self._moment_covariance(W, self._residual(), meat)
        return overidentification_test(
            "Hansen J test of overidentifying restrictions",
            self._criterion(W, S),
            W.width - len(self.columns.regressors),
            "the excluded instruments are uncorrelated with the error",
            "some instruments are correlated with the error",
        )

    def c_statistic(self, meat: Callable[[CovarianceInputs], np.ndarray]) -> TestResult:
        """The C (difference-in-Hansen) test of the exogeneity of the endogenous
        regressors: J of the model that treats them as exogenous (they instrument
        themselves) minus J of the model's own moments with the matching block of the
        same moment covariance (as linearmodels' ``c_stat`` and ivreg2's ``endog()``)."""
        st = self.rows.stats
        c = self.columns
        W = self.instrument_map
        endog = self._part(c.endogenous)
        W_e = RowMap.hstack([W, endog])
        X = self.transform.columns(c.regressors)
        y = self.transform.columns([0])
        # the efficient model's first step: 2SLS with the larger instrument set
        wx, wy = cross(st, W_e, X), cross(st, W_e, y)[:, 0]
        ww = cross(st, W_e, W_e)
        first = np.linalg.solve(wx.T @ np.linalg.solve(ww, wx), wx.T @ np.linalg.solve(ww, wy))
        resid = RowMap.hstack([y, X]).times(np.concatenate([[1.0], -first]))
        S_e = self._moment_covariance(W_e, resid, meat)
        original = slice(0, W.width)
        stat = self._criterion(W_e, S_e) - self._criterion(W, S_e[original, original])
        df = endog.width
        return TestResult(
            name="C (difference-in-Hansen) test of exogeneity",
            stat=stat,
            df=df,
            pvalue=float(sps.chi2.sf(stat, df)),
            null="the instrumented regressors are exogenous",
            alternative="they are endogenous",
        )

    def wu_hausman(self) -> TestResult:
        """Wu–Hausman F test that the endogenous regressors are exogenous: the F test of
        their first-stage residuals added to the (transformed) structural equation."""
        st = self.rows.stats
        c = self.columns
        W = self.instrument_map
        X = self.transform.columns(c.regressors)
        y = self.transform.columns([0])
        endog = self._part(c.endogenous)
        Pi = _solve(cross(st, W, W), cross(st, W, endog))
        first_resid = RowMap.hstack([endog, W.times(Pi)]).times(
            np.vstack([np.eye(endog.width), -np.eye(endog.width)])
        )
        restricted = _ssr(st, y, X)
        unrestricted = _ssr(st, y, RowMap.hstack([X, first_resid]))
        q = endog.width
        df = st.n - len(c.regressors) - q - self.absorbed_df
        stat = ((restricted - unrestricted) / q) / (unrestricted / df)
        return TestResult(
            name="Wu-Hausman test of exogeneity",
            stat=float(stat),
            df=(q, df),
            pvalue=float(sps.f.sf(stat, q, df)),
            null="the instrumented regressors are exogenous (OLS is consistent)",
            alternative="they are endogenous (only IV is consistent)",
            distribution="F",
        )


class _StackedScores:
    """The scores of K regressions on the same regressors, side by side (``x e₁, ...,
    x e_K``), for the covariance of their stacked coefficients: cluster sums are the
    equations' sums side by side; the heteroskedasticity-robust cross blocks
    ``Σ (x eₖ)(x eₗ)'`` are symmetric, so polarization gives them from single-residual
    reductions."""

    def __init__(self, reducers: Callable[[np.ndarray], ScoreReducer], k: int) -> None:
        self._reducer = reducers
        self.k = k
        self._single = [reducers(np.eye(k)[j]) for j in range(k)]

    @property
    def nobs(self) -> int:
        return int(self._single[0].nobs)

    def resid_ss(self) -> float:
        raise NotImplementedError("stacked scores have no single residual")

    def gradient(self) -> np.ndarray:
        raise NotImplementedError("stacked scores have no single residual")

    def score_outer(self) -> np.ndarray:
        blocks = [[np.empty(0)] * self.k for _ in range(self.k)]
        for a in range(self.k):
            blocks[a][a] = self._single[a].score_outer()
            for b in range(a):
                plus = self._reducer(np.eye(self.k)[a] + np.eye(self.k)[b]).score_outer()
                minus = self._reducer(np.eye(self.k)[a] - np.eye(self.k)[b]).score_outer()
                blocks[a][b] = blocks[b][a] = (plus - minus) / 4
        return np.block(blocks)

    def score_sums(self, cluster: Any) -> np.ndarray:
        return np.hstack([reducer.score_sums(cluster) for reducer in self._single])


def _with_stata_factors(covariance: CovarianceEstimator) -> CovarianceEstimator:
    """The covariance of the first-stage diagnostics: the fit's, with Stata's small-sample
    factors (``ivreg2`` applies them to its first-stage statistics); CR2 fits use the
    clustered covariance of the same clusters (ivreg2 has no CR2)."""
    if isinstance(covariance, BellMcCaffrey):
        return Clustered(cluster=covariance.cluster, small_sample=True)
    options = covariance.options()
    if "small_sample" in options:
        return type(covariance)(**{**options, "small_sample": True})
    return covariance


def _rank_statistic(theta: np.ndarray, v_theta: np.ndarray) -> float:
    """Kleibergen and Paap's (2006) rk Wald statistic that the (L × K) matrix ``theta``
    has rank K − 1, given the covariance ``v_theta`` of its column-stacked entries: the
    part of ``theta`` along its smallest singular direction, ``λ = (B ⊗ A') vec(θ)``,
    with ``A`` and ``B`` spanning the last left and right singular vectors in KP's
    normalisation, and ``λ'(B ⊗ A' V B' ⊗ A)⁻¹λ``."""
    L, K = theta.shape
    u, _, vt = np.linalg.svd(theta)
    v = vt.T
    u_22 = u[K - 1 :, K - 1 :]
    a = u[:, K - 1 :] @ np.linalg.solve(u_22, _sqrtm_psd(u_22 @ u_22.T))
    v_22 = v[K - 1, K - 1]
    b = np.abs(v_22) * v[:, K - 1] / v_22
    kron = np.kron(b[None, :], a.T)
    lam = kron @ theta.T.ravel()
    return float(lam @ np.linalg.solve(kron @ v_theta @ kron.T, lam))


def _sqrtm_psd(m: np.ndarray) -> np.ndarray:
    """Symmetric square root of a positive semi-definite matrix."""
    values, vectors = np.linalg.eigh((m + m.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def _ssr(st: PanelStats, y: RowMap, X: RowMap) -> float:
    """Residual sum of squares of ``y`` on ``X`` from cross-products."""
    keep = independent_columns(cross(st, X, X))
    Xk = X.columns(np.flatnonzero(keep))
    xx = cross(st, Xk, Xk)
    xy = cross(st, Xk, y)[:, 0]
    b = _solve(xx, xy)
    return max(float(cross(st, y, y)[0, 0] - xy @ b), 0.0)


def two_stage_estimation(
    rows: PanelSource,
    levels: PanelSource,
    transform: RowMap,
    columns: IVColumns,
    *,
    absorbed_df: int = 0,
    absorbed_by: str | None = None,
    raw_ss: np.ndarray | None = None,
    instrument_map: RowMap | None = None,
    instrument_names: Sequence[str] | None = None,
    drop_absorbed: bool = False,
) -> tuple[Estimation, TwoStageFit]:
    """2SLS of transformed y on transformed regressors with transformed instruments, or
    with the instruments ``instrument_map`` (EC2SLS; dependent columns dropped; named by
    ``instrument_names``).
    ``drop_absorbed`` drops instruments the transform absorbs instead of refusing them
    (the within step of random-effects IV, as plm)."""
    st = rows.stats
    c = columns
    # regressors and instruments the transform absorbs or that are collinear are dropped,
    # as in least squares
    xx_all = cross(st, transform.columns(c.regressors), transform.columns(c.regressors))
    raw = None if raw_ss is None else raw_ss[[p - 1 for p in c.regressors]]
    chosen = select_columns(
        xx_all, [c.names[p] for p in c.regressors], raw_ss=raw, absorbed_by=absorbed_by
    )
    kept = [p for p, k in zip(c.regressors, chosen.keep, strict=True) if k]
    exogenous = [p for p in c.exogenous if p in kept]
    endogenous = [p for p in c.endogenous if p in kept]
    dropped_endogenous = [c.names[p] for p in c.endogenous if p not in kept]
    if dropped_endogenous:
        raise IdentificationError(
            f"The endogenous regressor(s) {dropped_endogenous} have no variation left after "
            f"the transform ({absorbed_by or 'collinear'}); drop them from the brackets."
        )
    instruments = c.instruments
    if len(instruments) < len(endogenous):
        names = [c.names[p] for p in endogenous]
        raise IdentificationError(
            f"Under-identified: {len(endogenous)} endogenous regressor(s) {names} but only "
            f"{len(instruments)} excluded instrument(s) {[c.names[p] for p in instruments]}. "
            "Give at least one instrument per endogenous regressor."
        )
    if instrument_map is not None:
        independent = np.flatnonzero(independent_columns(cross(st, instrument_map, instrument_map)))
        W_all = instrument_map.columns(independent)
        given = instrument_names or [f"instrument {i + 1}" for i in range(instrument_map.width)]
        names = [list(given)[i] for i in independent]
        return _finish(rows, levels, transform, c, exogenous, endogenous, chosen, W_all,
                       absorbed_df, names)  # fmt: skip
    W_all = transform.columns(exogenous + instruments)
    ww = cross(st, W_all, W_all)
    raw_w = None if raw_ss is None else raw_ss[[p - 1 for p in exogenous + instruments]]
    ss = np.diag(ww)
    absorbed_instruments = [
        c.names[p]
        for p, s, r in zip(exogenous + instruments, ss, raw_w if raw_w is not None else ss)
        if p in instruments and s <= 1e-10 * max(r, np.finfo(float).tiny)
    ]
    if absorbed_instruments and drop_absorbed:  # as plm inside its RE components
        instruments = [p for p in instruments if c.names[p] not in absorbed_instruments]
        if len(instruments) < len(endogenous):
            raise IdentificationError(
                f"Under-identified after the transform ({absorbed_by}): the instrument(s) "
                f"{absorbed_instruments} have no variation left."
            )
        W_all = transform.columns(exogenous + instruments)
        ww = cross(st, W_all, W_all)
    elif absorbed_instruments:
        raise IdentificationError(
            f"The instrument(s) {absorbed_instruments} have no variation left after the "
            f"transform ({absorbed_by}): an instrument that is constant within the absorbed "
            "groups cannot identify anything here."
        )
    independent = independent_columns(ww)
    collinear = [c.names[p] for p, k in zip(exogenous + instruments, independent) if not k]
    if collinear:
        raise IdentificationError(
            f"The instrument(s) {collinear} are linear combinations of the exogenous "
            "regressors and the other instruments; they add no information."
        )
    names = [c.names[p] for p in exogenous + instruments]
    return _finish(rows, levels, transform, c, exogenous, endogenous, chosen, W_all,
                   absorbed_df, names)  # fmt: skip


def _finish(
    rows: PanelSource,
    levels: PanelSource,
    transform: RowMap,
    c: IVColumns,
    exogenous: list[int],
    endogenous: list[int],
    chosen: ColumnSelection,
    W_all: RowMap,
    absorbed_df: int,
    instrument_names: list[str],
) -> tuple[Estimation, TwoStageFit]:
    st = rows.stats
    instruments = c.instruments
    ww = cross(st, W_all, W_all)
    kept_columns = IVColumns(exogenous, endogenous, instruments, c.names)
    regressors = kept_columns.regressors
    X = transform.columns(regressors)
    y = transform.columns([0])
    wx = cross(st, W_all, X)
    Pi = _solve(ww, wx)
    X_hat = W_all.times(Pi)
    xx = Pi.T @ wx
    xx = (xx + xx.T) / 2
    beta = _solve(xx, (Pi.T @ cross(st, W_all, y))[:, 0])
    resid = RowMap.hstack([y, X]).times(np.concatenate([[1.0], -beta]))
    ssr = float(cross(st, resid, resid)[0, 0])
    k = len(beta)
    names = [c.names[p] for p in regressors]
    fitted = RowMap.hstack([y, resid]).times(np.array([1.0, -1.0]))
    pair = RowMap.hstack([y, X.times(beta)])
    estimation = Estimation(
        params=beta,
        names=names,
        bread=inv_psd(xx),
        df_resid=st.n - k - absorbed_df,
        df_model=k - int("Intercept" in names),
        scores=rows.scores(X_hat, resid),
        regressors=X_hat,
        regression_resid=resid,
        rows=rows,
        fitted=fitted,
        resid=resid,
        rsquared=corr2(
            cross(st, pair, pair), column_sums(st, pair), st.n, np.eye(2)[0], np.eye(2)[1]
        ),
        index_r2=partial(index_r2, levels, names, beta),
        dropped=chosen.dropped,
        absorbed=chosen.absorbed,
        n_instruments=W_all.width,
        ssr=ssr,
    )
    fit = TwoStageFit(rows, transform, kept_columns, beta, absorbed_df, W_all, instrument_names)
    return estimation, fit
