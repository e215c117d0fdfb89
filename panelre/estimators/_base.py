"""The model -> results template shared by every panel estimator.

A model binds a formula to data on a backend (a ``PanelSource``) at construction and
estimates nothing. ``from_formula`` is written once, here. ``fit()`` validates the
covariance options, calls the estimator's ``_estimate()`` hook (which returns an
``Estimation`` built from sufficient statistics and row maps) and applies the shared
covariance module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

import numpy as np

from panelre._warnings import warn
from panelre.covariance import CovarianceEstimator, make_covariance
from panelre.estimators._transforms import within
from panelre.exceptions import (
    InsufficientDataError,
    InvalidParameterError,
    WeakInstrumentWarning,
)
from panelre.formula import InstrumentSpec, split_instruments
from panelre.results import Estimation, IVResults, PanelResults
from panelre.stats import Backend, PanelSource, bind, corr2, require_time

__all__ = ["PanelModel", "index_r2"]

#: First-stage F below which instruments are called weak (Staiger and Stock 1997).
WEAK_INSTRUMENT_F = 10.0


def index_r2(
    source: PanelSource, names: Sequence[str], params: np.ndarray
) -> tuple[float, float, float]:
    """Stata's within, between and overall R²: squared correlations of ``x'b`` (intercept
    excluded) with ``y``, from the statistics of the source's columns. With analytic weights
    the within R² is weighted and the between and overall R² are not, as Stata's weighted
    ``xtreg, fe``; with frequency weights all three are those of the data with the rows
    repeated (weighted; the between R² over the weighted entity means).

    Examples
    --------
    >>> import panelre as pr
    >>> fe = pr.fixed_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                       entity="firm")
    >>> round(fe.rsquared_within, 4), round(fe.rsquared_overall, 4)
    (0.7668, 0.806)
    """
    st = source.stats
    p = st.width
    b = np.zeros(p)
    for n, v in zip(names, params):
        if n != "Intercept" and n in source.x_names:
            b[1 + source.x_names.index(n)] = v
    y = np.zeros(p)
    y[0] = 1.0
    _, within_gram = within(source, "entity")
    within_r2 = corr2(within_gram, np.zeros(p), st.mass, y, b)
    if source.weight_type != "frequency":
        st = st.unweighted
    overall = corr2(st.gram, st.total, st.mass, y, b)
    means = st.entity.means
    between = corr2(means.T @ means, means.sum(axis=0), means.shape[0], y, b)
    return within_r2, between, overall


class PanelModel(ABC):
    """Base class of the panel estimators.

    Subclasses set ``estimator_name`` and ``title`` and implement ``_estimate()``.
    """

    estimator_name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    uses_normal: ClassVar[bool] = False
    requires_time: ClassVar[bool] = False
    option_names: ClassVar[tuple[str, ...]] = ()
    results_class: ClassVar[type[PanelResults]] = PanelResults
    accepts_weights: ClassVar[bool] = True
    weights_note: ClassVar[str] = ""
    #: the estimator has a two-stage least squares form (``_estimate_iv``)
    supports_instruments: ClassVar[bool] = False

    def __init__(self, source: PanelSource, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.option_names))
        if unknown:
            allowed = ", ".join(self.option_names) or "none"
            raise InvalidParameterError(
                f"{type(self).__name__} got unexpected option(s) {unknown}. Allowed: {allowed}."
            )
        if self.requires_time:
            require_time(source.time_name is not None, self.title)
        if source.weight_type is not None and not self.accepts_weights:
            raise InvalidParameterError(
                f"{self.title} is not defined with observation weights here: "
                f"{self.weights_note} Weighted estimators: pooled_ols, between, "
                "fixed_effects, first_difference."
            )
        self.source = source
        self._configure(**options)

    def _configure(self, **options: Any) -> None:
        """Validate and store estimator options (subclasses override)."""

    @property
    def stats(self) -> Any:
        """The sufficient statistics of the model's data."""
        return self.source.stats

    @classmethod
    def from_formula(
        cls,
        formula: str,
        data: Any,
        *,
        entity: Hashable | None = None,
        time: Hashable | None = None,
        backend: str | Backend = "auto",
        weights: Any = None,
        weight_type: str = "analytic",
        **options: Any,
    ) -> PanelModel:
        """Build the model from a formula and any accepted form of panel data.

        ``backend`` chooses where the statistics are computed: ``"auto"`` (Dask for Dask
        frames, numpy otherwise), ``"numpy"``, ``"dask"``, ``"cupy"`` or ``"torch"``.
        ``weights`` (a column name or one value per row) and ``weight_type``
        (``"analytic"`` or ``"frequency"``) weight the observations.
        """
        instruments = split_instruments(formula)
        plain = formula if instruments is None else instruments.formula
        source = bind(
            plain, data, entity=entity, time=time, backend=backend, weights=weights,
            weight_type=weight_type,
        )  # fmt: skip
        model = cls(source, **options)
        if instruments is not None:
            model.set_instruments(instruments)
        return model

    #: the instrumental-variables split of the formula (None: no instruments)
    instrument_spec: InstrumentSpec | None = None
    #: what the last 2SLS fit keeps for its diagnostics
    iv_fit: Any = None

    def set_instruments(self, spec: InstrumentSpec) -> None:
        """Estimate by two-stage least squares with the instruments of ``spec``."""
        if not self.supports_instruments:
            raise InvalidParameterError(
                f"{self.title} has no instrumental-variables form here; instruments work "
                "with pooled_ols, between, fixed_effects, first_difference and random_effects."
            )
        if self.source.weight_type is not None:
            raise InvalidParameterError(
                "Instrumental variables with observation weights are not supported."
            )
        self.instrument_spec = spec
        method = getattr(self, "iv_method", "2sls").upper()
        self.title = f"{self.title}, {method}"  # type: ignore[misc]

    @property
    def is_iv(self) -> bool:
        """True when the model is estimated by two-stage least squares."""
        return self.instrument_spec is not None

    def fit(
        self,
        cov: str | CovarianceEstimator = "unadjusted",
        *,
        cluster: Any = None,
        small_sample: Any = None,
        bandwidth: int | None = None,
        **unknown: Any,
    ) -> PanelResults:
        """Estimate the model and its covariance (the options as in ``pr.pooled_ols``;
        see ``panelre.covariance``)."""
        covariance = make_covariance(
            cov, cluster=cluster, small_sample=small_sample, bandwidth=bandwidth, **unknown
        )
        estimation = self._estimate_iv() if self.is_iv else self._estimate()  # type: ignore[attr-defined]
        if estimation.df_resid <= 0:
            raise InsufficientDataError(
                f"{self.title} has no residual degrees of freedom: {estimation.scores.nobs} "
                f"observations in its regression for {len(estimation.params)} coefficients."
            )
        if self.is_iv:
            self._warn_if_weak()
        results_class = IVResults if self.is_iv else self.results_class
        return results_class(
            model=self,
            estimation=estimation,
            covariance=covariance,
            parameter_cov=covariance.compute(estimation.covariance_inputs()),
        )

    def _warn_if_weak(self) -> None:
        """Warn when an endogenous regressor's first-stage F (classical; with several
        endogenous regressors Sanderson and Windmeijer's conditional F) is below 10, the
        Staiger–Stock rule of thumb for weak instruments."""
        stages = self.iv_fit.first_stage()
        weak = [s for s in stages if s.sw_f_stat < WEAK_INSTRUMENT_F]
        if weak:
            text = ", ".join(f"{s.endogenous} (F = {s.sw_f_stat:.2f})" for s in weak)
            which = (
                "first-stage F"
                if len(stages) == 1
                else "conditional first-stage F (Sanderson–Windmeijer)"
            )
            warn(
                f"Weak instruments: the {which} of the excluded instruments is below "
                f"{WEAK_INSTRUMENT_F:g} for {text}; 2SLS is then biased towards OLS and its "
                "tests over-reject. See results.first_stage.",
                WeakInstrumentWarning,
            )

    @abstractmethod
    def _estimate(self) -> Estimation:
        """Compute the estimator's algebra; return an ``Estimation``."""
