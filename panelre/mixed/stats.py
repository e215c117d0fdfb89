"""Per-group sufficient statistics of a linear mixed model, collected in one vectorised pass.

For each group i (rows sorted once by group code, then ``np.add.reduceat``):
:math:`Z_i'Z_i`, :math:`Z_i'X_i`, :math:`Z_i'y_i`, :math:`n_i`; and the totals
:math:`X'X`, :math:`X'y`, :math:`y'y` by one matrix product.  Nothing afterwards touches the
rows again, so an evaluation of the (RE)ML criterion costs O(G q^2 (q + p)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SufficientStats", "sufficient_stats"]


@dataclass(frozen=True)
class SufficientStats:
    """Sufficient statistics; ``zt_by_col`` stacks ``[Z'Z | Z'X | Z'y]`` with groups last.

    Attributes
    ----------
    counts : ndarray (G,)
    zt_by_col : ndarray (q, q + p + 1, G)
        :math:`Z_i'[Z_i\\;X_i\\;y_i]` for every group i, groups along the last (contiguous)
        axis so that the criterion works with long vector operations and BLAS products.
    total : ndarray (p + 1, p + 1)
        :math:`[X\\;y]'[X\\;y]` over all rows.
    """

    counts: np.ndarray
    zt_by_col: np.ndarray
    total: np.ndarray

    @property
    def zt(self) -> np.ndarray:
        """Per group :math:`Z_i'[Z_i\\;X_i\\;y_i]`, shape (G, q, q + p + 1) (a view)."""
        return self.zt_by_col.transpose(2, 0, 1)

    @property
    def q(self) -> int:
        return int(self.zt_by_col.shape[0])

    @property
    def p(self) -> int:
        return int(self.total.shape[0] - 1)

    @property
    def nobs(self) -> int:
        return int(self.counts.sum())

    @property
    def ztz(self) -> np.ndarray:
        return self.zt[:, :, : self.q]

    @property
    def ztx(self) -> np.ndarray:
        return self.zt[:, :, self.q : self.q + self.p]

    @property
    def zty(self) -> np.ndarray:
        return self.zt[:, :, -1]


def sufficient_stats(
    x: np.ndarray, z: np.ndarray, y: np.ndarray, codes: np.ndarray, n_groups: int
) -> SufficientStats:
    """Collect ``SufficientStats`` from row-level arrays.

    Parameters
    ----------
    x : ndarray (n, p)
    z : ndarray (n, q)
    y : ndarray (n,)
    codes : ndarray (n,) of int
        Group code of each row, in ``0 .. n_groups - 1``; every code must occur.
    n_groups : int

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((4, 1)); y = np.array([1.0, 2.0, 3.0, 5.0])
    >>> st = sufficient_stats(x, x, y, np.array([0, 1, 0, 1]), 2)
    >>> st.counts.tolist(), st.zty[:, 0].tolist(), float(st.total[1, 1])
    ([2.0, 2.0], [4.0, 7.0], 39.0)
    """
    xy = np.column_stack([x, y])
    total = xy.T @ xy
    if np.all(codes[1:] >= codes[:-1]):
        order = None
        sorted_codes = codes
    else:
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    block = np.vstack([z.T, xy.T])  # (m, n): each variable contiguous
    if order is not None:
        block = block[:, order]
    q = z.shape[1]
    zt = np.empty((q, block.shape[0], n_groups))
    buffer = np.empty_like(block)  # reused: large fresh allocations cost page faults
    for j in range(q):  # a loop over random-effect columns, never over groups
        np.multiply(block, block[j], out=buffer)
        zt[j] = np.add.reduceat(buffer, starts, axis=1)
    counts = np.diff(np.r_[starts, sorted_codes.size]).astype(float)
    return SufficientStats(counts=counts, zt_by_col=zt, total=total)
