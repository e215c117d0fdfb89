"""Forest and funnel plots of a meta-analysis (matplotlib is imported only when called)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from panelre.meta.results import MetaAnalysisResults

__all__ = ["forest_plot", "funnel_plot"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Plots need matplotlib: pip install 'panelre[plot]'.") from exc
    return plt


def forest_plot(
    result: MetaAnalysisResults,
    *,
    transform: Any = None,
    xlabel: str = "Effect size",
    show_weights: bool = True,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Forest plot: each study's estimate and CI (marker area proportional to its weight),
    the pooled estimate as a diamond and, for random-effects models, the prediction interval.

    Parameters
    ----------
    result : MetaAnalysisResults
        A model without moderators.
    transform : callable, optional
        Applied to estimates and interval ends before plotting (e.g. ``numpy.exp`` for
        ratios); the x axis is then logarithmic when all values are positive.
    xlabel : str
        Label of the x axis.
    show_weights : bool, default True
        Print weights (percent) and estimates with CIs at the right.
    figsize : tuple, optional
        Figure size in inches; default grows with the number of studies.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from panelre.datasets import load
    >>> from panelre.meta import effect_size, meta_analysis
    >>> es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load("bcg"))
    >>> fig = meta_analysis(es.yi, es.vi).forest_plot(transform=np.exp, xlabel="Risk ratio")
    >>> len(fig.axes)
    1
    """
    if not result.studies.int_only:
        raise ValueError("forest_plot() needs a model without moderators.")
    plt = _pyplot()
    f = transform if transform is not None else (lambda x: x)
    table = result.study_intervals()
    k = result.k
    fig, ax = plt.subplots(figsize=figsize or (8.0, 1.5 + 0.32 * (k + 3)))
    rows = np.arange(k, 0, -1) + 1.0
    ax.hlines(rows, f(table.lower), f(table.upper), color="0.2", lw=1)
    size = 20 + 300 * table.weight.to_numpy() / table.weight.max()
    ax.scatter(f(table.yi), rows, s=size, marker="s", color="0.3", zorder=3)
    lo, hi = result.ci
    est = result.estimate
    ax.fill([f(lo), f(est), f(hi), f(est)], [0, 0.3, 0, -0.3], color="black", zorder=3)
    ticks = list(rows) + [0.0]
    names = [str(s) for s in table.index] + [
        f"{'FE' if result.method == 'FE' else 'RE'} model ({result.method})"
    ]
    if result.pi is not None:
        ax.hlines(-0.8, f(result.pi[0]), f(result.pi[1]), color="tab:blue", lw=2)
        ticks.append(-0.8)
        names.append(f"{result.level:.0%} prediction interval")
    ax.axvline(f(0.0), color="0.6", ls="--", lw=0.8)
    ax.axvline(f(est), color="0.3", ls=":", lw=0.8)
    ax.set_yticks(ticks, names)
    ax.set_ylim(-1.4, k + 1.8)
    ax.set_xlabel(xlabel)
    if transform is not None and np.all(f(table.lower.to_numpy()) > 0):
        ax.set_xscale("log")
    if show_weights:
        texts = [
            f"{w:5.1f}%  {f(y):6.2f} [{f(a):.2f}, {f(b):.2f}]"
            for w, y, a, b in zip(table.weight, table.yi, table.lower, table.upper, strict=True)
        ]
        texts.append(f"100.0%  {f(est):6.2f} [{f(lo):.2f}, {f(hi):.2f}]")
        for y, t in zip(list(rows) + [0.0], texts, strict=True):
            ax.annotate(
                t,
                xy=(1.02, y),
                xycoords=("axes fraction", "data"),
                va="center",
                fontsize="small",
                family="monospace",
            )
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.set_title(f"Forest plot (k = {k}, tau^2 = {result.tau2:.3g}, I^2 = {result.i2:.1f}%)")
    fig.tight_layout()
    return fig


def funnel_plot(
    result: MetaAnalysisResults,
    *,
    xlabel: str = "Effect size",
    figsize: tuple[float, float] = (6.0, 5.0),
) -> Figure:
    """Funnel plot: effect sizes against their standard errors (inverted axis) with the
    pooled estimate and pseudo-confidence limits ``estimate +/- z * se`` (as metafor's
    ``funnel``; for meta-regressions, residuals around 0 are plotted).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from panelre.datasets import load
    >>> from panelre.meta import effect_size, meta_analysis
    >>> es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load("bcg"))
    >>> fig = meta_analysis(es.yi, es.vi, method="DL").funnel_plot()
    >>> fig.axes[0].get_ylabel()
    'Standard error'
    """
    from scipy import stats

    plt = _pyplot()
    studies = result.studies
    se = np.sqrt(studies.v)
    if studies.int_only:
        center, y = float(result.estimate), studies.y
    else:
        center, y = 0.0, studies.y - studies.X @ result.estimate.to_numpy()
        xlabel = "Residual"
    fig, ax = plt.subplots(figsize=figsize)
    top = se.max() * 1.05
    grid = np.linspace(0.0, top, 50)
    z = stats.norm.ppf(0.5 + result.level / 2)
    ax.fill_betweenx(grid, center - z * grid, center + z * grid, color="0.93")
    ax.plot(center - z * grid, grid, color="0.5", lw=0.8)
    ax.plot(center + z * grid, grid, color="0.5", lw=0.8)
    ax.axvline(center, color="0.2", lw=1)
    ax.scatter(y, se, color="black", zorder=3, s=20)
    ax.set_ylim(top, 0.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Standard error")
    fig.tight_layout()
    return fig
