"""Random effects by GLS quasi-demeaning: one-way (entity or time) and two-way."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from panelre._linalg import inv_psd
from panelre._random_intercept import observed_information
from panelre._typing import CONVENTIONS, EFFECT_ALIASES, EFFECTS, RE_METHOD_ALIASES, RE_METHODS
from panelre._validation import check_option
from panelre._warnings import warn
from panelre.estimators._base import PanelModel, index_r2
from panelre.estimators._ols import least_squares
from panelre.estimators.pooled import PooledOLS
from panelre.estimators.variance_components import (
    Components,
    InstrumentedSteps,
    estimate_components,
    likelihood_components,
    nonnegative_effect_variance,
)
from panelre.exceptions import BoundaryWarning, InvalidParameterError
from panelre.results import Estimation, PanelResults, TestResult, VarianceComponents
from panelre.stats import PanelStats, RowMap, require_time

__all__ = ["RandomEffects", "RandomEffectsResults", "theta_for", "gls_map"]


def theta_for(sigma2_e: float, sigma2_g: float, counts: np.ndarray) -> np.ndarray:
    """``θ_g = 1 − sqrt(σ²ₑ / (c_g σ²_g + σ²ₑ))`` per group."""
    return 1.0 - np.sqrt(sigma2_e / (counts * sigma2_g + sigma2_e))


class RandomEffectsResults(PanelResults):
    """Results of ``RandomEffects``; by ML, also the likelihood-ratio test of σ²ᵤ = 0."""

    @property
    def lr_test(self) -> TestResult:
        """Likelihood-ratio test of σ²ᵤ = 0 against pooled OLS (ML only), as Stata's
        ``xtreg, mle`` "LR test of sigma_u=0": ``2 (ℓ_RE − ℓ_pooled)``, referred to the
        50:50 mixture of χ²(0) and χ²(1) (``chibar2(01)``), since σ²ᵤ = 0 is on the
        boundary of the parameter space.

        Raises
        ------
        InvalidParameterError
            For a random-effects model not fitted by ``method="ml"``.
        """
        if self.model.method != "ml":
            raise InvalidParameterError(
                "The likelihood-ratio test of sigma_u = 0 needs random effects fitted by "
                f"method='ml'. Got method={self.model.method!r}."
            )
        pooled = PooledOLS(self.source).fit()
        n = self.source.stats.n
        ssr = pooled.resid_variance * pooled.df_resid
        loglike_pooled = -0.5 * n * (np.log(2 * np.pi * ssr / n) + 1)
        assert self.loglike is not None
        stat = max(2.0 * (self.loglike - loglike_pooled), 0.0)
        return TestResult(
            name="LR test of sigma_u = 0",
            stat=float(stat),
            df=1,
            pvalue=float(0.5 * stats.chi2.sf(stat, 1)) if stat > 0 else 1.0,
            null="sigma_u = 0 (pooled OLS)",
            alternative="sigma_u > 0 (random effects)",
            distribution="chibar2",
        )


def variance_components(
    st: PanelStats, comps: Components, thetas: dict[str, np.ndarray], effects: str, method: str
) -> VarianceComponents:
    """The public summary of the components, θ and the shrinkage factors."""
    main = "time" if effects == "time" else "entity"
    g = st.groups(main)
    s2u = comps.sigma2[main]
    shrink = pd.Series(s2u / (s2u + comps.sigma2_e / g.counts), index=g.labels, name="shrinkage")

    def pack(values: np.ndarray | None, idx: pd.Index | None) -> float | pd.Series | None:
        if values is None:
            return None
        if np.ptp(values) == 0:
            return float(values[0])
        return pd.Series(values, index=idx, name="theta")

    total = thetas.get("total")
    twoway = effects == "twoway"
    return VarianceComponents(
        sigma2_u=s2u,
        sigma2_e=comps.sigma2_e,
        theta=pack(thetas[main], g.labels),  # type: ignore[arg-type]
        shrinkage=shrink,
        method=method,
        sigma2_t=comps.sigma2.get("time") if twoway else None,
        theta_time=pack(thetas.get("time"), st.groups("time").labels) if twoway else None,
        theta_total=None if total is None else float(total[0]),
    )


def gls_map(
    st: PanelStats, comps: Components, effects: str
) -> tuple[RowMap, dict[str, np.ndarray]]:
    """The GLS transform of z (quasi-demeaning; two-way: balanced θ_id, θ_t, θ_total, or
    the exact unbalanced whitening) and the θ per dimension."""
    s2e = comps.sigma2_e
    thetas = {dim: theta_for(s2e, comps.sigma2[dim], st.groups(dim).counts) for dim in comps.sigma2}
    p = st.width
    if effects != "twoway":
        table = thetas[effects][:, None] * st.groups(effects).means
        if effects == "entity":
            return RowMap(np.eye(p), entity_table=table), thetas
        return RowMap(np.eye(p), time_table=table), thetas
    if st.is_balanced:
        th_i, th_t = float(thetas["entity"][0]), float(thetas["time"][0])
        th_total = _theta_total(s2e, comps, st.n_entities, st.n_periods)
        thetas["total"] = np.array([th_total])
        H = th_t * st.groups("time").means - th_total * (st.total / st.n)
        return RowMap(np.eye(p), time_table=H, entity_table=th_i * st.entity.means), thetas
    return _whiten_twoway(st, thetas["entity"], comps.sigma2["time"] / s2e), thetas


def _theta_total(s2e: float, comps: Components, N: int, T: int) -> float:
    s2u, s2t = comps.sigma2["entity"], comps.sigma2["time"]
    if s2u == 0 or s2t == 0:
        return 0.0
    th_i = 1 - np.sqrt(s2e / (T * s2u + s2e))
    th_t = 1 - np.sqrt(s2e / (N * s2t + s2e))
    return float(th_i + th_t - 1 + (1 + N * s2t / s2e + T * s2u / s2e) ** -0.5)


def _whiten_twoway(st: PanelStats, theta: np.ndarray, phi2: float) -> RowMap:
    """Exact GLS whitening for unbalanced two-way random effects (plm's Wansbeek–Kapteyn
    form).

    After entity quasi-demeaning ``A = I − ΘB`` the remaining covariance is handled by
    ``Q = I − φ² D*(I + φ² D*'D*)⁻¹D*'`` with ``D* = A D`` the quasi-demeaned period dummies.
    Its symmetric square root is ``I − D* L D*'`` with
    ``L = V diag((1 − (1 + φ² g)^(-1/2))/g) V'`` from ``D*'D* = V diag(g) V'``, so
    ``z** = (z − H[t]) − θᵢ (z − H)̄ᵢ`` with ``H = L D*'z*`` from T x T statistics.
    """
    p = st.width
    means = st.entity.means
    if phi2 == 0:
        return RowMap(np.eye(p), entity_table=theta[:, None] * means)
    pattern = st.pattern()
    c_e = st.entity.counts
    w2 = 2 * theta - theta**2
    gram = np.diag(st.groups("time").counts) - pattern.time_gram(w2 / c_e)
    g, V = np.linalg.eigh((gram + gram.T) / 2)
    g = np.clip(g, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(g > 1e-12, (1 - (1 + phi2 * g) ** -0.5) / np.where(g > 0, g, 1), phi2 / 2)
    rhs = st.groups("time").sums - pattern.to_time(w2[:, None] * means)
    H = ((V * lam) @ V.T) @ rhs
    A = st.entity.sums - pattern.to_entity(H)
    return RowMap(np.eye(p), time_table=H, entity_table=theta[:, None] * A / c_e[:, None])


class RandomEffects(PanelModel):
    """Random-effects GLS estimator.

    Parameters
    ----------
    source : PanelSource
        The data (use ``from_formula`` or ``pr.random_effects``).
    **options
        The estimator's options, below.

    Other Parameters
    ----------------
    effects : {"entity", "time", "twoway"}
    method : {"swamy-arora", "wallace-hussain", "amemiya", "nerlove", "ml", "reml"}
        R plm's names ``"swar"`` and ``"walhus"`` are accepted.
    convention : {"plm", "stata"}
        ``"plm"`` (default): R plm's formulas (unbalanced Swamy–Arora in the
        Baltagi–Chang form; by ML, lme4's ``σ²(X'V⁻¹X)⁻¹``). ``"stata"``: Stata's
        ``xtreg, re`` (harmonic-mean T̄) and ``xtreg, mle`` (standard errors from the
        observed information of β, σ²ₑ and σ²ᵤ jointly).

    Notes
    -----
    With ``θᵢ = 1 − sqrt(σ²ₑ/(Tᵢσ²ᵤ + σ²ₑ))`` the model is OLS of ``yᵢₜ − θᵢȳᵢ`` on
    ``xᵢₜ − θᵢx̄ᵢ`` (the intercept becomes ``1 − θᵢ``). Two-way balanced panels subtract
    ``θ_id ȳᵢ + θ_t ȳₜ − θ_total ȳ``; unbalanced two-way panels use the exact GLS
    whitening (plm's Wansbeek–Kapteyn form), computed from T x T group statistics.

    Examples
    --------
    >>> import panelre as pr
    >>> re = pr.random_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                        entity="firm", time="year")
    >>> round(re.variance_components.theta, 4), re.params.round(4).tolist()
    (0.8612, [-57.8344, 0.1098, 0.3081])
    """

    estimator_name = "random_effects"
    supports_instruments = True
    title = "Random effects (GLS)"
    uses_normal = True
    results_class = RandomEffectsResults
    option_names = ("effects", "method", "convention", "iv_method")
    accepts_weights = False
    weights_note = (
        "Stata's xtreg, re takes no weights, and R plm's weighted random effects reweights "
        "the quasi-demeaned data after unweighted transforms (not the GLS of a stated "
        "weighted model; see the weights page of the docs)."
    )

    def _configure(
        self,
        effects: str = "entity",
        method: str = "swamy-arora",
        convention: str = "plm",
        iv_method: str = "g2sls",
        **_: Any,
    ) -> None:
        self.iv_method = check_option(
            "iv_method", iv_method, ("g2sls", "ec2sls"), {"bvk": "g2sls", "baltagi": "ec2sls"}
        )
        self.effects = check_option("effects", effects, EFFECTS, EFFECT_ALIASES)
        self.method = check_option("method", method, RE_METHODS, RE_METHOD_ALIASES)
        self.convention = check_option("convention", convention, CONVENTIONS)
        if self.effects != "entity":
            require_time(self.source.time_name is not None, f"effects={self.effects!r}")
        if self.method in ("ml", "reml") and self.effects != "entity":
            raise InvalidParameterError(
                f"method={self.method!r} is available for effects='entity'. "
                f"Got effects={self.effects!r}."
            )
        if self.convention == "stata" and self.effects != "entity":
            raise InvalidParameterError(
                "convention='stata' reproduces Stata's xtreg, re, which has entity effects only. "
                f"Got effects={self.effects!r}."
            )

    def _components(self) -> Components:
        if self.method in ("ml", "reml"):
            comps = likelihood_components(self.source, self.method)
            if comps.clipped:
                warn(
                    f"The {self.method.upper()} estimate of the entity-effect variance is 0 "
                    "(a boundary solution): the data show no entity effect beyond noise, and "
                    "the estimates equal pooled OLS.",
                    BoundaryWarning,
                )
            return comps
        return estimate_components(self.source, self.effects, self.method, self.convention)

    def _estimate_iv(self) -> Estimation:
        """G2SLS (Balestra–Varadharajan-Krishnakumar; Stata ``xtivreg, re``, plm
        ``inst.method="bvk"``) or EC2SLS (Baltagi; Stata ``xtivreg, ec2sls``, plm
        ``"baltagi"``), with plm's variance components of the IV formula: each moment
        method on the residuals of its 2SLS first steps (within, pooled or Tᵢ-weighted
        between)."""
        from panelre.estimators.iv import iv_columns, two_stage_estimation

        src = self.source
        st = src.stats
        stata = self.convention == "stata"
        if (
            self.effects != "entity"
            or self.method in ("ml", "reml")
            or (stata and self.method != "swamy-arora")
        ):
            raise InvalidParameterError(
                "Random-effects instrumental variables use entity effects with moment "
                "estimators of the variance components: method='swamy-arora', "
                "'wallace-hussain', 'amemiya' or 'nerlove' (plm), or method='swamy-arora' "
                "with convention='stata' (xtivreg). Got "
                f"effects={self.effects!r}, method={self.method!r}, "
                f"convention={self.convention!r}."
            )
        counts = st.entity.counts
        spec = self.instrument_spec
        assert spec is not None
        if stata:
            sigma2_e, sigma2_u = self._xtivreg_components()
        else:
            comps = estimate_components(
                src, self.effects, self.method, self.convention, self._instrumented_steps()
            )
            sigma2_e, sigma2_u = comps.sigma2_e, comps.sigma2["entity"]
        theta = theta_for(sigma2_e, sigma2_u, counts)
        p = st.width
        means = st.entity.means
        gls = RowMap(np.eye(p), entity_table=theta[:, None] * means)
        columns = iv_columns(src, spec)
        instrument_map, instrument_names = None, None
        if self.iv_method == "ec2sls":
            names = [columns.names[j] for j in columns.instrument_set]
        if self.iv_method == "ec2sls" and stata:
            # xtivreg: [z − z̄ᵢ + z̿, z̄ᵢ] of the exogenous regressors and instruments, and
            # the transformed constant 1 − θᵢ
            z = [j for j in columns.instrument_set if src.x_names[j - 1] != "Intercept"]
            grand = st.total[z] / st.n
            within_z = RowMap(RowMap.select(p, z).L, entity_table=means[:, z] - grand)
            between_z = RowMap(np.zeros((p, len(z))), entity_table=-means[:, z])
            constant = RowMap(np.zeros((p, 1)), entity_table=(theta - 1)[:, None])
            instrument_map = RowMap.hstack([within_z, between_z, constant])
            kept = [columns.names[j] for j in z]
            instrument_names = (
                [f"within: {n}" for n in kept] + [f"between: {n}" for n in kept] + ["1 - θ"]
            )
        elif self.iv_method == "ec2sls":
            z = columns.instrument_set
            within_z = RowMap(RowMap.select(p, z).L, entity_table=means[:, z])
            between_z = RowMap(np.zeros((p, len(z))), entity_table=-means[:, z])
            instrument_map = RowMap.hstack([within_z, between_z])
            instrument_names = [f"within: {n}" for n in names] + [f"between: {n}" for n in names]
        estimation, self.iv_fit = two_stage_estimation(
            src,
            src,
            gls,
            columns,
            raw_ss=np.diag(st.gram)[1:],
            instrument_map=instrument_map,
            instrument_names=instrument_names,
        )
        labels = st.entity.labels
        shrink = sigma2_u / (sigma2_u + sigma2_e / counts)
        coef = np.zeros(p)
        coef[0] = 1.0
        coef[self.iv_fit.columns.regressors] = -estimation.params
        components = VarianceComponents(
            sigma2_u=sigma2_u,
            sigma2_e=sigma2_e,
            theta=float(theta[0]) if np.ptp(theta) == 0 else pd.Series(theta, index=labels),
            shrinkage=pd.Series(shrink, index=labels, name="shrinkage"),
            method=f"{self.method} ({self.iv_method})",
        )
        return replace(
            estimation,
            variance_components=components,
            effects=pd.Series((1 - (1 - theta) ** 2) * (means @ coef), index=labels),
        )

    def _xtivreg_components(self) -> tuple[float, float]:
        """σ²ₑ and σ²ᵤ as Stata's ``xtivreg, re`` (xtivreg.ado 1.9.0): σ²ₑ from the
        within-2SLS residuals over N − n − p (balanced) or N − n − k_exog − 1
        (unbalanced: xtivreg.ado counts the exogenous regressors only, not the
        instrumented ones); σ²ᵤ from the unweighted between 2SLS (one row per entity):
        its s² − σ²ₑ/T when balanced, else ``(Σᵢ Tᵢ ēᵢ² − (n − k_b) σ²ₑ) / (N − tr)`` with
        Baltagi–Chang's trace of the regressors' means."""
        from panelre.estimators.between import Between
        from panelre.estimators.iv import iv_columns
        from panelre.estimators.within import FixedEffects

        src = self.source
        st = src.stats
        spec = self.instrument_spec
        assert spec is not None
        columns = iv_columns(src, spec)
        counts = st.entity.counts
        n_entities = st.n_entities
        within_model = FixedEffects(src)
        within_model.set_instruments(spec)
        within_fit = within_model._estimate_iv(drop_absorbed=True)
        between_model = Between(src)
        between_model.set_instruments(spec)
        between_fit = between_model._estimate_iv()
        assert within_fit.ssr is not None and between_fit.ssr is not None
        k_between = len(between_fit.params)
        if np.ptp(counts) == 0:
            sigma2_e = within_fit.ssr / (st.n - n_entities - len(within_fit.params))
            s2_between = between_fit.ssr / (n_entities - k_between)
            sigma2_u = s2_between - sigma2_e / counts[0]
        else:
            exogenous = [j for j in columns.exogenous if src.x_names[j - 1] != "Intercept"]
            sigma2_e = within_fit.ssr / (st.n - n_entities - len(exogenous) - 1)
            position = {name: pos for pos, name in columns.names.items()}
            coef = np.eye(st.width)[0]
            for name, value in zip(between_fit.names, between_fit.params):
                coef[position[name]] -= value
            means = st.entity.means
            weighted_ssr = float(counts @ (means @ coef) ** 2)
            regressor_means = means[:, columns.regressors]
            between_gram = regressor_means.T @ (counts[:, None] * regressor_means)
            sum_gram = regressor_means.T @ (counts[:, None] ** 2 * regressor_means)
            trace = float(np.trace(np.linalg.solve(between_gram, sum_gram)))
            sigma2_u = (weighted_ssr - (n_entities - k_between) * sigma2_e) / (st.n - trace)
        sigma2_u = nonnegative_effect_variance(
            sigma2_u, "xtivreg", ": random effects reduce to pooled 2SLS"
        )
        return sigma2_e, sigma2_u

    def _instrumented_steps(self) -> InstrumentedSteps:
        """The 2SLS first steps of plm's ``ercomp`` for an IV formula, fitted on demand."""
        from panelre.estimators.between import Between
        from panelre.estimators.iv import iv_columns
        from panelre.estimators.within import FixedEffects

        src = self.source
        spec = self.instrument_spec
        assert spec is not None
        columns = iv_columns(src, spec)
        position = {name: pos for pos, name in columns.names.items()}

        def residual_coef(fit: Estimation) -> np.ndarray:
            coef = np.eye(src.width)[0]
            for name, value in zip(fit.names, fit.params):
                coef[position[name]] -= value
            return coef

        def within() -> np.ndarray:
            model = FixedEffects(src)
            model.set_instruments(spec)
            return residual_coef(model._estimate_iv(drop_absorbed=True))

        def pooled() -> np.ndarray:
            model = PooledOLS(src)
            model.set_instruments(spec)
            return residual_coef(model._estimate_iv())

        def between() -> tuple[float, int]:
            model = Between(src, wls=True)
            model.set_instruments(spec)
            fit = model._estimate_iv()
            assert fit.ssr is not None
            return fit.ssr, len(fit.params)

        return InstrumentedSteps(columns.regressors, within, pooled, between)

    def _estimate(self) -> Estimation:
        src = self.source
        st = src.stats
        comps = self._components()
        transform, thetas = gls_map(st, comps, self.effects)
        p = st.width
        fit = least_squares(src, transform, range(1, p), src.x_names)
        coef = fit.coef
        blup_dim = "time" if self.effects == "time" else "entity"
        g = st.groups(blup_dim)
        th = thetas[blup_dim]
        blups = (1 - (1 - th) ** 2) * (g.means @ coef)
        k = len(fit.params)
        return Estimation(
            params=fit.params,
            names=fit.names,
            bread=fit.bread,
            df_resid=st.n - k,
            df_model=k - int("Intercept" in fit.names),
            scores=src.scores(fit.regressors, fit.resid),
            regressors=fit.regressors,
            regression_resid=fit.resid,
            rows=src,
            fitted=RowMap(np.eye(p)).times(np.eye(p)[0] - coef),
            resid=RowMap(np.eye(p)).times(coef),
            rsquared=fit.rsquared,
            index_r2=index_r2(src, fit.names, fit.params),
            effects=pd.Series(blups, index=g.labels, name="effects"),
            dropped=fit.dropped,
            absorbed=fit.absorbed,
            ssr=fit.reliable_ssr,
            variance_components=variance_components(st, comps, thetas, self.effects, self.method),
            random_effects_dimension=self.effects,
            loglike=comps.loglike,
            likelihood_cov=self._stata_ml_cov(fit.keep, fit.params, comps),
        )

    def _stata_ml_cov(
        self, keep: np.ndarray, params: np.ndarray, comps: Components
    ) -> np.ndarray | None:
        """Stata's ``xtreg, mle`` covariance of the coefficients: the β block of the inverse
        observed information of (β, σ²ₑ, σ²ᵤ); None unless ML under ``convention="stata"``."""
        if not (self.method == "ml" and self.convention == "stata"):
            return None
        st = self.source.stats
        cols = 1 + np.flatnonzero(keep)
        means = st.entity.means
        info = observed_information(
            st.entity.counts,
            means[:, cols],
            means[:, 0],
            st.gram[np.ix_(cols, cols)],
            st.gram[cols, 0],
            float(st.gram[0, 0]),
            params,
            comps.sigma2_e,
            comps.sigma2["entity"],
        )
        k = len(params)
        return inv_psd(info)[:k, :k]
