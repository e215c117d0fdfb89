"""Plots of panel results (matplotlib, imported lazily: ``pip install 'panelre[plot]'``).

Every function returns a ``matplotlib.figure.Figure`` built with the object-oriented
API (no global pyplot state), so it renders in notebooks and saves with ``savefig``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from panelre.exceptions import InvalidParameterError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["new_figure", "coefficient_plot", "effects_plot", "shrinkage_plot", "residual_plot"]


def new_figure(width: float = 6.0, height: float = 4.0) -> Figure:
    """A fresh matplotlib Figure (raises a clear ImportError without matplotlib)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Plots need matplotlib: pip install 'panelre[plot]'.") from exc
    return Figure(figsize=(width, height), layout="constrained")


def coefficient_plot(
    results: Mapping[str, Any] | Any, *, level: float = 0.95, intercept: bool = False
) -> Figure:
    """Point estimates with confidence intervals, one colour per model.

    Examples
    --------
    >>> import panelre as pr
    >>> from panelre.plots import coefficient_plot
    >>> g = pr.datasets.load("grunfeld")
    >>> fe = pr.fixed_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> re = pr.random_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> fig = coefficient_plot({"FE": fe, "RE": re})
    >>> len(fig.axes)
    1
    """
    if not isinstance(results, Mapping):
        results = {"Model": results}
    names: list[str] = []
    for res in results.values():
        names += [n for n in res.params.index if n not in names and (intercept or n != "Intercept")]
    if not names:
        raise InvalidParameterError("No coefficients to plot (only an intercept?).")
    fig = new_figure(6.0, 0.5 + 0.45 * len(names) * max(1, len(results)) ** 0.5)
    ax = fig.subplots()
    offsets = np.linspace(-0.2, 0.2, len(results)) if len(results) > 1 else [0.0]
    for off, (label, res) in zip(offsets, results.items()):
        ci = res.conf_int(level)
        rows = [i for i, n in enumerate(names) if n in res.params.index]
        sub = [names[i] for i in rows]
        y = np.array(rows) + off
        est = res.params[sub].to_numpy()
        err = np.vstack([est - ci.loc[sub, "lower"], ci.loc[sub, "upper"] - est])
        ax.errorbar(est, y, xerr=err, fmt="o", capsize=3, label=label)
    ax.axvline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel(f"Estimate with {level:.0%} confidence interval")
    if len(results) > 1:
        ax.legend()
    return fig


def _effect_intervals(result: Any, level: float) -> pd.DataFrame:
    """Group effects with approximate standard errors."""
    effects = result.effects
    if effects is None:
        raise InvalidParameterError(f"{result.model.title} has no estimated group effects to plot.")
    st = result.source.stats
    counts = st.entity.weights  # Tᵢ, or Σw with observation weights (Var = σ²/Σw)
    vc = result.variance_components
    if vc is not None:  # BLUPs: conditional sd sqrt(σ²ᵤ(1 − shrinkage))
        se = np.sqrt(vc.sigma2_u * (1 - vc.shrinkage.to_numpy()))
    else:  # FE αᵢ = ȳᵢ − x̄ᵢ'b: Var = s²/Tᵢ + x̄ᵢ'V x̄ᵢ (as R plm's fixef)
        names = list(result.params.index)
        cols = [1 + result.source.x_names.index(n) for n in names]
        xbar = st.entity.means[:, cols]
        quad = np.einsum("ij,jk,ik->i", xbar, result.cov.to_numpy(), xbar)
        se = np.sqrt(result.resid_variance / counts + quad)
    if len(se) != len(effects):
        raise InvalidParameterError("Intervals are available for entity effects only.")
    z = stats.norm.ppf((1 + level) / 2)
    return pd.DataFrame(
        {
            "effect": effects.to_numpy(),
            "lower": effects.to_numpy() - z * se,
            "upper": effects.to_numpy() + z * se,
        },
        index=effects.index,
    )


def effects_plot(result: Any, *, level: float = 0.95) -> Figure:
    """Caterpillar plot of the estimated group effects (FE αᵢ or RE BLUPs) with intervals.

    Examples
    --------
    >>> import panelre as pr
    >>> from panelre.plots import effects_plot
    >>> re = pr.random_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                        entity="firm", time="year")
    >>> effects_plot(re).axes[0].get_xlabel()
    'Entity effect (95% interval)'
    """
    frame = _effect_intervals(result, level).sort_values("effect")
    fig = new_figure(6.0, max(3.0, 0.18 * len(frame) + 1))
    ax = fig.subplots()
    y = np.arange(len(frame))
    ax.errorbar(
        frame["effect"],
        y,
        xerr=[frame["effect"] - frame["lower"], frame["upper"] - frame["effect"]],
        fmt="o",
        ms=3,
        capsize=0,
    )
    ax.axvline(0.0, color="grey", lw=0.8, ls="--")
    if len(frame) <= 40:
        ax.set_yticks(y, [str(i) for i in frame.index])
    ax.set_xlabel(f"Entity effect ({level:.0%} interval)")
    return fig


def shrinkage_plot(result: Any) -> Figure:
    """No-pooling estimate (entity mean residual) → BLUP per entity; point size by Tᵢ.

    Examples
    --------
    >>> import panelre as pr
    >>> from panelre.plots import shrinkage_plot
    >>> re = pr.random_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                        entity="firm", time="year")
    >>> len(shrinkage_plot(re).axes)
    1
    """
    vc = result.variance_components
    if vc is None:
        raise InvalidParameterError("shrinkage_plot() needs a random-effects result.")
    st = result.source.stats
    names = list(result.params.index)
    coef = np.zeros(st.width)
    coef[0] = 1.0
    coef[[1 + result.source.x_names.index(n) for n in names]] = -result.params.to_numpy()
    raw = st.entity.means @ coef  # entity means of the residuals y − x'b
    blup = result.effects.to_numpy()
    counts = st.entity.counts
    fig = new_figure(6.0, 4.0)
    ax = fig.subplots()
    for a, b in zip(raw, blup):
        ax.plot([0, 1], [a, b], color="grey", lw=0.6)
    size = 20 + 80 * counts / counts.max()
    ax.scatter(np.zeros_like(raw), raw, s=size, label="no pooling (mean residual)")
    ax.scatter(np.ones_like(blup), blup, s=size, label="BLUP (partial pooling)")
    ax.set_xticks([0, 1], ["no pooling", "partial pooling"])
    ax.set_ylabel("Entity effect")
    ax.legend(loc="best", fontsize="small")
    return fig


def residual_plot(result: Any) -> Figure:
    """Residuals against fitted values.

    Examples
    --------
    >>> import panelre as pr
    >>> from panelre.plots import residual_plot
    >>> fe = pr.fixed_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                       entity="firm", time="year")
    >>> residual_plot(fe).axes[0].get_ylabel()
    'Residual'
    """
    fig = new_figure(6.0, 4.0)
    ax = fig.subplots()
    ax.scatter(result.fitted_values.to_numpy(), result.resids.to_numpy(), s=8, alpha=0.6)
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("Fitted value")
    ax.set_ylabel("Residual")
    return fig
