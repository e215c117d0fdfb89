"""Plots of a mixed model (matplotlib is imported lazily, inside each function)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = ["plot_shrinkage", "plot_random_effects"]


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
    fig.colorbar(pts, ax=ax, label="group size")
    ax.legend(loc="upper left", fontsize="small")
    return fig


def plot_random_effects(effects: pd.DataFrame, se: pd.DataFrame, level: float, ax=None):
    """Caterpillar plot: BLUPs sorted within each term with ``level`` conditional intervals."""
    import matplotlib.pyplot as plt

    names = list(effects.columns)
    height = max(3.0, 0.18 * len(effects) + 1.0)
    if ax is None:
        fig, axes = plt.subplots(1, len(names), figsize=(3.5 * len(names), height), squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(ax)
        fig = axes[0].figure
    z = sps.norm.ppf(0.5 + level / 2)
    for axis, name in zip(axes, names, strict=True):
        order = np.argsort(effects[name].to_numpy(), kind="stable")
        est = effects[name].to_numpy()[order]
        half = z * se[name].to_numpy()[order]
        pos = np.arange(est.size)
        axis.errorbar(est, pos, xerr=half, fmt="o", ms=3, lw=1, capsize=0)
        axis.axvline(0.0, color="grey", lw=0.8, ls="--")
        axis.set_yticks(pos)
        axis.set_yticklabels([str(v) for v in effects.index[order]], fontsize="x-small")
        axis.set_title(name)
        axis.set_xlabel(f"BLUP ± {100 * level:g}% interval")
    axes[0].set_ylabel(str(effects.index.name or "group"))
    fig.tight_layout()
    return fig
