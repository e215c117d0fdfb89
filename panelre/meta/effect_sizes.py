r"""Effect sizes and their sampling variances (metafor's ``escalc``).

Each measure is one small function registered in ``MEASURES``; ``effect_size``
resolves the arguments (column names with ``data=`` or arrays) and dispatches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import poch

from panelre._validation import check_option, check_positive
from panelre.exceptions import DataError, InvalidParameterError
from panelre.meta._inputs import column

__all__ = ["effect_size", "MEASURES", "hedges_correction"]


@dataclass(frozen=True)
class _Measure:
    compute: Callable[..., tuple[np.ndarray, np.ndarray]]
    arguments: tuple[str, ...]
    description: str


# -- 2x2 tables ------------------------------------------------------------------------------
def _tables(
    ai: np.ndarray,
    bi: np.ndarray,
    ci: np.ndarray,
    di: np.ndarray,
    add: float,
    to: str,
    drop00: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated cells after metafor's zero-cell handling (``add``, ``to``, ``drop00``)."""
    cells = np.vstack([ai, bi, ci, di])
    if (cells < 0).any():
        raise DataError("2x2 counts must be >= 0; found a negative count.")
    empty = (ai + bi == 0) | (ci + di == 0)
    if empty.any():
        rows = np.flatnonzero(empty)[:5].tolist()
        raise DataError(
            "A 2x2 table has a group with no participants (ai + bi = 0 or ci + di = 0) at "
            f"row(s) {rows}; such a study carries no information. Remove it."
        )
    if drop00:
        both = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        cells[:, both] = np.nan
    zero = (cells == 0).any(axis=0)
    shift = {
        "all": np.ones_like(zero),
        "only0": zero,
        "if0all": np.full_like(zero, zero.any()),
        "none": np.zeros_like(zero),
    }[to]
    cells = cells + add * shift
    return cells[0], cells[1], cells[2], cells[3]


def _log_risk_ratio(ai, bi, ci, di):  # type: ignore[no-untyped-def]
    n1, n2 = ai + bi, ci + di
    with np.errstate(divide="ignore"):
        yi = np.log(ai / n1) - np.log(ci / n2)
        vi = 1 / ai - 1 / n1 + 1 / ci - 1 / n2
    return yi, vi


def _log_odds_ratio(ai, bi, ci, di):  # type: ignore[no-untyped-def]
    with np.errstate(divide="ignore"):
        yi = np.log(ai * di) - np.log(bi * ci)
        vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
    return yi, vi


def _risk_difference(ai, bi, ci, di):  # type: ignore[no-untyped-def]
    n1, n2 = ai + bi, ci + di
    p1, p2 = ai / n1, ci / n2
    return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2


# -- means and standard deviations -----------------------------------------------------------
def hedges_correction(m: np.ndarray | float) -> np.ndarray:
    r"""Exact small-sample bias correction of Hedges' g,
    :math:`c(m) = \Gamma(m/2) / (\sqrt{m/2}\,\Gamma((m-1)/2))`; ``nan`` for ``m <= 1``.

    Examples
    --------
    >>> round(float(hedges_correction(10)), 6)
    0.922746
    """
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Gamma(m/2)/Gamma((m-1)/2) as a Pochhammer symbol: accurate for large m, where
        # metafor's exp(lgamma(.) - lgamma(.)) loses digits to cancellation (m > ~1e4)
        out = poch((m - 1) / 2, 0.5) / np.sqrt(m / 2)
    return np.where(m > 1, out, np.nan)


def _check_groups(sd1i, sd2i, n1i, n2i) -> None:  # type: ignore[no-untyped-def]
    if (np.nan_to_num(np.concatenate([sd1i, sd2i]), nan=0.0) < 0).any():
        raise DataError("Standard deviations sd1i and sd2i must be >= 0; found a negative one.")
    if (np.nan_to_num(np.concatenate([n1i, n2i]), nan=1.0) <= 0).any():
        raise DataError("Group sizes n1i and n2i must be > 0; found a zero or negative one.")


def _mean_difference(m1i, m2i, sd1i, sd2i, n1i, n2i):  # type: ignore[no-untyped-def]
    _check_groups(sd1i, sd2i, n1i, n2i)
    return m1i - m2i, sd1i**2 / n1i + sd2i**2 / n2i


def _standardized_mean_difference(m1i, m2i, sd1i, sd2i, n1i, n2i):  # type: ignore[no-untyped-def]
    _check_groups(sd1i, sd2i, n1i, n2i)
    m = n1i + n2i - 2
    pooled_sd = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / m)
    yi = hedges_correction(m) * (m1i - m2i) / pooled_sd
    vi = 1 / n1i + 1 / n2i + yi**2 / (2 * (n1i + n2i))
    return yi, vi


_TABLE = ("ai", "bi", "ci", "di")
_MEANS = ("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i")

#: measure name -> computation, its arguments and a description.
MEASURES: dict[str, _Measure] = {
    "RR": _Measure(_log_risk_ratio, _TABLE, "log risk ratio"),
    "OR": _Measure(_log_odds_ratio, _TABLE, "log odds ratio"),
    "RD": _Measure(_risk_difference, _TABLE, "risk difference"),
    "SMD": _Measure(
        _standardized_mean_difference, _MEANS, "standardised mean difference (Hedges' g)"
    ),
    "MD": _Measure(_mean_difference, _MEANS, "raw mean difference"),
}


def _table_arguments(values: dict[str, Any], data: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """ai, bi, ci, di from the arguments; bi/di may be given as n1i/n2i (group sizes)."""
    out: dict[str, np.ndarray] = {}
    for cell, total, events in (("bi", "n1i", "ai"), ("di", "n2i", "ci")):
        if values[events] is None:
            raise InvalidParameterError(f"Measure needs {events!r} (event counts). Got None.")
        out[events] = column(events, values[events], data)
        if values[cell] is None and values[total] is None:
            raise InvalidParameterError(f"Measure needs {cell!r} (or the group size {total!r}).")
        if values[cell] is not None:
            out[cell] = column(cell, values[cell], data, n=out[events].shape[0])
            if values[total] is not None:
                n = column(total, values[total], data, n=out[events].shape[0])
                if not np.allclose(n, out[events] + out[cell], equal_nan=True):
                    raise DataError(f"{total} must equal {events} + {cell} in every study.")
        else:
            n = column(total, values[total], data, n=out[events].shape[0])
            out[cell] = n - out[events]
    if out["ai"].shape[0] != out["ci"].shape[0]:
        raise DataError("ai and ci must have the same length (one value per study).")
    return out


def effect_size(
    measure: str,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    m1i: Any = None,
    m2i: Any = None,
    sd1i: Any = None,
    sd2i: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    data: pd.DataFrame | None = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
) -> pd.DataFrame:
    r"""Effect sizes ``yi`` and sampling variances ``vi``, as metafor's ``escalc``.

    Parameters
    ----------
    measure : {"RR", "OR", "RD", "SMD", "MD"}
        Log risk ratio, log odds ratio, risk difference (from 2x2 tables ``ai, bi, ci, di``:
        events and non-events in the treated and control groups; ``n1i``/``n2i`` may replace
        ``bi``/``di``), Hedges' g or the raw mean difference (from ``m1i, m2i, sd1i, sd2i,
        n1i, n2i``).
    ai, bi, ci, di, m1i, m2i, sd1i, sd2i, n1i, n2i : str or array-like
        Column names of ``data`` or arrays with one value per study.
    data : DataFrame, optional
        Source of the columns; the result keeps its index.
    add : float, default 0.5
        Added to the cells of 2x2 tables according to ``to``.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which tables get ``add``: those with a zero cell (metafor's default, for RR, OR *and*
        RD), all, all if any has a zero cell, or none.
    drop00 : bool, default False
        Set ``yi``/``vi`` to NaN for tables with no events (or no non-events) in both groups;
        metafor's default keeps them (with ``add``). ``meta_analysis`` drops NaN rows.

    Returns
    -------
    DataFrame
        Columns ``yi`` and ``vi``.

    Raises
    ------
    InvalidParameterError
        Unknown measure or option, or a required argument missing.
    DataError
        Negative counts, a group with no participants (an all-zero row of a 2x2 table),
        inconsistent group sizes, negative standard deviations or group sizes <= 0.

    Notes
    -----
    RR: :math:`\log\frac{a/n_1}{c/n_2}`, :math:`v = 1/a - 1/n_1 + 1/c - 1/n_2`.
    OR: :math:`\log\frac{ad}{bc}`, :math:`v = 1/a + 1/b + 1/c + 1/d`.
    RD: :math:`p_1 - p_2`, :math:`v = p_1(1-p_1)/n_1 + p_2(1-p_2)/n_2`.
    SMD: :math:`g = c(m)(\bar x_1 - \bar x_2)/s_p`, :math:`m = n_1 + n_2 - 2`,
    :math:`c(m) = \Gamma(m/2)/(\sqrt{m/2}\,\Gamma((m-1)/2))`,
    :math:`v = 1/n_1 + 1/n_2 + g^2/(2(n_1+n_2))` (metafor's large-sample ``vtype="LS"``).
    MD: :math:`\bar x_1 - \bar x_2`, :math:`v = s_1^2/n_1 + s_2^2/n_2`.

    Examples
    --------
    >>> from panelre.datasets import load
    >>> from panelre.meta import effect_size
    >>> es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load("bcg"))
    >>> es.round(4).head(3)
           yi      vi
    0 -0.8893  0.3256
    1 -1.5854  0.1946
    2 -1.3481  0.4154
    """
    measure = check_option("measure", measure, MEASURES)
    to = check_option("to", to, ["only0", "all", "if0all", "none"])
    add = check_positive("add", add, strict=False)
    spec = MEASURES[measure]
    values = dict(
        ai=ai, bi=bi, ci=ci, di=di, m1i=m1i, m2i=m2i, sd1i=sd1i, sd2i=sd2i, n1i=n1i, n2i=n2i
    )
    args: tuple[np.ndarray, ...]
    if spec.arguments == _TABLE:
        cells = _table_arguments(values, data)
        args = _tables(cells["ai"], cells["bi"], cells["ci"], cells["di"], add, to, drop00)
    else:
        missing = [a for a in spec.arguments if values[a] is None]
        if missing:
            raise InvalidParameterError(
                f"Measure {measure!r} needs {', '.join(spec.arguments)}; missing: "
                f"{', '.join(missing)}."
            )
        first = column(spec.arguments[0], values[spec.arguments[0]], data)
        args = tuple(column(a, values[a], data, n=first.shape[0]) for a in spec.arguments)
    yi, vi = spec.compute(*args)
    index = data.index if data is not None and len(data) == len(yi) else pd.RangeIndex(len(yi))
    return pd.DataFrame({"yi": yi, "vi": vi}, index=index)
