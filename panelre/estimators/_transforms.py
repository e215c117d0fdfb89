"""The panel transforms as row maps over sufficient statistics: within (entity, time,
two-way, exact on unbalanced panels) and the group effects they imply.

Two-way demeaning on unbalanced panels partials out the period dummies through their
T x T normal equations ``(C_t − F'C_e⁻¹F) h = S_t − F'z̄_e`` (the incidence products come
from the backend), then demeans by entity: ``z** = z − h[t] − (z − h)̄ᵢ``. With
observation weights C are the group sums of the weights, F holds the weight of each
entity-period cell and the means are weighted: the weighted two-way LSDV, exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from panelre.stats import PanelSource, PanelStats, RowMap, cross

__all__ = [
    "within",
    "within_map",
    "period_gram",
    "twoway_gram",
    "twoway_effects",
    "n_effects",
    "effect_dims",
]


def effect_dims(effects: str) -> list[str]:
    """The grouping dimensions of ``effects``."""
    return ["entity", "time"] if effects == "twoway" else [effects]


def n_effects(stats: PanelStats, effects: str) -> int:
    """Number of estimated effects (N, T or N + T − 1)."""
    return {
        "entity": stats.n_entities,
        "time": stats.n_periods,
        "twoway": stats.n_entities + stats.n_periods - 1,
    }[effects]


def period_gram(stats: PanelStats) -> np.ndarray:
    """``C_t − F' C_e⁻¹ F``: the normal equations of the period dummies after entity
    demeaning."""
    time = stats.groups("time")
    return np.diag(time.weights) - stats.pattern().time_gram(1.0 / stats.entity.weights)


def within_map(stats: PanelStats, effects: str, gram: np.ndarray | None = None) -> RowMap:
    """The within transform of every column of z for ``effects`` (two-way: ``gram`` is
    ``period_gram(stats)`` when already known)."""
    p = stats.width
    if effects == "entity":
        return RowMap(np.eye(p), entity_table=stats.entity.means)
    if effects == "time":
        return RowMap(np.eye(p), time_table=stats.groups("time").means)
    pattern = stats.pattern()
    c_e = stats.entity.weights
    if gram is None:
        gram = period_gram(stats)
    rhs = stats.groups("time").sums - pattern.to_time(stats.entity.means)
    H = np.linalg.lstsq(gram, rhs, rcond=None)[0]
    O = (stats.entity.sums - pattern.to_entity(H)) / c_e[:, None]
    return RowMap(np.eye(p), time_table=H, entity_table=O)


def twoway_gram(source: PanelSource) -> np.ndarray:
    """``period_gram`` of the source, computed once."""
    return source.memo("period_gram", lambda: period_gram(source.stats))


def within(source: PanelSource, effects: str) -> tuple[RowMap, np.ndarray]:
    """The within map of the source's columns and its cross-products ``Σ z̃ z̃'`` (computed
    once per source and shared by the estimators and tests that need them)."""

    def compute() -> tuple[RowMap, np.ndarray]:
        W = within_map(source.stats, effects, twoway_gram(source) if effects == "twoway" else None)
        gram = cross(source.stats, W, W)
        return W, (gram + gram.T) / 2

    return source.memo(f"within:{effects}", compute)


def twoway_effects(
    stats: PanelStats, transform: RowMap, coef: np.ndarray, gram: np.ndarray | None = None
) -> tuple[pd.Series, pd.Series]:
    """Entity and period effects of a two-way within fit with coefficients ``coef`` over z
    (``(1, −b)``): the per-row effect ``h_u[t] + o_u[i]`` split into αᵢ + γₜ with γ of
    observation-weighted mean zero (the entity effects carry the level; with observation
    weights, weighted by the weights)."""
    c_e, c_t = stats.entity.weights, stats.groups("time").weights
    Hu = transform.time_table @ coef  # type: ignore[operator]
    au = transform.entity_table @ coef  # type: ignore[operator]
    if gram is None:
        gram = period_gram(stats)
    gamma = np.linalg.lstsq(gram, gram @ Hu, rcond=None)[0]
    gamma = gamma - np.average(gamma, weights=c_t)
    alpha = au + stats.pattern().to_entity((Hu - gamma)[:, None])[:, 0] / c_e
    return (
        pd.Series(alpha, index=stats.entity.labels, name="effects"),
        pd.Series(gamma, index=stats.groups("time").labels, name="time_effects"),
    )
