"""Plots of a mixed model (matplotlib is imported lazily, inside each function)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = ["plot_shrinkage", "plot_coefficient_shrinkage", "plot_random_effects"]


def _figure(ax, size):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=size)
        return fig, ax
    return ax.figure, ax


def plot_shrinkage(table: pd.DataFrame, group_name: str, ax=None):
    """No-pooling estimate (x) against BLUP (y) per group, coloured by group size.

    Points below the identity line in absolute value show shrinkage towards 0; small groups
    shrink most.
    """
    fig, ax = _figure(ax, (6.0, 5.0))
    x, y = table["no_pooling"].to_numpy(), table["blup"].to_numpy()
    pts = ax.scatter(x, y, c=table["n"].to_numpy(), cmap="viridis", zorder=3)
    lim = np.nanmax(np.abs(np.r_[x, y])) * 1.05 or 1.0
    ax.plot([-lim, lim], [-lim, lim], color="grey", lw=1, ls="--", label="no shrinkage")
    ax.axhline(0.0, color="black", lw=0.8, label="complete pooling")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("No-pooling estimate (group mean residual)")
    ax.set_ylabel("BLUP (partial pooling)")
    ax.set_title(f"Shrinkage of {group_name} effects")
    bar = fig.colorbar(pts, ax=ax, label="group size")
    from matplotlib.ticker import MaxNLocator

    bar.locator = MaxNLocator(integer=True)  # group sizes are whole numbers
    bar.update_ticks()
    ax.legend(loc="upper left", fontsize="small")
    return fig


def plot_coefficient_shrinkage(table: pd.DataFrame, population: list[float], ax=None):
    """Per-group coefficients of the first two random terms: an arrow from each group's
    own fit (open circle) to its conditional coefficients (dot), the population estimate
    as a cross. ``table`` is ``MixedResults.group_coefficients()``."""
    fig, ax = _figure(ax, (6.0, 5.0))
    terms = list(table["no_pooling"].columns[:2])
    own = table["no_pooling"][terms].to_numpy()
    pooled = table["partial_pooling"][terms].to_numpy()
    for (x0, y0), (x1, y1) in zip(own, pooled, strict=True):
        if np.isfinite(x0) and np.isfinite(y0):
            ax.annotate(
                "",
                xy=(x1, y1),
                xytext=(x0, y0),
                arrowprops={"arrowstyle": "->", "color": "0.55", "lw": 0.8},
            )
    ax.scatter(own[:, 0], own[:, 1], facecolors="none", edgecolors="tab:blue", label="own fit")
    ax.scatter(pooled[:, 0], pooled[:, 1], color="tab:orange", s=18, zorder=3, label="conditional")
    ax.scatter(
        [population[0]],
        [population[1]],
        marker="X",
        s=90,
        color="black",
        zorder=4,
        label="population",
    )
    ax.set_xlabel(terms[0])
    ax.set_ylabel(terms[1])
    ax.set_title(f"Shrinkage of {table.index.name} coefficients")
    ax.legend(loc="best", fontsize="small")
    return fig


def plot_random_effects(
    factors: list[tuple[pd.DataFrame, pd.DataFrame]],
    level: float,
    ax=None,
    n_extremes: int | None = None,
):
    """Caterpillar plot: for each grouping factor (a row of panels) and each of its random
    effects (a panel), the BLUPs with ``level`` conditional intervals, the levels sorted by
    the factor's first effect in every panel (one row per level across the panels).

    ``factors`` holds one ``(effects, se)`` pair of DataFrames per factor (levels x effects).
    Level labels are written when a factor has at most 60 levels. ``n_extremes`` keeps
    only the n lowest and n highest levels of each factor (a dotted line between them).
    """
    if n_extremes is not None:
        trimmed: list[tuple[pd.DataFrame, pd.DataFrame]] = []
        for effects, se in factors:
            if len(effects) > 2 * n_extremes:
                first = effects.columns[0]
                order = np.argsort(effects[first].to_numpy(), kind="stable")
                keep = np.r_[order[:n_extremes], order[-n_extremes:]]
                trimmed.append((effects.iloc[list(keep)], se.iloc[list(keep)]))
            else:
                trimmed.append((effects, se))
        factors = trimmed
    import matplotlib.pyplot as plt

    width = max(len(effects.columns) for effects, _ in factors)
    heights = [min(12.0, max(2.5, 0.18 * len(effects) + 1.0)) for effects, _ in factors]
    if ax is None:
        fig, grid = plt.subplots(
            len(factors),
            width,
            figsize=(3.5 * width, sum(heights)),
            squeeze=False,
            gridspec_kw={"height_ratios": heights},
        )
    else:
        axes = np.atleast_1d(ax)
        if axes.size != len(factors) * width:
            raise ValueError(
                f"'ax' must hold {len(factors) * width} axes ({len(factors)} factor(s) x "
                f"{width} effect(s)); got {axes.size}."
            )
        grid = axes.reshape(len(factors), width)
        fig = grid[0, 0].figure
    z = sps.norm.ppf(0.5 + level / 2)
    for row, (effects, se) in zip(grid, factors, strict=True):
        names = list(effects.columns)
        for axis in row[len(names) :]:
            axis.set_visible(False)
        # one order for all panels of a factor (by its first effect), so that a level sits
        # on the same row in each panel
        order = np.argsort(effects[names[0]].to_numpy(), kind="stable")
        for axis, name in zip(row, names, strict=False):
            est = effects[name].to_numpy()[order]
            half = z * se[name].to_numpy()[order]
            pos = np.arange(est.size)
            many = est.size > 60
            axis.errorbar(
                est, pos, xerr=half, fmt="." if many else "o", ms=2 if many else 3, lw=0.6
            )
            axis.axvline(0.0, color="grey", lw=0.8, ls="--")
            if n_extremes is not None and est.size == 2 * n_extremes:
                axis.axhline(n_extremes - 0.5, color="grey", lw=0.8, ls=":")
            if many:
                axis.set_yticks([])
            else:
                axis.set_yticks(pos)
                axis.set_yticklabels([str(v) for v in effects.index[order]], fontsize="x-small")
            axis.set_title(f"{effects.index.name}: {name}" if len(factors) > 1 else name)
            axis.set_xlabel(f"BLUP ± {100 * level:g}% interval")
        row[0].set_ylabel(str(effects.index.name or "group"))
    fig.tight_layout()
    return fig
