"""Immutable results of a linear mixed model fit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from panelre._validation import check_option, check_probability, closest_names
from panelre.exceptions import InvalidParameterError
from panelre.results import tidy_coefficients
from panelre.tables import Summary

__all__ = ["MixedResults", "RandomFactor"]


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class RandomFactor:
    r"""The estimated random effects of one grouping factor.

    Attributes
    ----------
    name : str
        The grouping factor as written in the formula (``"plate"``, ``"cask:batch"``).
    labels : pandas.Index
        Its levels, sorted.
    random_names : tuple of str
        Its random effects (``"Intercept"``, slopes).
    blocks : tuple of tuple of int
        Groups of correlated effects (one per effect for ``||``).
    theta : ndarray
        Its elements of θ (lower triangle of its relative covariance factor, by column).
    cov : ndarray (q, q)
        Covariance matrix of one level's effects, :math:`\sigma^2 T T'`.
    blups : ndarray (levels, q)
        Conditional modes of the effects.
    condvar : ndarray (levels, q, q)
        Their conditional covariances given the data (lme4's ``condVar``).
    specs : tuple
        formulaic specs that rebuild its Z columns on new data.
    columns : tuple of str
        The data columns whose combination gives the level.
    terms : tuple of str
        Its random terms as written in the formula, e.g. ``("(Days | Subject)",)``.
    """

    name: str
    labels: pd.Index
    random_names: tuple[str, ...]
    blocks: tuple[tuple[int, ...], ...]
    theta: np.ndarray
    cov: np.ndarray
    blups: np.ndarray
    condvar: np.ndarray
    specs: tuple[object, ...] = field(repr=False)
    columns: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("theta", "cov", "blups", "condvar"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))

    @property
    def n_levels(self) -> int:
        return int(self.labels.size)

    def frame(self) -> pd.DataFrame:
        """BLUPs, one row per level and one column per random effect."""
        index = self.labels.copy()
        index.name = self.name
        return pd.DataFrame(self.blups, index=index, columns=list(self.random_names))

    def frame_se(self) -> pd.DataFrame:
        """Conditional standard deviations of the BLUPs."""
        sd = np.sqrt(np.einsum("gjj->gj", self.condvar))
        return pd.DataFrame(sd, index=self.frame().index, columns=list(self.random_names))


@dataclass(frozen=True, eq=False)
class MixedResults:
    """Results of ``panelre.mixed.mixed``; every attribute is read-only.

    Standard errors come from :math:`\\hat\\sigma^2 A^{-1}` (lme4's ``vcov``); t statistics are
    referred to the standard normal distribution (as statsmodels ``MixedLM``), since the
    degrees of freedom of a mixed model are not well defined.
    """

    formula: str
    reml: bool
    fixed_names: tuple[str, ...]
    factors: tuple[RandomFactor, ...]
    _beta: np.ndarray
    _cov_beta: np.ndarray
    theta: np.ndarray
    sigma2: float
    loglike: float
    reml_criterion: float
    deviance: float
    nobs: int
    converged: bool
    gradient: np.ndarray
    n_iter: int
    singular: bool
    counts: np.ndarray
    group_mean_resid: np.ndarray
    _fitted: np.ndarray
    fitted_fixed: np.ndarray
    row_index: pd.Index
    response: str
    fixed_spec: Any = field(repr=False)
    dropped_columns: tuple[str, ...] = ()
    optimizer_message: str = ""
    weight_sums: np.ndarray | None = None
    response_values: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    design: Any = field(default=None, repr=False)  # the MixedDesign, kept for refit_ml
    shift: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        for name in (
            "_beta",
            "_cov_beta",
            "theta",
            "gradient",
            "counts",
            "group_mean_resid",
            "_fitted",
            "fitted_fixed",
        ):
            object.__setattr__(self, name, _readonly(getattr(self, name)))

    # ------------------------------------------------------------------ fixed effects
    @property
    def params(self) -> pd.Series:
        """Fixed-effect estimates."""
        return pd.Series(self._beta, index=list(self.fixed_names), name="params")

    @property
    def cov(self) -> pd.DataFrame:
        """Covariance of the fixed-effect estimates (lme4's ``vcov``)."""
        names = list(self.fixed_names)
        return pd.DataFrame(self._cov_beta, index=names, columns=names)

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series(
            np.sqrt(np.diag(self._cov_beta)), index=list(self.fixed_names), name="std_errors"
        )

    @property
    def tstats(self) -> pd.Series:
        return (self.params / self.std_errors).rename("tstats")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values from the standard normal distribution."""
        return pd.Series(
            2 * sps.norm.sf(np.abs(self.tstats.to_numpy())),
            index=list(self.fixed_names),
            name="pvalues",
        )

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Normal-based (Wald) confidence intervals with columns ``lower`` and ``upper``."""
        level = check_probability("level", level)
        z = sps.norm.ppf(0.5 + level / 2)
        se = self.std_errors
        return pd.DataFrame({"lower": self.params - z * se, "upper": self.params + z * se})

    # ------------------------------------------------------------------ grouping factors
    @property
    def single_factor(self) -> RandomFactor:
        """The grouping factor of a single-factor model; an error for several factors."""
        if len(self.factors) != 1:
            raise InvalidParameterError(
                "This model has several grouping factors "
                f"{[f.name for f in self.factors]}; use varcorr (variance components), "
                "ranef (BLUPs per factor) and group_counts instead of the single-factor "
                "cov_re, random_effects, group_name and n_groups."
            )
        return self.factors[0]

    @property
    def group_name(self) -> str:
        """The grouping factor (single-factor models)."""
        return self.single_factor.name

    @property
    def group_labels(self) -> pd.Index:
        return self.single_factor.labels

    @property
    def random_names(self) -> tuple[str, ...]:
        """The random effects of the grouping factor (single-factor models)."""
        return self.single_factor.random_names

    @property
    def blocks(self) -> tuple[tuple[int, ...], ...]:
        return self.single_factor.blocks

    @property
    def cov_re_matrix(self) -> np.ndarray:
        return self.single_factor.cov

    @property
    def blups(self) -> np.ndarray:
        return self.single_factor.blups

    @property
    def blup_cov(self) -> np.ndarray:
        return self.single_factor.condvar

    @property
    def n_groups(self) -> int:
        """Number of groups (single-factor models; see ``group_counts``)."""
        return self.single_factor.n_levels

    @property
    def group_counts(self) -> dict[str, int]:
        """Number of levels of each grouping factor (lme4's ``ngrps``)."""
        return {f.name: f.n_levels for f in self.factors}

    @property
    def varcorr(self) -> pd.DataFrame:
        """Variance components as lme4's ``as.data.frame(VarCorr(m))``.

        One row per variance (``var2`` missing) and per covariance within a block of
        correlated effects, for each grouping factor in turn, then the residual: columns
        ``grp``, ``var1``, ``var2``, ``vcov`` (variance or covariance) and ``sdcor``
        (standard deviation or correlation).
        """
        rows: list[tuple[str, str | None, str | None, float, float]] = []
        for f in self.factors:
            sd = np.sqrt(np.diag(f.cov))
            for block in f.blocks:
                for j in block:
                    rows.append((f.name, f.random_names[j], None, f.cov[j, j], sd[j]))
                for a, j in enumerate(block):
                    for k in block[a + 1 :]:
                        denom = sd[j] * sd[k]
                        corr = f.cov[j, k] / denom if denom > 0 else np.nan
                        rows.append(
                            (f.name, f.random_names[j], f.random_names[k], f.cov[j, k], corr)
                        )
        rows.append(("Residual", None, None, self.sigma2, np.sqrt(self.sigma2)))
        table = pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])
        for column in ("var1", "var2"):  # missing names are None, as in the rows
            table[column] = table[column].astype(object).where(table[column].notna(), None)
        return table

    @property
    def ranef(self) -> dict[str, pd.DataFrame]:
        """BLUPs per grouping factor: name -> DataFrame (levels x random effects); the
        conditional variances are in ``ranef_condvar``."""
        return {f.name: f.frame() for f in self.factors}

    @property
    def ranef_se(self) -> dict[str, pd.DataFrame]:
        """Conditional standard deviations of the BLUPs per grouping factor."""
        return {f.name: f.frame_se() for f in self.factors}

    @property
    def ranef_condvar(self) -> dict[str, np.ndarray]:
        """Conditional covariance (levels, q, q) of the BLUPs per grouping factor
        (lme4's ``attr(ranef(m, condVar = TRUE)[[g]], "postVar")``, levels first)."""
        return {f.name: f.condvar for f in self.factors}

    # ------------------------------------------------------------------ variance components
    @property
    def cov_re(self) -> pd.DataFrame:
        """Covariance matrix of the random effects, :math:`\\sigma^2\\Lambda\\Lambda'`."""
        names = list(self.random_names)
        return pd.DataFrame(self.cov_re_matrix, index=names, columns=names)

    @property
    def corr_re(self) -> pd.DataFrame:
        """Correlation matrix of the random effects (NaN where a variance is 0)."""
        sd = np.sqrt(np.diag(self.cov_re_matrix))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = self.cov_re_matrix / np.outer(sd, sd)
        names = list(self.random_names)
        return pd.DataFrame(corr, index=names, columns=names)

    @property
    def n_params(self) -> int:
        """Fixed effects + covariance parameters + residual variance (lme4's df)."""
        return len(self.fixed_names) + self.theta.size + 1

    @property
    def aic(self) -> float:
        """``-2 loglike + 2 n_params``; for REML fits the REML log-likelihood, as lme4."""
        return -2.0 * self.loglike + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        return -2.0 * self.loglike + np.log(self.nobs) * self.n_params

    @property
    def gradient_norm(self) -> float:
        """Euclidean norm of the projected gradient of the criterion at the optimum."""
        return float(np.linalg.norm(self.gradient))

    # ------------------------------------------------------------------ random effects
    @property
    def random_effects(self) -> pd.DataFrame:
        """BLUPs (conditional modes): one row per group, one column per random term
        (single-factor models; ``ranef`` for several factors)."""
        return self.single_factor.frame()

    @property
    def random_effects_se(self) -> pd.DataFrame:
        """Conditional standard deviations of the BLUPs (square roots of lme4's ``condVar``)."""
        return self.single_factor.frame_se()

    @property
    def random_effects_cov(self) -> dict[object, pd.DataFrame]:
        """Conditional covariance matrix of each group's random effects, by group label."""
        factor = self.single_factor
        names = list(factor.random_names)
        return {
            label: pd.DataFrame(factor.condvar[i], index=names, columns=names)
            for i, label in enumerate(factor.labels)
        }

    @property
    def fitted_values(self) -> pd.Series:
        """:math:`X\\hat\\beta + Z\\hat b` on the estimation rows."""
        return pd.Series(self._fitted, index=self.row_index, name="fitted_values")

    @property
    def resids(self) -> pd.Series:
        """Conditional residuals :math:`y - X\\hat\\beta - Z\\hat b` (lme4's ``resid``)."""
        return pd.Series(self.response_values - self._fitted, index=self.row_index, name="resids")

    def predict(
        self,
        data: pd.DataFrame | None = None,
        include_random: bool = True,
        *,
        re_form: str | None = None,
        allow_new_levels: bool = False,
        effects: str | None = None,
        interval: str | None = None,
        level: float = 0.95,
    ) -> pd.Series | pd.DataFrame:
        """Predictions :math:`X\\hat\\beta + Z\\hat b`, as lme4's ``predict``.

        Parameters
        ----------
        data : DataFrame, optional
            New data; the estimation rows when omitted.
        include_random : bool, default True
            False gives the population-level prediction :math:`X\\hat\\beta` (lme4's
            ``re.form = NA``).
        re_form : str, optional
            The random terms to include, lme4's ``re.form``: ``"~(1 | plate)"`` keeps the
            effects of ``plate`` only; ``"~0"`` (or ``"NA"``) none; None all of them.
        allow_new_levels : bool, default False
            Levels of a grouping factor that were not in the estimation sample get random
            effects 0 (the population level) when True; otherwise they are an error, as in
            lme4. A missing grouping value counts as a new level.
        effects : {"include", "exclude"}, optional
            The panel estimators' spelling: ``"exclude"`` is ``include_random=False``.
        interval : {None, "confidence", "prediction"}
            Add ``se``, ``lower`` and ``upper``: the fixed part's standard error (the
            predicted random effects treated as known, as Stata's ``stdp``), or that of a new
            observation (adding σ² and the variance of every random effect not predicted:
            factors left out and new levels). lme4 itself gives no prediction SEs.
        level : float, default 0.95

        Examples
        --------
        >>> from panelre.datasets import load
        >>> from panelre.mixed import mixed
        >>> m = mixed("diameter ~ 1 + (1 | plate) + (1 | sample)", load("penicillin"))
        >>> new = load("penicillin").head(2)
        >>> m.predict(new, re_form="~(1 | plate)").round(3).tolist()
        [23.777, 23.777]
        """
        from panelre.mixed._predict import predict

        if effects is not None:
            effects = check_option("effects", effects, ("include", "exclude"))
            include_random = include_random and effects == "include"
        if interval is not None:
            interval = check_option("interval", interval, ("confidence", "prediction"))
        level = check_probability("level", level)
        return predict(self, data, include_random, re_form, allow_new_levels, interval, level)

    # ------------------------------------------------------------------ shrinkage
    def _require_intercept_only(self, what: str) -> None:
        if self.random_names != ("Intercept",):
            raise InvalidParameterError(
                f"{what} is defined for random-intercept models, (1 | g). Got random terms "
                f"{list(self.random_names)}."
            )

    def shrinkage(self) -> pd.DataFrame:
        """No-pooling estimate, BLUP and shrinkage factor per group (random intercept only).

        The no-pooling estimate of group i is its mean residual from the fixed part,
        :math:`\\bar y_i - \\bar x_i'\\hat\\beta`; the BLUP shrinks it towards 0 by the factor
        :math:`\\sigma^2_u / (\\sigma^2_u + \\sigma^2_e / n_i)` (with prior weights,
        :math:`n_i` is the group's sum of weights and the mean residual is weighted).
        """
        self._require_intercept_only("shrinkage()")
        s2u = float(self.cov_re_matrix[0, 0])
        mass = self.counts if self.weight_sums is None else self.weight_sums
        factor = s2u / (s2u + self.sigma2 / mass)
        out = pd.DataFrame(
            {
                "n": self.counts.astype(int),
                "no_pooling": self.group_mean_resid,
                "blup": self.blups[:, 0],
                "shrinkage": factor,
            },
            index=self.random_effects.index,
        )
        return out

    def group_coefficients(self, factor: str | None = None) -> pd.DataFrame:
        """Per-group coefficients of a factor's random terms without and with pooling.

        ``no_pooling``: each group's own least-squares fit of the residual from the other
        fixed effects on the random-effects design, plus the fixed part (the separate
        per-group regressions of lme4's shrinkage figures); NaN where a group cannot
        identify them. ``partial_pooling``: the conditional coefficients, fixed effect
        plus BLUP. Columns are a two-level index (kind, term).

        Examples
        --------
        >>> from panelre.datasets import load
        >>> from panelre.mixed import mixed
        >>> m = mixed("Reaction ~ Days + (Days | Subject)", load("sleepstudy"))
        >>> m.group_coefficients()["no_pooling"].round(2).iloc[0].tolist()
        [244.19, 21.76]
        """
        chosen = self.single_factor if factor is None else self._factor(factor)
        design = next(f for f in self.design.factors if f.name == chosen.name)
        terms = list(chosen.random_names)
        fixed = np.array([self.params.get(t, 0.0) for t in terms])
        z = design.z
        r = self.response_values - self.fitted_fixed + z @ fixed
        w = np.ones_like(r) if self.design.weights is None else self.design.weights
        g, q = chosen.n_levels, z.shape[1]
        zz = np.zeros((g, q, q))
        np.add.at(zz, design.codes, w[:, None, None] * z[:, :, None] * z[:, None, :])
        zr = np.zeros((g, q))
        np.add.at(zr, design.codes, (w * r)[:, None] * z)
        ok = np.linalg.matrix_rank(zz) == q
        own = np.full((g, q), np.nan)
        own[ok] = np.linalg.solve(zz[ok], zr[ok][:, :, None])[:, :, 0]
        pooled = fixed + chosen.blups
        index = chosen.labels.copy()
        index.name = chosen.name
        columns = pd.MultiIndex.from_product([["no_pooling", "partial_pooling"], terms])
        return pd.DataFrame(np.hstack([own, pooled]), index=index, columns=columns)

    def plot_shrinkage(self, ax=None, factor: str | None = None):
        """Shrinkage plot; returns the matplotlib Figure.

        Random intercepts: no-pooling estimates against BLUPs, coloured by group size.
        Random slopes: each group's own regression coefficients (first two random terms)
        with an arrow to its conditional coefficients and the population estimate marked,
        as the shrinkage figures of lme4's documentation.
        """
        from panelre.mixed.plots import plot_coefficient_shrinkage, plot_shrinkage

        chosen = self.single_factor if factor is None else self._factor(factor)
        if chosen.random_names == ("Intercept",) and len(self.factors) == 1:
            return plot_shrinkage(self.shrinkage(), self.group_name, ax=ax)
        if len(chosen.random_names) < 2:
            raise InvalidParameterError(
                "plot_shrinkage() of a multi-factor model draws random slopes; factor "
                f"{chosen.name!r} has the single random term {chosen.random_names[0]!r}."
            )
        population = [float(self.params.get(t, 0.0)) for t in chosen.random_names[:2]]
        return plot_coefficient_shrinkage(self.group_coefficients(chosen.name), population, ax=ax)

    def plot_random_effects(
        self,
        level: float = 0.95,
        ax=None,
        factor: str | None = None,
        n_extremes: int | None = None,
    ):
        """Caterpillar plot of the BLUPs with conditional intervals; returns the Figure.

        One row of panels per grouping factor (lme4's ``dotplot(ranef(m, condVar = TRUE))``),
        or only the factor named by ``factor``; ``n_extremes=n`` shows only the n lowest
        and n highest levels of each factor (for factors with many levels).

        Examples
        --------
        >>> from panelre.datasets import load
        >>> from panelre.mixed import mixed
        >>> m = mixed("diameter ~ 1 + (1 | plate) + (1 | sample)", load("penicillin"))
        >>> fig = m.plot_random_effects(factor="sample")
        >>> [a.get_title() for a in fig.axes]
        ['Intercept']
        """
        from panelre.mixed.plots import plot_random_effects

        level = check_probability("level", level)
        chosen = list(self.factors) if factor is None else [self._factor(factor)]
        panels = [(f.frame(), f.frame_se()) for f in chosen]
        if n_extremes is not None and (int(n_extremes) != n_extremes or n_extremes < 1):
            raise InvalidParameterError(
                f"n_extremes must be a positive whole number. Got {n_extremes!r}."
            )
        return plot_random_effects(panels, level, ax=ax, n_extremes=n_extremes)

    def _factor(self, name: str) -> RandomFactor:
        """The grouping factor called ``name``."""
        names = [f.name for f in self.factors]
        if name not in names:
            raise InvalidParameterError(
                f"Unknown grouping factor {name!r}{closest_names(name, names)}. Allowed: {names}."
            )
        return self.factors[names.index(name)]

    def refit_ml(self) -> MixedResults:
        """The same model fitted by maximum likelihood (itself when already ML), as lme4's
        ``refitML``; likelihood-ratio tests of fixed effects need ML fits."""
        if not self.reml:
            return self
        from panelre.mixed.model import fit_design, warn_about_fit

        refit = fit_design(self.formula, False, self.design, self.shift)
        warn_about_fit(refit)
        return refit

    # ------------------------------------------------------------------ rendering
    @property
    def summary(self) -> Summary:
        """lme4-like summary: random-effects block and fixed-effects table."""
        from panelre.mixed._summary import build_summary

        return build_summary(self)

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy coefficient table (the columns of every result's ``to_frame``)."""
        return tidy_coefficients(self, level)

    def __str__(self) -> str:
        return str(self.summary)

    def __repr__(self) -> str:
        kind = "REML" if self.reml else "ML"
        return (
            f"<MixedResults {self.formula!r} by {kind}: nobs={self.nobs}, "
            f"groups={self.group_counts}, loglike={self.loglike:.4f}>"
        )

    def _repr_html_(self) -> str:
        return self.summary._repr_html_()
