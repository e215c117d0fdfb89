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


def _number(value: float, digits: int) -> str:
    """``value`` to ``digits`` decimals, never ``-0.00``."""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def forest_plot(
    result: MetaAnalysisResults,
    *,
    transform: Any = None,
    xlabel: str = "Effect size",
    show_weights: bool = True,
    digits: int = 2,
    ax: Any = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Forest plot: each study's estimate and CI (marker area proportional to its weight),
    the pooled estimate as a diamond and, for random-effects models, the prediction
    interval; columns headed Study, Weight and Estimate [CI] as in metafor's ``forest``.

    Parameters
    ----------
    result : MetaAnalysisResults
        A model without moderators.
    transform : callable, optional
        Applied to estimates and interval ends before plotting and printing (e.g.
        ``numpy.exp`` for ratios); the x axis is then logarithmic, with ticks at 1, 2 and
        5 times powers of ten written as plain numbers.
    xlabel : str
        Label of the x axis.
    show_weights : bool, default True
        Print the weights (percent) and the estimates with CIs in columns at the right.
    digits : int, default 2
        Decimals of the printed estimates.
    ax : matplotlib Axes, optional
        Draw into this axes (the columns of text go to its right); default a new figure.
    figsize : tuple, optional
        Size of a new figure in inches; default 7 inches wide (a page's text width) and
        0.26 inches per row.

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
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    f = transform if transform is not None else (lambda x: x)
    table = result.study_intervals()
    k = result.k
    extra = 1 if result.pi is not None else 0
    model = "FE model" if result.method == "FE" else f"RE model ({result.method})"
    names = [str(s) for s in table.index] + [model]
    if result.pi is not None:
        names.append(f"{result.level:.0%} prediction interval")
    if ax is None:
        size = figsize or (7.0, 1.0 + 0.26 * (k + 3 + extra))
        fig, ax = plt.subplots(figsize=size)
        left = min(0.4, 0.04 + 0.0105 * max(len(n) for n in names) * 7.0 / size[0])
        fig.subplots_adjust(left=left, right=0.64 if show_weights else 0.95, top=0.9)
    else:
        fig = ax.figure
    rows = np.arange(k, 0, -1) + 1.0
    ax.hlines(rows, f(table.lower), f(table.upper), color="0.2", lw=1)
    area = 12 + 120 * table.weight.to_numpy() / table.weight.max()
    ax.scatter(f(table.yi), rows, s=area, marker="s", color="0.25", zorder=3)
    lo, hi = result.ci
    est = result.estimate
    ax.fill([f(lo), f(est), f(hi), f(est)], [0, 0.3, 0, -0.3], color="black", zorder=3)
    ticks = list(rows) + [0.0]
    if result.pi is not None:
        ax.hlines(-0.8, f(result.pi[0]), f(result.pi[1]), color="tab:blue", lw=2)
        ticks.append(-0.8)
    ax.axvline(f(0.0), color="0.6", ls="--", lw=0.8)
    ax.set_yticks(ticks, names)
    ax.tick_params(axis="y", length=0, pad=6)
    ax.set_ylim(-1.4 if extra else -0.8, k + 2.7)
    ax.set_xlabel(xlabel)
    if transform is not None and np.all(f(table.lower.to_numpy()) > 0):
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    header_y = k + 2.3
    ax.annotate(
        "Study",
        xy=(0.0, header_y),
        xycoords=("axes fraction", "data"),
        xytext=(-6, 0),
        textcoords="offset points",
        ha="right",
        va="center",
        weight="bold",
    )
    if show_weights:
        edge = ax.get_position().x1
        places = (edge + 0.02, edge + 0.12)  # figure fractions right of the axes

        def text(x: float, y: float, label: str, **style: Any) -> None:
            ax.annotate(
                label,
                xy=(x, y),
                xycoords=("figure fraction", "data"),
                va="center",
                annotation_clip=False,
                **style,
            )

        text(places[0], header_y, "Weight", weight="bold")
        text(places[1], header_y, f"Estimate [{result.level:.0%} CI]", weight="bold")
        weights = [f"{w:.1f}%" for w in table.weight] + ["100.0%"]
        values = [
            f"{_number(f(y), digits)} [{_number(f(a), digits)}, {_number(f(b), digits)}]"
            for y, a, b in zip(table.yi, table.lower, table.upper, strict=True)
        ] + [f"{_number(f(est), digits)} [{_number(f(lo), digits)}, {_number(f(hi), digits)}]"]
        if result.pi is not None:
            weights.append("")
            pi_lo, pi_hi = (_number(f(v), digits) for v in result.pi)
            values.append(f"[{pi_lo}, {pi_hi}]")
        for y, w, v in zip(ticks, weights, values, strict=True):
            text(places[0], y, w)
            text(places[1], y, v)
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.set_title(
        f"k = {k},  τ² = {result.tau2:.3g},  I² = {result.i2:.1f}%", fontsize="medium", loc="left"
    )
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
