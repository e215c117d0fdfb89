"""Random effects by GLS quasi-demeaning: one-way (entity or time) and two-way."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from panelre._typing import CONVENTIONS, EFFECT_ALIASES, EFFECTS, RE_METHOD_ALIASES, RE_METHODS
from panelre._validation import check_option
from panelre._warnings import warn
from panelre.estimators._base import PanelModel, quasi_demeaned_ols, transformed_ols
from panelre.estimators.variance_components import Components, estimate_components
from panelre.exceptions import BoundaryWarning, InsufficientDataError, InvalidParameterError
from panelre.panel import PanelData
from panelre.results import Estimation, VarianceComponents

__all__ = ["RandomEffects", "theta_for"]


def theta_for(sigma2_e: float, sigma2_g: float, counts: np.ndarray) -> np.ndarray:
    """``θ_g = 1 − sqrt(σ²ₑ / (c_g σ²_g + σ²ₑ))`` per group."""
    return 1.0 - np.sqrt(sigma2_e / (counts * sigma2_g + sigma2_e))


class RandomEffects(PanelModel):
    """Random-effects GLS estimator.

    Parameters
    ----------
    design : Design
        The data (use ``from_formula`` or ``pr.random_effects``).
    effects : {"entity", "time", "twoway"}
    method : {"swamy-arora", "wallace-hussain", "amemiya", "nerlove", "ml", "reml"}
        R plm's names ``"swar"`` and ``"walhus"`` are accepted.
    convention : {"plm", "stata"}
        ``"plm"`` (default): R plm's formulas (unbalanced Swamy–Arora in the
        Baltagi–Chang form). ``"stata"``: Stata's ``xtreg, re`` (harmonic-mean T̄; cluster
        factor G/(G−1)).

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
    title = "Random effects (GLS)"
    uses_normal = True
    option_names = ("effects", "method", "convention")

    def _configure(
        self,
        effects: str = "entity",
        method: str = "swamy-arora",
        convention: str = "plm",
        **_: Any,
    ) -> None:
        self.effects = check_option("effects", effects, EFFECTS, EFFECT_ALIASES)
        self.method = check_option("method", method, RE_METHODS, RE_METHOD_ALIASES)
        self.convention = check_option("convention", convention, CONVENTIONS)
        if self.effects != "entity":
            self.design.panel._require_time(f"effects={self.effects!r}")
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

    # ---------------------------------------------------------------- components
    def _components(self) -> Components:
        if self.method in ("ml", "reml"):
            return self._likelihood_components()
        return estimate_components(self.design, self.effects, self.method, self.convention)

    def _likelihood_components(self) -> Components:
        from panelre._random_intercept import fit_random_intercept

        d = self.design
        p = d.panel
        if p.n_entities < 2:
            raise InsufficientDataError("ML/REML random effects need at least two entities.")
        fit = fit_random_intercept(
            p.counts.to_numpy().astype(float),
            p.group_means(d.X),
            p.group_means(d.y),
            d.X.T @ d.X,
            d.X.T @ d.y,
            float(d.y @ d.y),
            reml=self.method == "reml",
        )
        clipped = []
        if fit.sigma2_u <= 0:
            clipped = ["entity"]
        return Components(fit.sigma2_e, {"entity": max(fit.sigma2_u, 0.0)}, clipped, fit.loglike)

    # ---------------------------------------------------------------- transform
    def _thetas(self, comps: Components) -> dict[str, np.ndarray]:
        counts = self.design.panel.group_counts
        return {
            dim: theta_for(comps.sigma2_e, comps.sigma2[dim], counts(dim).astype(float))
            for dim in comps.sigma2
        }

    def _transform_twoway(
        self, comps: Components, thetas: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Two-way GLS transform (balanced: θ_id, θ_t, θ_total; unbalanced: whitening)."""
        d = self.design
        p = d.panel
        s2e = comps.sigma2_e
        both = np.column_stack([d.y, d.X])
        if p.is_balanced:
            th_i, th_t = float(thetas["entity"][0]), float(thetas["time"][0])
            th_total = _theta_total(s2e, comps, p)
            thetas["total"] = np.array([th_total])
            out = (
                both
                - th_i * p.expand(p.group_means(both), "entity")
                - th_t * p.expand(p.group_means(both, "time"), "time")
                + th_total * both.mean(axis=0)
            )
        else:
            out = _whiten_twoway_unbalanced(p, both, thetas["entity"], comps.sigma2["time"] / s2e)
        return out[:, 0], out[:, 1:]

    def _estimate(self) -> Estimation:
        d = self.design
        p = d.panel
        comps = self._components()
        if comps.clipped and self.method in ("ml", "reml"):
            warn(
                f"The {self.method.upper()} estimate of the entity-effect variance is 0 (a "
                "boundary solution): the data show no entity effect beyond noise, and the "
                "estimates equal pooled OLS.",
                BoundaryWarning,
            )
        thetas = self._thetas(comps)
        extra: dict[str, Any] = {"components": comps}
        if self.effects in ("entity", "time"):  # from cross-products: no transformed copy
            cols = list(range(len(d.x_names)))
            ols = quasi_demeaned_ols(d, self.effects, thetas[self.effects], cols)
            yt = ols.y
            extra["cluster_shortcut"] = (self.effects, ols.raw_X, ols.means, ols.theta)
        else:
            yt, Xt = self._transform_twoway(comps, thetas)
            ols = transformed_ols(Xt, yt, d.x_names)
        full = np.zeros(len(d.x_names))
        full[ols.keep] = ols.params
        vc = self._variance_components(comps, thetas)
        blup_dim = "time" if self.effects == "time" else "entity"
        th = thetas[blup_dim]
        ybar, xbar = d.means(blup_dim)  # group means of y − x'b from the cached means
        blups = (1 - (1 - th) ** 2) * (ybar - xbar @ full)
        labels = p.entity_labels if blup_dim == "entity" else p.time_labels
        if comps.loglike is not None:
            extra["loglike"] = comps.loglike
        return Estimation(
            params=ols.params,
            names=ols.names,
            X=ols.X,
            y=yt,
            resid=ols.resid,
            bread=ols.bread,
            df_resid=p.nobs - len(ols.params),
            df_model=len(ols.params) - int("Intercept" in ols.names),
            entity_codes=p.entity_codes,
            time_codes=p.time_codes,
            frame=p.frame,
            fitted=self._lazy_rows(lambda: d.X @ full, "fitted_values"),
            resids=self._lazy_rows(lambda: d.y - d.X @ full, "resids"),
            effects=pd.Series(blups, index=labels, name="effects"),
            dropped=ols.dropped,
            variance_components=vc,
            re_stata=self.convention == "stata",
            extra=extra,
        )

    def _variance_components(
        self, comps: Components, thetas: dict[str, np.ndarray]
    ) -> VarianceComponents:
        p = self.design.panel
        main = "time" if self.effects == "time" else "entity"
        labels = p.entity_labels if main == "entity" else p.time_labels
        s2u = comps.sigma2[main]
        counts = p.group_counts(main).astype(float)
        shrink = pd.Series(s2u / (s2u + comps.sigma2_e / counts), index=labels, name="shrinkage")

        def pack(values: np.ndarray | None, idx: pd.Index | None) -> float | pd.Series | None:
            if values is None:
                return None
            if np.ptp(values) == 0:
                return float(values[0])
            return pd.Series(values, index=idx, name="theta")

        total = thetas.get("total")
        return VarianceComponents(
            sigma2_u=s2u,
            sigma2_e=comps.sigma2_e,
            theta=pack(thetas[main], labels),  # type: ignore[arg-type]
            shrinkage=shrink,
            method=self.method,
            sigma2_t=comps.sigma2.get("time") if self.effects == "twoway" else None,
            theta_time=pack(thetas.get("time"), p.time_labels)
            if self.effects == "twoway"
            else None,
            theta_total=None if total is None else float(total[0]),
        )


def _theta_total(s2e: float, comps: Components, p: PanelData) -> float:
    s2u, s2t = comps.sigma2["entity"], comps.sigma2["time"]
    if s2u == 0 or s2t == 0:
        return 0.0
    th_i = 1 - np.sqrt(s2e / (p.n_periods * s2u + s2e))
    th_t = 1 - np.sqrt(s2e / (p.n_entities * s2t + s2e))
    return float(th_i + th_t - 1 + (1 + p.n_entities * s2t / s2e + p.n_periods * s2u / s2e) ** -0.5)


def _whiten_twoway_unbalanced(
    p: PanelData, both: np.ndarray, theta_entity: np.ndarray, phi2: float
) -> np.ndarray:
    """Exact GLS whitening for unbalanced two-way random effects.

    After entity quasi-demeaning ``A = I − ΘB`` (giving x*), the remaining covariance
    is handled by ``Q = I − φ² D*(I + φ² D*'D*)⁻¹D*'`` with ``D* = A D`` the
    quasi-demeaned time dummies. Its symmetric square root is ``I − D* L D*'`` with
    ``L = V diag((1 − (1 + φ² g)^(-1/2))/g) V'`` from ``D*'D* = V diag(g) V'``; applying
    it needs only T x T and T x k group statistics.
    """
    star = p.quasi_demean(both, theta_entity, "entity")
    if phi2 == 0:
        return star
    th_row = p.expand(theta_entity, "entity")
    w = (2 * theta_entity - theta_entity**2) / p.group_counts("entity")
    F = p._cross_counts("entity", "time")  # N x T counts (0/1)
    gram = np.diag(p.time_counts.astype(float)) - (F.T @ (F.multiply(w[:, None]))).toarray()
    g, V = np.linalg.eigh((gram + gram.T) / 2)
    g = np.clip(g, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(g > 1e-12, (1 - (1 + phi2 * g) ** -0.5) / np.where(g > 0, g, 1), phi2 / 2)
    L = (V * lam) @ V.T
    dstar_x = p.group_sums(star, "time")  # D*'x* = D'A x* ... see below
    # D*' x* = D' A' x* ; with A = I − ΘB:  D'x* − D'(ΘB x*)
    dstar_x = dstar_x - p.group_sums(
        th_row[:, None] * p.expand(p.group_means(star), "entity"), "time"
    )
    H = L @ dstar_x  # T x k
    dh = p.expand(H, "time")
    dh = dh - th_row[:, None] * p.expand(p.group_means(dh), "entity")
    return star - dh
