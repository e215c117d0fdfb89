"""Which regressors can be estimated: the one rule shared by every backend.

A column is *absorbed* when its transformed sum of squares is below ``tol`` times its raw
sum of squares (e.g. a time-invariant regressor under entity demeaning); it is *collinear*
when it is a combination of earlier kept columns (Stata's choice: keep the earlier one).
Dropped columns are named in a warning; nothing left is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from panelre._linalg import RANK_TOL, independent_columns
from panelre._warnings import warn as warn_user
from panelre.exceptions import AbsorbedVariableError, DroppedVariableWarning, RankDeficiencyError

__all__ = ["ColumnSelection", "select_columns"]


@dataclass(frozen=True)
class ColumnSelection:
    """The kept columns and the names of the dropped ones."""

    keep: np.ndarray
    absorbed: list[str]
    collinear: list[str]

    @property
    def dropped(self) -> list[str]:
        """Every dropped column, absorbed first."""
        return self.absorbed + self.collinear


def select_columns(
    xtx: np.ndarray,
    names: Sequence[str],
    *,
    raw_ss: np.ndarray | None = None,
    absorbed_by: str | None = None,
    tol: float = RANK_TOL,
    warn: bool = True,
) -> ColumnSelection:
    """Apply the absorbed/collinear rule to the transformed cross-products ``xtx``.

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [1.0, 2, 3, 4], [2.0, 4, 6, 8]])
    >>> select_columns(X.T @ X, ["a", "b", "c"], warn=False).collinear
    ['c']
    """
    names = list(names)
    ss = np.diag(xtx).copy()
    absorbed = np.zeros(len(names), dtype=bool)
    if raw_ss is not None:
        absorbed = ss <= tol * np.maximum(raw_ss, np.finfo(float).tiny)
    keep = ~absorbed
    idx = np.flatnonzero(keep)
    collinear = np.zeros(len(names), dtype=bool)
    collinear[idx[~independent_columns(xtx[np.ix_(idx, idx)], tol)]] = True
    keep &= ~collinear
    dropped_abs = [n for n, a in zip(names, absorbed) if a]
    dropped_col = [n for n, c in zip(names, collinear) if c]
    if not keep.any():
        if dropped_abs and not dropped_col:
            raise AbsorbedVariableError(
                f"Every regressor ({', '.join(dropped_abs)}) is absorbed by the {absorbed_by} "
                "effects, so nothing can be estimated. Use random effects, correlated random "
                "effects or Hausman–Taylor for time-invariant regressors."
            )
        raise RankDeficiencyError(
            f"No regressor can be estimated: {', '.join(names) or 'none given'} are all zero "
            "or collinear."
        )
    if warn and (dropped_abs or dropped_col):
        parts = []
        if dropped_abs:
            parts.append(
                f"absorbed by the {absorbed_by} effects (no variation left after the "
                f"transform): {', '.join(dropped_abs)}"
            )
        if dropped_col:
            parts.append(
                f"collinear with earlier regressors (relative tolerance {tol:g}): "
                f"{', '.join(dropped_col)}"
            )
        warn_user("Dropped regressors " + "; ".join(parts) + ".", DroppedVariableWarning)
    return ColumnSelection(keep, dropped_abs, dropped_col)
