"""Panel unit-root tests (R plm's ``purtest`` and ``cipstest``): Im–Pesaran–Shin,
Levin–Lin–Chu, Maddala–Wu, Choi, Hadri and Pesaran's CIPS.

Every entity's augmented Dickey–Fuller regression is solved at once: the series are laid
out side by side (entity x position, NaN past each series' end) and the normal equations of
all entities are formed and solved as one batch, with no loop over entities.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from panelre._validation import check_option
from panelre._warnings import warn
from panelre.exceptions import (
    DataError,
    InsufficientDataError,
    InvalidParameterError,
    MissingValueWarning,
    PanelreWarning,
)
from panelre.panel import PanelData
from panelre.results import TestResult
from panelre.stats import in_memory, is_lazy_frame

__all__ = ["unit_root", "UNIT_ROOT_TESTS"]

UNIT_ROOT_TESTS = ("ips", "llc", "madwu", "choi", "hadri", "cips")
_ALIASES = {"levinlin": "llc", "invnormal": "choi", "im-pesaran-shin": "ips"}
_TRENDS = {"n": "none", "c": "intercept", "ct": "trend"}
_LAG_RULES = ("aic", "sic", "hall")

# MacKinnon (1994) response surfaces for the p-value of the ADF t statistic (Table 3, as
# R plm's padf): below the limit a quadratic, above it a cubic, in the statistic.
_SMALL = {"none": (0.6344, 1.2378, 0.032496), "intercept": (2.1659, 1.4412, 0.038269),
          "trend": (3.2512, 1.6047, 0.049588)}  # fmt: skip
_LARGE = {"none": (0.4797, 0.93557, -0.06999, 0.033066),
          "intercept": (1.7339, 0.93202, -0.12745, -0.010368),
          "trend": (2.5261, 0.61654, -0.37956, -0.060285)}  # fmt: skip
_LIMIT = {"none": -1.04, "intercept": -1.61, "trend": -2.89}


def adf_pvalue(t: np.ndarray, deterministic: str) -> np.ndarray:
    """MacKinnon's (1994) asymptotic p-value of Dickey–Fuller t statistics.

    Examples
    --------
    >>> round(float(adf_pvalue(np.array([-2.86]), "intercept")[0]), 3)
    0.05
    """
    t = np.asarray(t, dtype=float)
    small = np.polyval(_SMALL[deterministic][::-1], t)
    large = np.polyval(_LARGE[deterministic][::-1], t)
    return np.asarray(stats.norm.cdf(np.where(t <= _LIMIT[deterministic], small, large)))


@cache
def _tables() -> dict[str, Any]:
    text = resources.files("panelre.specification").joinpath("data/unit_root_tables.json")
    return dict(json.loads(text.read_text()))


def _interpolate(grid: list[float], values: np.ndarray, length: float) -> np.ndarray:
    """Linear interpolation in T of tabulated values (clamped, with a warning, as plm)."""
    if length < grid[0] or length > grid[-1]:
        warn(
            f"The series ({length:g} usable periods) are outside the tabulated range "
            f"{grid[0]:g}-{grid[-1]:g}; the nearest entry is used.",
            PanelreWarning,
        )
    return np.array([np.interp(length, grid, row) for row in values])


@dataclass(frozen=True)
class _Series:
    """The series side by side: ``y`` (N, T) left-aligned, ``length`` (N,) observed values."""

    y: np.ndarray
    length: np.ndarray
    labels: pd.Index


def _panel(data: Any, column: Hashable, entity: Hashable, time: Hashable) -> PanelData:
    """The panel of ``column`` (computed in memory when the frame is lazy)."""
    if is_lazy_frame(data):
        data = in_memory(data[[entity, time, column]])
    panel = PanelData(data, entity=entity, time=time)
    if column not in panel.frame.columns:
        raise InvalidParameterError(
            f"unit_root() needs a column of the data. Got {column!r}; the columns are "
            f"{list(panel.frame.columns)}."
        )
    return panel


def _series(data: Any, column: Hashable, entity: Hashable, time: Hashable) -> _Series:
    panel = _panel(data, column, entity, time)
    frame = panel.frame
    order = panel.order  # by entity, then time
    values = frame[column].to_numpy(dtype=float)[order]
    keep = np.isfinite(values)
    if not keep.all():
        warn(f"{int((~keep).sum())} missing values of {column!r} dropped.", MissingValueWarning)
    codes = panel.entity_codes[order][keep]
    values = values[keep]
    n = panel.n_entities
    length = np.bincount(codes, minlength=n)
    start = np.r_[0, np.cumsum(length)[:-1]]
    position = np.arange(codes.size) - start[codes]
    y = np.full((n, int(length.max())), np.nan)
    y[codes, position] = values
    return _Series(y, length.astype(int), panel.entity_labels)


@dataclass(frozen=True)
class _ADF:
    """The ADF regressions of every entity: t statistic of ρ, its p-value, σ, and the
    rows and lags used."""

    t: np.ndarray
    pvalue: np.ndarray
    sigma: np.ndarray
    nobs: np.ndarray
    lags: np.ndarray
    X: np.ndarray
    dy: np.ndarray
    valid: np.ndarray


def _design(s: _Series, lags: np.ndarray, first: np.ndarray, deterministic: str) -> tuple:
    """ADF regressors (N, T, K) for per-entity ``lags`` (all padded to the largest), the
    response Δy, and the rows used (position ≥ ``first`` and within the series)."""
    n, T = s.y.shape
    dy = np.full((n, T), np.nan)
    dy[:, 1:] = np.diff(s.y, axis=1)
    ly = np.full((n, T), np.nan)
    ly[:, 1:] = s.y[:, :-1]
    p_max = int(lags.max()) if lags.size else 0
    columns = [ly]
    for j in range(1, p_max + 1):  # a loop over lags
        lagged = np.full((n, T), np.nan)
        lagged[:, j:] = dy[:, :-j]
        columns.append(np.where((j <= lags)[:, None], lagged, 0.0))
    if deterministic in ("intercept", "trend"):
        columns.append(np.ones((n, T)))
    if deterministic == "trend":
        columns.append(np.broadcast_to(np.arange(1, T + 1, dtype=float), (n, T)))
    X = np.stack(columns, axis=2)
    position = np.arange(T)[None, :]
    valid = (position >= first[:, None]) & (position < s.length[:, None])
    return X, dy, valid


def _fit(X: np.ndarray, dy: np.ndarray, valid: np.ndarray, n_regressors: np.ndarray) -> tuple:
    """Batched OLS of Δy on X over the valid rows: coefficients, rss, rows, (X'X)⁻¹."""
    Xv = np.where(valid[:, :, None], X, 0.0)
    Xv = np.nan_to_num(Xv)
    yv = np.where(valid, np.nan_to_num(dy), 0.0)
    xtx = np.einsum("ntk,ntl->nkl", Xv, Xv)
    k = X.shape[2]
    unused = np.all(Xv == 0, axis=1)  # padded lag columns of entities with fewer lags
    xtx[:, np.arange(k), np.arange(k)] += unused
    xty = np.einsum("ntk,nt->nk", Xv, yv)
    inv = np.linalg.inv(xtx)
    coef = np.einsum("nkl,nl->nk", inv, xty)
    resid = yv - np.einsum("ntk,nk->nt", Xv, coef)
    rss = np.sum(resid**2 * valid, axis=1)
    nobs = valid.sum(axis=1)
    if np.any(nobs <= n_regressors):
        raise InsufficientDataError(
            "Some series are too short for their ADF regression: "
            f"{int(nobs.min())} usable periods for {int(n_regressors.max())} coefficients."
        )
    return coef, rss, nobs, inv


def _n_regressors(lags: np.ndarray, deterministic: str) -> np.ndarray:
    return 1 + lags + {"none": 0, "intercept": 1, "trend": 2}[deterministic]


def _select_lags(s: _Series, rule: str, pmax: int, deterministic: str) -> np.ndarray:
    """Per-entity lag order by AIC, SIC or Hall's general-to-specific rule, over 0..pmax on
    the same rows (plm's ``lagsel`` with ``fixedT=TRUE``)."""
    n = s.y.shape[0]
    first = np.full(n, pmax + 1)
    criteria = np.empty((n, pmax + 1))
    last_t = np.empty((n, pmax + 1))
    for p in range(pmax + 1):  # a loop over candidate lag orders
        lags = np.full(n, p)
        X, dy, valid = _design(s, lags, first, deterministic)
        k = _n_regressors(lags, deterministic)
        coef, rss, nobs, inv = _fit(X, dy, valid, k)
        penalty = 2 * k / nobs if rule == "aic" else k * np.log(nobs) / nobs
        criteria[:, p] = np.log(rss / nobs) + penalty
        se = np.sqrt(rss / nobs * inv[:, p, p]) if p > 0 else np.ones(n)
        last_t[:, p] = coef[:, p] / se if p > 0 else np.inf
    if rule in ("aic", "sic"):
        # plm scans from pmax down and keeps the first minimum
        return pmax - np.argmin(criteria[:, ::-1], axis=1)
    # Hall: the largest p whose last lag is significant (|t| ≥ 1.96), else 0
    significant = np.abs(last_t) >= 1.96
    significant[:, 0] = True
    return pmax - np.argmax(significant[:, ::-1], axis=1)


def _adf(s: _Series, lags: np.ndarray, deterministic: str, df_correction: bool) -> _ADF:
    X, dy, valid = _design(s, lags, lags + 1, deterministic)
    k = _n_regressors(lags, deterministic)
    coef, rss, nobs, inv = _fit(X, dy, valid, k)
    sigma = np.sqrt(rss / (nobs - k if df_correction else nobs))
    t = coef[:, 0] / (sigma * np.sqrt(inv[:, 0, 0]))
    return _ADF(t, adf_pvalue(t, deterministic), sigma, nobs, lags, X, dy, valid)


def unit_root(
    data: Any,
    column: Hashable,
    *,
    entity: Hashable,
    time: Hashable,
    test: str = "ips",
    lags: int | str = 1,
    trend: str = "c",
    pmax: int = 10,
    df_correction: bool = False,
) -> TestResult:
    """Panel unit-root test of one variable (R plm ``purtest``).

    Parameters
    ----------
    data : DataFrame (pandas, polars or Dask)
    column : str
        The variable tested.
    entity, time : str
        Panel identifiers; each entity's observations, ordered by time, form its series.
    test : {"ips", "llc", "madwu", "choi", "hadri", "cips"}
        - ``"ips"``: Im, Pesaran & Shin (2003) W(t̄) from the entities' ADF t statistics,
          standardised with their tabulated moments (IPS Table 3). H0: every series has a
          unit root; H1: some are stationary. Unbalanced panels allowed.
        - ``"llc"``: Levin, Lin & Chu (2002) pooled ADF t statistic, adjusted with their
          Table 2 (balanced panels). H1: all series stationary with a common ρ.
        - ``"madwu"``: Maddala & Wu (1999) Fisher test, −2 Σ log pᵢ ~ χ²(2N).
        - ``"choi"``: Choi's (2001) inverse-normal Z = Σ Φ⁻¹(pᵢ)/√N.
        - ``"hadri"``: Hadri's (2000) LM test, heteroskedasticity-consistent. H0: every
          series is stationary (the reverse of the others); balanced panels.
        - ``"cips"``: Pesaran's (2007) CIPS, the mean t statistic of cross-sectionally
          augmented ADF regressions (each entity's regression adds the period means of Δy,
          y₋₁ and the lagged Δy), robust to a common factor; p-value interpolated in
          Pesaran's Table II and bounded to [0.01, 0.10] (plm ``cipstest``; needs
          N, T ≥ 10). ``lags`` is a fixed number, 1 or more.
        Case-insensitive; plm's names ``"levinlin"`` and ``"invnormal"`` are accepted.
    lags : int or {"aic", "sic", "hall"}
        ADF lag order of every series, or chosen per series over 0..``pmax`` (on the same
        rows, as plm's ``fixedT=TRUE``).
    trend : {"n", "c", "ct"}
        Deterministic terms: none, an intercept, an intercept and a linear trend.
    pmax : int
        Largest lag order considered by ``"aic"``, ``"sic"`` and ``"hall"``.
    df_correction : bool
        σ² of each ADF regression as e'e/(n − K) instead of e'e/n (plm's ``dfcor``; its
        default is False, which makes the tests reject too often in short series: see
        docs/diagnostics.md).

    Returns
    -------
    TestResult
        z statistics (normal p-values; IPS, LLC and Choi reject for small values, Hadri for
        large ones) or χ²(2N) for Maddala–Wu.

    Raises
    ------
    InvalidParameterError
        For an unknown option or column.
    InsufficientDataError
        Series too short for their ADF regressions.
    DataError
        ``"llc"`` or ``"hadri"`` on an unbalanced panel, ``"ips"`` with ``trend="n"``.

    Notes
    -----
    The ADF p-values are MacKinnon's (1994) response surface, as plm without the
    ``urca`` package (``p.approx = "MacKinnon1994"``); with ``urca`` installed plm uses
    MacKinnon (1996) by default, whose p-values differ in the third digit. σ² of each
    regression is e'e/n (plm's ``dfcor = FALSE``).

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> t = pr.unit_root(g, "inv", entity="firm", time="year", test="ips", lags=1)
    >>> t.name
    'Im-Pesaran-Shin unit-root test'
    """
    test = check_option("test", test, UNIT_ROOT_TESTS, _ALIASES)
    deterministic = _TRENDS[check_option("trend", trend, tuple(_TRENDS))]
    if isinstance(pmax, bool) or not isinstance(pmax, (int, np.integer)) or pmax < 0:
        raise InvalidParameterError(f"'pmax' must be a non-negative integer. Got {pmax!r}.")
    s = _series(data, column, entity, time)
    balanced = bool(np.all(s.length == s.length[0]))
    if test in ("llc", "hadri") and not balanced:
        raise DataError(
            f"test={test!r} needs a balanced panel (every entity observed equally often); "
            "use 'ips', 'madwu' or 'choi' on unbalanced panels."
        )
    if test == "hadri":
        return _hadri(s, deterministic)
    if test == "cips":
        if isinstance(lags, str) or isinstance(lags, bool) or int(lags) < 1:
            raise InvalidParameterError(
                f"test='cips' takes a fixed number of lags, 1 or more (plm's default is 2). "
                f"Got lags={lags!r}."
            )
        return _cips(data, column, entity, time, int(lags), deterministic)
    n = s.y.shape[0]
    if isinstance(lags, str):
        rule = check_option("lags", lags, _LAG_RULES)
        lag_orders = _select_lags(s, rule, pmax, deterministic)
    elif isinstance(lags, bool) or not isinstance(lags, (int, np.integer)) or lags < 0:
        raise InvalidParameterError(
            f"'lags' must be a non-negative integer or one of 'aic', 'sic', 'hall'. Got {lags!r}."
        )
    else:
        lag_orders = np.full(n, int(lags))
    adf = _adf(s, lag_orders, deterministic, bool(df_correction))
    null = f"every series of {column!r} has a unit root"
    alternative = f"some series of {column!r} are stationary"
    if test == "ips":
        if deterministic == "none":
            raise DataError("The Im-Pesaran-Shin test needs trend='c' or 'ct'.")
        mean, var = _ips_moments(s.length - lag_orders - 1, lag_orders, deterministic)
        stat = float(np.sqrt(n) * (adf.t.mean() - mean.mean()) / np.sqrt(var.mean()))
        return TestResult("Im-Pesaran-Shin unit-root test", stat, None,
                          float(stats.norm.cdf(stat)), null, alternative,
                          distribution="normal")  # fmt: skip
    if test == "madwu":
        stat = float(-2 * np.sum(np.log(adf.pvalue)))
        return TestResult("Maddala-Wu unit-root test", stat, 2 * n,
                          float(stats.chi2.sf(stat, 2 * n)), null, alternative)  # fmt: skip
    if test == "choi":
        stat = float(np.sum(stats.norm.ppf(adf.pvalue)) / np.sqrt(n))
        return TestResult("Choi's inverse normal unit-root test", stat, None,
                          float(stats.norm.cdf(stat)), null, alternative,
                          distribution="normal")  # fmt: skip
    return _levin_lin_chu(s, adf, deterministic, null, column, bool(df_correction))


def _ips_moments(usable: np.ndarray, lags: np.ndarray, deterministic: str) -> tuple:
    table = _tables()["ips_wtbar"]
    grid = table["T"]
    means = np.array(table[deterministic]["mean"], dtype=float)
    variances = np.array(table[deterministic]["var"], dtype=float)
    if np.any(lags > 8):
        warn("IPS moments are tabulated up to 8 lags; 8 is used beyond.", PanelreWarning)
    rows = np.minimum(lags, 8)
    mean = np.empty(usable.size)
    var = np.empty(usable.size)
    for length in np.unique(usable):  # a loop over distinct series lengths
        at = usable == length
        m = _interpolate(grid, means, float(length))
        v = _interpolate(grid, variances, float(length))
        mean[at], var[at] = m[rows[at]], v[rows[at]]
    if not (np.isfinite(mean).all() and np.isfinite(var).all()):
        raise InsufficientDataError(
            "The IPS moments are not tabulated for so many lags in so short series."
        )
    return mean, var


def _long_run_variance(s: _Series, deterministic: str) -> np.ndarray:
    """Bartlett long-run variance of Δy per entity, q = round(3.21 T^(1/3)) (as plm)."""
    T = int(s.length[0])
    dx = np.diff(s.y, axis=1)
    if deterministic == "intercept":
        dx = dx - dx.mean(axis=1, keepdims=True)
    elif deterministic == "trend":
        trend = np.column_stack([np.ones(T - 1), np.arange(1, T)])
        dx = dx - (trend @ np.linalg.lstsq(trend, dx.T, rcond=None)[0]).T
    q = int(np.floor(3.21 * T ** (1 / 3) + 0.5))
    out = np.sum(dx**2, axis=1) / (T - 1)
    for lag in range(1, q + 1):  # a loop over autocovariance lags
        out += 2 * (1 - lag / (q + 1)) * np.sum(dx[:, lag:] * dx[:, :-lag], axis=1) / (T - 1)
    return out


def _levin_lin_chu(
    s: _Series, adf: _ADF, deterministic: str, null: str, column: Hashable, df_correction: bool
) -> TestResult:
    n, T = s.y.shape[0], int(s.length[0])
    table = _tables()["levinlin"]
    mu, sig = _interpolate(table["T"], np.array(
        [table[deterministic]["mu"], table[deterministic]["sigma"]], dtype=float), float(T)
    )  # fmt: skip
    # Δy and y₋₁ purged of the lagged differences and deterministic terms, over σᵢ
    X = np.nan_to_num(np.where(adf.valid[:, :, None], adf.X[:, :, 1:], 0.0))
    purged = []
    for target in (adf.dy, adf.X[:, :, 0]):
        yv = np.where(adf.valid, np.nan_to_num(target), 0.0)
        if X.shape[2]:
            coef = _fit(X, target, adf.valid, np.full(n, X.shape[2]))[0]
            yv = yv - np.einsum("ntk,nk->nt", X, coef)
        purged.append(np.where(adf.valid, yv, 0.0) / adf.sigma[:, None])
    e, v = purged
    rho = float(np.sum(e * v) / np.sum(v * v))
    rss = float(np.sum((e - rho * v) ** 2 * adf.valid))
    rows = int(adf.valid.sum())
    sd_rho = float(np.sqrt(rss / (rows - 1 if df_correction else rows) / np.sum(v * v)))
    tilde_t = T - adf.lags.mean() - 1
    sigma_eps2 = rss / (n * tilde_t)
    s_bar = float(np.mean(np.sqrt(_long_run_variance(s, deterministic)) / adf.sigma))
    stat = float((rho / sd_rho - n * tilde_t * s_bar / sigma_eps2 * sd_rho * mu) / sig)
    return TestResult("Levin-Lin-Chu unit-root test", stat, None, float(stats.norm.cdf(stat)),
                      null, f"every series of {column!r} is stationary",
                      distribution="normal")  # fmt: skip


def _cips_wide(data: Any, column: Hashable, entity: Hashable, time: Hashable) -> np.ndarray:
    """The variable as an entity x period table (NaN where not observed): CIPS lags by
    period, as plm's ``lag()`` of a panel series."""
    panel = _panel(data, column, entity, time)
    assert panel.time_codes is not None
    wide = np.full((panel.n_entities, panel.n_periods), np.nan)
    wide[panel.entity_codes, panel.time_codes] = panel.frame[column].to_numpy(dtype=float)
    return wide


def _approx_at(x0: float, x1: float, y0: np.ndarray, y1: np.ndarray, at: float) -> np.ndarray:
    """R's ``approx(c(x0, x1), c(y0, y1), n = x1 - x0)$y[at - x0]``: the value at the
    (at − x0)-th of x1 − x0 equally spaced points from x0 to x1 (plm's interpolation of the
    CIPS critical values between tabulated N or T)."""
    m = int(x1 - x0)
    point = x0 + (at - x0 - 1) * (x1 - x0) / (m - 1)
    return y0 + (point - x0) / (x1 - x0) * (y1 - y0)


def _cips_critical_values(n: int, periods: int, kind: str) -> np.ndarray:
    """1 %, 5 % and 10 % critical values of CIPS for N = n, T = periods (Pesaran 2007,
    Table II), interpolated as plm's ``cipstest``."""
    table = _tables()["cips"]
    grid = np.array(table["n"], dtype=float)
    values = np.array(table[kind], dtype=float)  # [n][T][level]
    if n < grid[0] or periods < grid[0]:
        raise InsufficientDataError(
            f"CIPS critical values are tabulated from N = T = 10; got N = {n}, T = {periods}."
        )
    if n > grid[-1] or periods > grid[-1]:
        warn("CIPS critical values are tabulated up to N = T = 200; the last entry is used.",
             PanelreWarning)  # fmt: skip
        n, periods = min(n, int(grid[-1])), min(periods, int(grid[-1]))

    def bracket(x: int) -> tuple[int, int]:
        lo = int(np.searchsorted(grid, x, side="right")) - 1
        return lo, min(lo + 1, grid.size - 1)

    (n0, n1), (t0, t1) = bracket(n), bracket(periods)

    def at_n(t_index: int) -> np.ndarray:
        if grid[n0] == n:
            return values[n0, t_index]
        return _approx_at(grid[n0], grid[n1], values[n0, t_index], values[n1, t_index], n)

    if grid[t0] == periods:
        return at_n(t0)
    return _approx_at(grid[t0], grid[t1], at_n(t0), at_n(t1), periods)


def _cips(
    data: Any, column: Hashable, entity: Hashable, time: Hashable, lags: int, deterministic: str
) -> TestResult:
    """Pesaran's (2007) CIPS: the mean over entities of the t statistics of y₋₁ in the
    cross-sectionally augmented ADF regressions (plm ``cipstest``, model ``"cmg"``)."""
    y = _cips_wide(data, column, entity, time)
    n, T = y.shape
    de = np.full((n, T), np.nan)
    de[:, 1:] = np.diff(y, axis=1)
    le = np.full((n, T), np.nan)
    le[:, 1:] = y[:, :-1]
    lagged = []
    for j in range(1, lags + 1):  # a loop over lags
        d = np.full((n, T), np.nan)
        d[:, j:] = de[:, :-j]
        lagged.append(d)
    own = [le, *lagged]
    valid = np.isfinite(de) & np.all([np.isfinite(c) for c in own], axis=0)
    counts = valid.sum(axis=0)
    used = counts > 0

    def bar(x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(valid, x, 0.0).sum(axis=0) / counts
        return np.broadcast_to(means, (n, T))

    columns = [*own, bar(de), *[bar(c) for c in own]]
    if deterministic in ("intercept", "trend"):
        columns.append(np.ones((n, T)))
    if deterministic == "trend":
        columns.append(np.broadcast_to(np.arange(1, T + 1, dtype=float), (n, T)))
    X = np.nan_to_num(np.where(valid[:, :, None], np.stack(columns, axis=2), 0.0))
    yv = np.where(valid, np.nan_to_num(de), 0.0)
    k = X.shape[2]
    rows = valid.sum(axis=1)
    if np.any(rows <= k):
        raise InsufficientDataError(
            f"The CADF regressions need more than {k} periods per entity; the shortest "
            f"series has {int(rows.min())}."
        )
    # a QR factor per entity (batched; rows outside the regression are zero): the
    # augmented regressors are nearly collinear, so no normal equations here
    q, r = np.linalg.qr(X)
    r_inv = np.linalg.inv(r)
    coef = np.einsum("nkl,nl->nk", r_inv, np.einsum("ntk,nt->nk", q, yv))
    resid = yv - np.einsum("ntk,nk->nt", X, coef)
    s2 = np.sum(resid**2, axis=1) / (rows - k)
    t = coef[:, 0] / np.sqrt(s2 * np.sum(r_inv[:, 0, :] ** 2, axis=1))
    stat = float(t.mean())
    kind = {"none": "none", "intercept": "drift", "trend": "trend"}[deterministic]
    cv = _cips_critical_values(n, int(used.sum()), kind)
    pvalue = _cips_pvalue(stat, cv)
    return TestResult(
        "Pesaran's CIPS unit-root test", stat, None, pvalue,
        f"every series of {column!r} has a unit root",
        f"some series of {column!r} are stationary", distribution="cips",
    )  # fmt: skip


def _cips_pvalue(stat: float, cv: np.ndarray) -> float:
    """p-value by interpolation between the 1 %, 5 % and 10 % critical values (plm's rule:
    200 grid points, the mean of the two around the statistic); outside, 0.01 or 0.10 with
    a warning that the p-value is only a bound."""
    if stat < cv.min():
        warn("The CIPS p-value is below 0.01 (reported as 0.01).", PanelreWarning)
        return 0.01
    if stat > cv.max():
        warn("The CIPS p-value is above 0.10 (reported as 0.10).", PanelreWarning)
        return 0.10
    levels = np.array([0.01, 0.05, 0.10])
    if stat in cv:
        return float(levels[np.flatnonzero(cv == stat)[0]])
    grid = np.linspace(cv.min(), cv.max(), 200)
    p = np.interp(grid, cv, levels)
    k = int(np.searchsorted(grid, stat, side="right"))  # R's findInterval
    return float(np.mean(p[k - 1 : k + 1]))


def _hadri(s: _Series, deterministic: str) -> TestResult:
    if deterministic == "none":
        raise DataError("Hadri's test needs trend='c' or 'ct'.")
    T = int(s.length[0])
    y = s.y[:, :T]
    if deterministic == "intercept":
        resid = y - y.mean(axis=1, keepdims=True)
        mean, var = 1 / 6, 1 / 45
    else:
        trend = np.column_stack([np.ones(T), np.arange(1, T + 1)])
        resid = y - (trend @ np.linalg.lstsq(trend, y.T, rcond=None)[0]).T
        mean, var = 1 / 15, 11 / 6300
    sigma2 = np.mean(resid**2, axis=1)
    lm = np.sum(np.cumsum(resid, axis=1) ** 2, axis=1) / T**2 / sigma2
    n = y.shape[0]
    stat = float(np.sqrt(n) * (lm.mean() - mean) / np.sqrt(var))
    return TestResult(
        "Hadri stationarity test (heteroskedasticity-consistent)",
        stat, None, float(stats.norm.sf(stat)),
        "every series is stationary", "some series have a unit root",
        distribution="normal",
    )  # fmt: skip
