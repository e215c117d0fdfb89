"""Penalised least squares for several grouping factors (crossed or nested random effects).

The model is :math:`y = X\\beta + Zb + e` with :math:`b = \\Lambda u`,
:math:`u \\sim N(0, \\sigma^2 I)`, :math:`e \\sim N(0, \\sigma^2 I)`; Z and Λ are the
column-blocks of the grouping factors (Λ is :math:`I_{m_k} \\otimes T_k` for factor k, with
:math:`T_k` the lower-triangular relative covariance factor of its :math:`q_k` effects), as
lme4 and MixedModels.jl. Everything follows from the Cholesky factor of

.. math:: \\begin{pmatrix} \\Lambda'Z'Z\\Lambda + I & \\Lambda'Z'X & \\Lambda'Z'y \\\\
          X'Z\\Lambda & X'X & X'y \\\\ y'Z\\Lambda & y'X & y'y \\end{pmatrix}:

its random-effect diagonal gives :math:`\\log|\\Lambda'Z'Z\\Lambda + I|`, its X block
:math:`\\log|X'V^{-1}X\\sigma^2|` (REML), and its last diagonal entry the penalised residual
sum of squares :math:`r^2`, so that with σ² profiled out the criterion is

.. math:: f(\\theta) = \\log|\\Lambda'Z'Z\\Lambda + I| + [\\mathrm{REML}]\\log|X'V^{-1}X\\sigma^2|
          + d\\,(1 + \\log(2\\pi r^2/d)),\\quad d = n - [\\mathrm{REML}]\\,p.

The factors are ordered by their number of random effects, largest first (as MixedModels.jl).
The first factor's block of :math:`\\Lambda'Z'Z\\Lambda + I` is block diagonal (one
:math:`q_1 \\times q_1` block per level), so it is eliminated exactly, level by level, with no
fill; what is left is the Schur complement on the other factors' effects, X and y, of order
:math:`r = \\sum_{k>1} m_k q_k + p + 1`. It is assembled from cross-products computed once
(:math:`Z_1'Z_1` per level, :math:`Z_1'[Z_{>1}\\;X\\;y]`, :math:`[Z_{>1}\\;X\\;y]'[\\dots]`),
and factored densely by LAPACK when the other factors have at most ``DENSE_LIMIT`` effects in
all. Above that it is sparse: CHOLMOD's Cholesky (scikit-sparse, the ``sparse`` extra) with
its fill-reducing order and symbolic factorisation computed once and reused at every θ, or
without scikit-sparse a sparse LU of the symmetric matrix (SuperLU, with a minimum-degree
order computed once). No step touches the rows of the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg, sparse
from scipy.sparse import linalg as sparse_linalg

from panelre.exceptions import DataError
from panelre.mixed.criterion import ThetaLayout

__all__ = ["FactorBlock", "CrossedStats", "PlsEvaluation", "crossed_stats", "DENSE_LIMIT"]

_LOG_2PI = float(np.log(2.0 * np.pi))

#: The largest number of random effects outside the first factor that is factored as a dense
#: matrix; above it the sparse path is used. At 4,000 effects each dense r x r array is 128 MB
#: and an evaluation holds three or four at once (the conditional variances a few more).
DENSE_LIMIT = 4000


@dataclass(frozen=True)
class FactorBlock:
    """One grouping factor as the algebra sees it: Z's values per row, level codes, layout."""

    z: np.ndarray  # (n, q), rows already scaled by √w
    codes: np.ndarray  # (n,) level of each row, 0 .. n_levels - 1
    n_levels: int
    layout: ThetaLayout

    @property
    def q(self) -> int:
        return int(self.z.shape[1])

    @property
    def size(self) -> int:
        """Number of random effects, levels x effects per level."""
        return self.n_levels * self.q

    def matrix(self) -> sparse.csr_matrix:
        """Sparse :math:`Z_k`, n x (levels q), effect j of level c in column c q + j."""
        n, q = self.z.shape
        cols = (self.codes[:, None] * q + np.arange(q)).ravel()
        rows = np.repeat(np.arange(n), q)
        return sparse.csr_matrix((self.z.ravel(), (rows, cols)), shape=(n, self.size))

    def lam(self, theta: np.ndarray) -> sparse.csr_matrix:
        """:math:`\\Lambda_k = I_{m_k} \\otimes T_k` as a sparse matrix."""
        return sparse.kron(sparse.identity(self.n_levels), self.layout.lam(theta), format="csr")


@dataclass(frozen=True)
class RestScaling:
    r""":math:`\Lambda_{rest} = \mathrm{diag}_k(I_{m_k} \otimes T_k)` as its factors' T."""

    factors: tuple[np.ndarray, ...]  # T_k, (q_k, q_k)
    levels: tuple[int, ...]  # m_k

    @property
    def diagonal(self) -> np.ndarray | None:
        """Λ's diagonal when every T_k is 1 x 1 (Λ is then diagonal), else None."""
        if any(t.shape[0] != 1 for t in self.factors):
            return None
        return np.repeat([t[0, 0] for t in self.factors], self.levels)

    def _apply(self, matrix: np.ndarray, transpose: bool) -> np.ndarray:
        out = np.empty_like(matrix, dtype=float)
        start = 0
        for t, m in zip(self.factors, self.levels, strict=True):  # a loop over factors
            q = t.shape[0]
            block = matrix[start : start + m * q].reshape(m, q, -1)
            mat = t.T if transpose else t
            out[start : start + m * q] = np.einsum("ij,gjc->gic", mat, block).reshape(m * q, -1)
            start += m * q
        return out

    def left(self, matrix: np.ndarray) -> np.ndarray:
        r""":math:`\Lambda M` for M with one row per effect (1-D or 2-D)."""
        return self._times(matrix, transpose=False)

    def left_t(self, matrix: np.ndarray) -> np.ndarray:
        r""":math:`\Lambda' M`."""
        return self._times(matrix, transpose=True)

    def _times(self, matrix: np.ndarray, transpose: bool) -> np.ndarray:
        flat = matrix.reshape(matrix.shape[0], -1)
        diag = self.diagonal
        out = flat * diag[:, None] if diag is not None else self._apply(flat, transpose)
        return out.reshape(matrix.shape)


def _block_diagonal(blocks: np.ndarray) -> sparse.bsr_matrix:
    """Sparse block-diagonal matrix of ``blocks`` (m, q, q)."""
    m, q, _ = blocks.shape
    return sparse.bsr_matrix(
        (blocks, np.arange(m), np.arange(m + 1)), shape=(m * q, m * q), blocksize=(q, q)
    )


@dataclass(frozen=True)
class LevelPairs:
    r"""Every pair of nonzero columns of :math:`Z_1'Z_{rest}` that share a level of the first
    factor, so that :math:`\\sum_i C_i'K_iC_i` (C = :math:`Z_1'Z_{rest}`, K one
    :math:`q_1 \times q_1` matrix per level) is one weighted ``bincount`` per evaluation.

    Only pairs with ``row <= col`` are kept (the sum is symmetric).
    """

    row: np.ndarray  # (pairs,) column of C of the first member
    col: np.ndarray  # (pairs,) column of C of the second member
    target: np.ndarray  # (pairs,) row * n_columns + col: the entry of the dense sum
    level: np.ndarray  # (pairs,) level of the first factor
    products: np.ndarray  # (pairs, q1 * q1): C[i q1 + j, row] C[i q1 + l, col]

    @classmethod
    def from_cross(
        cls, c_z: sparse.csr_matrix, q1: int, level_class: np.ndarray | None = None
    ) -> LevelPairs:
        """Pairs of ``c_z`` (rows: levels x q1); levels of one ``level_class`` share K_i
        (equal :math:`Z_i'Z_i`), so their pairs with the same target are summed into one,
        which keeps the level of the class's first member."""
        n_cols = c_z.shape[1]
        if q1 == 1:  # one CSR row per level: its entries are already the (level, column)s
            csr = c_z.tocsr()
            csr.sum_duplicates()
            uniq = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
            uniq = uniq * n_cols + csr.indices
            values = csr.data[:, None].astype(float)
        else:
            coo = c_z.tocoo()
            level, within = np.divmod(coo.row, q1)
            # one entry per (level, column), with the q1 values of C in that column
            key = level.astype(np.int64) * n_cols + coo.col
            uniq, inverse = np.unique(key, return_inverse=True)
            values = np.column_stack(
                [
                    np.bincount(inverse[within == j], coo.data[within == j], uniq.size)
                    for j in range(q1)  # a loop over effects per level
                ]
            )
        u_level, u_col = np.divmod(uniq, n_cols)
        counts = np.bincount(u_level, minlength=c_z.shape[0] // q1 if q1 else 0)
        # entries are sorted by (level, column): each entry pairs with itself and the later
        # entries of its level, so that row <= col
        starts = np.cumsum(counts) - counts
        position = np.arange(uniq.size) - starts[u_level]
        partners = counts[u_level] - position
        first = np.repeat(np.arange(uniq.size), partners)
        run_starts = np.cumsum(partners) - partners
        second = first + (np.arange(first.size) - np.repeat(run_starts, partners))
        products = (values[first][:, :, None] * values[second][:, None, :]).reshape(
            first.size, q1 * q1
        )
        row, col = u_col[first], u_col[second]
        target = row.astype(np.int64) * n_cols + col
        level = u_level[first]
        if level_class is not None and row.size:
            key = level_class[level].astype(np.int64) * (c_z.shape[1] ** 2) + target
            merged, position = np.unique(key, return_inverse=True)
            summed = np.column_stack(
                [
                    np.bincount(position, products[:, j], merged.size)
                    for j in range(products.shape[1])  # a loop over q1² products
                ]
            )
            representative = np.empty(merged.size, dtype=level.dtype)
            representative[position[::-1]] = level[::-1]
            target = merged % (c_z.shape[1] ** 2)
            row, col = np.divmod(target, c_z.shape[1])
            level, products = representative, summed
        # sorted by target, the per-evaluation bincount writes memory in order (2-3x faster)
        order = np.argsort(target, kind="stable")
        return cls(row[order], col[order], target[order], level[order], products[order])

    def weighted(self, k: np.ndarray) -> np.ndarray:
        r"""Per pair :math:`\sum_{jl} K_{i,jl} C_{ij,row} C_{il,col}`."""
        if k.shape[1] == 1:
            return self.products[:, 0] * k.ravel()[self.level]
        return np.einsum("pk,pk->p", self.products, k.reshape(k.shape[0], -1)[self.level])


@dataclass(frozen=True)
class CrossedStats:
    """Cross-products of a multi-factor model, computed once before the optimisation.

    ``first`` is the factor eliminated level by level and ``rest`` the others (sorted by
    size, largest first); ``W = [Z_rest X y]``.
    """

    first: FactorBlock
    rest: tuple[FactorBlock, ...]
    d1: np.ndarray  # (m1, q1, q1): Z_1'Z_1 per level
    c_z: sparse.csr_matrix  # Z_1'Z_rest
    c_zt: sparse.csr_matrix  # its transpose, stored for products
    pairs: LevelPairs
    c_x: np.ndarray  # Z_1'[X y]
    g_zz: sparse.csr_matrix  # Z_rest'Z_rest
    g_zx: np.ndarray  # Z_rest'[X y]
    g_xx: np.ndarray  # [X y]'[X y]
    nobs: int
    p: int

    @property
    def r_z(self) -> int:
        """Random effects outside the first factor."""
        return int(sum(f.size for f in self.rest))

    @property
    def factors(self) -> tuple[FactorBlock, ...]:
        return (self.first, *self.rest)

    def split(self, theta: np.ndarray) -> list[np.ndarray]:
        """θ cut into the pieces of each factor (in the order of ``factors``)."""
        sizes = np.cumsum([f.layout.size for f in self.factors])[:-1]
        return np.split(np.asarray(theta, dtype=float), sizes)

    def rest_scaling(self, pieces: Sequence[np.ndarray]) -> RestScaling:
        """Λ of the factors after the first, applied by reshapes (no sparse matrix)."""
        return RestScaling(
            tuple(f.layout.lam(t) for f, t in zip(self.rest, pieces[1:], strict=True)),
            tuple(f.n_levels for f in self.rest),
        )

    def lam_rest(self, pieces: Sequence[np.ndarray]) -> sparse.csr_matrix:
        """Block-diagonal Λ of the factors after the first."""
        if not self.rest:
            return sparse.csr_matrix((0, 0))
        return sparse.block_diag(
            [f.lam(t) for f, t in zip(self.rest, pieces[1:], strict=True)], format="csr"
        )


def crossed_stats(
    factors: Sequence[FactorBlock], x: np.ndarray, y: np.ndarray
) -> tuple[CrossedStats, np.ndarray]:
    """Collect ``CrossedStats``; also returns the order (indices into ``factors``) used.

    Examples
    --------
    >>> import numpy as np
    >>> from panelre.mixed.criterion import ThetaLayout
    >>> one = ThetaLayout.from_blocks(1, ((0,),))
    >>> a = FactorBlock(np.ones((4, 1)), np.array([0, 0, 1, 1]), 2, one)
    >>> b = FactorBlock(np.ones((4, 1)), np.array([0, 1, 0, 1]), 2, one)
    >>> st, order = crossed_stats([a, b], np.ones((4, 1)), np.arange(4.0))
    >>> st.c_z.toarray().tolist(), st.d1[:, 0, 0].tolist()
    ([[1.0, 1.0], [1.0, 1.0]], [2.0, 2.0])
    """
    order = np.argsort([-f.size for f in factors], kind="stable")
    ordered = [factors[i] for i in order]
    first, rest = ordered[0], tuple(ordered[1:])
    xy = np.column_stack([x, y])
    z1 = first.matrix()
    q1 = first.q
    d1 = np.empty((first.n_levels, q1, q1))
    for j in range(q1):  # a loop over effects per level, never over levels
        for k in range(j, q1):
            d1[:, j, k] = np.bincount(
                first.codes, weights=first.z[:, j] * first.z[:, k], minlength=first.n_levels
            )
            d1[:, k, j] = d1[:, j, k]
    if rest:
        z_rest = sparse.hstack([f.matrix() for f in rest], format="csr")
    else:
        z_rest = sparse.csr_matrix((xy.shape[0], 0))
    z1t = z1.T.tocsr()
    c_z = (z1t @ z_rest).tocsr()
    stats = CrossedStats(
        first=first,
        rest=rest,
        d1=d1,
        c_z=c_z,
        c_zt=c_z.T.tocsr(),
        pairs=LevelPairs.from_cross(c_z, q1, _level_classes(d1)),
        c_x=np.asarray(z1t @ xy),
        g_zz=(z_rest.T @ z_rest).tocsr(),
        g_zx=np.asarray(z_rest.T @ xy),
        g_xx=xy.T @ xy,
        nobs=int(xy.shape[0]),
        p=int(x.shape[1]),
    )
    return stats, order


def _level_classes(d1: np.ndarray) -> np.ndarray:
    """Levels with equal :math:`Z_i'Z_i` (equal sizes, without weights or slopes) share a
    class: their :math:`K_i` are equal at every θ."""
    _, classes = np.unique(d1.reshape(d1.shape[0], -1), axis=0, return_inverse=True)
    return classes.ravel()


def moment_start(stats: CrossedStats) -> np.ndarray:
    r"""A starting θ from moments of the OLS residuals r (the optimiser's start, not an
    estimate): for a factor with one effect per level, sums :math:`S_g = \sum z r` and
    :math:`n_g = \sum z^2` give :math:`B = \sum_g S_g^2/n_g`, whose expectation is about
    :math:`n\sigma_k^2 + m_k(V - \sigma_k^2)` (V the residual variance), so
    :math:`\sigma_k^2 \approx (B - m_k V)/(n - m_k)`; then :math:`\theta_k = \sigma_k/\sigma`
    with :math:`\sigma^2 = V - \sum_k \sigma_k^2`. Factors with several effects start at
    lme4's 1 on the diagonal (and 0 below it); every scalar start is at least 0.05, inside
    the bound."""
    p = stats.p
    xtx, xty = stats.g_xx[:p, :p], stats.g_xx[:p, p]
    beta = np.linalg.lstsq(xtx, xty, rcond=None)[0]
    resid = np.r_[-beta, 1.0]
    rss = float(resid @ stats.g_xx @ resid)
    n = stats.nobs
    total = max(rss / max(n - p, 1), 1e-300)
    sums = [stats.c_x @ resid, stats.g_zx @ resid]
    sizes = [np.einsum("gjj->gj", stats.d1).ravel(), stats.g_zz.diagonal()]
    pieces, variances, start = [], [], 0
    for k, f in enumerate(stats.factors):
        if k == 0:
            s_g, n_g = sums[0], sizes[0]
        else:  # the factor's rows of Z_rest'[X y], whatever its number of effects
            s_g, n_g = sums[1][start : start + f.size], sizes[1][start : start + f.size]
            start += f.size
        if f.q != 1:
            pieces.append(np.where(f.layout.is_diagonal, 1.0, 0.0))
            variances.append(0.0)
            continue
        between = float(np.sum(s_g**2 / np.where(n_g > 0, n_g, 1.0)))
        variance = max((between - f.n_levels * total) / max(n - f.n_levels, 1), 0.0)
        variances.append(variance)
        pieces.append(np.array([variance]))
    residual = max(total - sum(variances), 0.05 * total)
    out = []
    for f, piece, variance in zip(stats.factors, pieces, variances, strict=True):
        out.append(np.array([max(np.sqrt(variance / residual), 0.05)]) if f.q == 1 else piece)
    return np.concatenate(out)


def _cholmod_analyze():
    """scikit-sparse's CHOLMOD ``analyze`` when it is installed (the ``sparse`` extra), else
    None."""
    try:
        from sksparse.cholmod import analyze
    except ImportError:
        return None
    return analyze


class _RestFactor:
    """Cholesky (dense; or sparse by CHOLMOD) or symmetric LU (sparse, SuperLU) of the Schur
    complement on the effects of the factors after the first; ``solve`` and ``logdet`` are
    all the criterion needs.

    A dense matrix is read from its upper triangle only (and overwritten). ``symbolic`` is
    a CHOLMOD symbolic factorisation of the sparse pattern, reused at every θ."""

    def __init__(self, matrix, ordering: np.ndarray | None, symbolic=None) -> None:
        self.ordering = ordering
        self._cholmod = None
        if symbolic is not None:
            self._dense = None
            try:
                self._cholmod = symbolic.cholesky(matrix)  # numeric step only
            except Exception as exc:  # CholmodNotPositiveDefiniteError
                raise np.linalg.LinAlgError(str(exc)) from None
            self.logdet = float(self._cholmod.logdet())
        elif sparse.issparse(matrix):
            self._dense = None
            perm = ordering if ordering is not None else np.arange(matrix.shape[0])
            permuted = matrix.tocsc()[perm][:, perm].tocsc()
            self._lu = sparse_linalg.splu(
                permuted,
                permc_spec="NATURAL",
                diag_pivot_thresh=0.0,
                options={"SymmetricMode": True},
            )
            diag = self._lu.U.diagonal()
            if np.any(diag <= 0):
                raise np.linalg.LinAlgError("not positive definite")
            self.logdet = float(np.log(diag).sum())
        else:  # the upper triangle of ``matrix`` (C order) is the lower of its transpose
            self._dense = linalg.cho_factor(
                matrix.T, lower=True, overwrite_a=True, check_finite=False
            )
            self.logdet = 2.0 * float(np.log(np.diag(self._dense[0])).sum())

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        if self._dense is not None:
            return linalg.cho_solve(self._dense, rhs, check_finite=False)
        if self._cholmod is not None:
            return np.asarray(self._cholmod(rhs))
        perm = self.ordering if self.ordering is not None else np.arange(rhs.shape[0])
        out = np.empty_like(rhs)
        out[perm] = self._lu.solve(np.ascontiguousarray(rhs[perm]))
        return out


def _fill_reducing_order(matrix: sparse.spmatrix) -> np.ndarray:
    """A fill-reducing symmetric order (minimum degree on A'+A, SuperLU's), computed once."""
    lu = sparse_linalg.splu(
        matrix.tocsc(),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    return np.asarray(lu.perm_c)


@dataclass(frozen=True)
class PlsEvaluation:
    """The criterion at θ and what the results need from the factorisation there."""

    value: float
    beta: np.ndarray
    rss: float
    dof: float
    a_chol: tuple[np.ndarray, bool]  # lower Cholesky of X'V⁻¹X σ² (cho_factor form)
    theta: np.ndarray

    @property
    def sigma2(self) -> float:
        return self.rss / self.dof


class CrossedCriterion:
    """The profiled (RE)ML criterion of a multi-factor model as a function of θ.

    Calling it evaluates the criterion; ``evaluate`` also returns β, r² and the factor of
    :math:`X'V^{-1}X`; ``blups`` and ``conditional_covariances`` are for the optimum.
    """

    def __init__(
        self,
        stats: CrossedStats,
        reml: bool,
        dense_limit: int = DENSE_LIMIT,
        sparse_solver: str = "auto",
    ):
        self.stats = stats
        self.reml = reml
        self.dense = stats.r_z <= dense_limit
        self._g_zz_flat = stats.g_zz.toarray().ravel() if self.dense else None
        self._ordering: np.ndarray | None = None
        analyze = _cholmod_analyze()
        if sparse_solver == "cholmod" and analyze is None:
            raise ImportError("CHOLMOD needs scikit-sparse (pip install 'panelre[sparse]').")
        self._analyze = analyze if sparse_solver in ("auto", "cholmod") else None
        self._symbolic = None
        self.n_eval = 0

    @property
    def sparse_solver(self) -> str:
        """What factors the Schur complement: "dense", "cholmod" or "superlu"."""
        if self.dense:
            return "dense"
        return "cholmod" if self._analyze is not None else "superlu"

    # -- the pieces at θ ------------------------------------------------------------
    def _first_level(self, theta1: np.ndarray):
        """Per level of the first factor: :math:`K_i = T M_i^{-1} T'` and log|M_i|."""
        st = self.stats
        t = st.first.layout.lam(theta1)
        if st.first.q == 1:  # scalar: M_i = 1 + t² d_i, K_i = t²/M_i, M_i⁻¹T' = t/M_i
            m1 = 1.0 + t[0, 0] ** 2 * st.d1[:, 0, 0]
            k1 = (t[0, 0] ** 2 / m1)[:, None, None]
            return k1, float(np.log(m1).sum()), (t[0, 0] / m1)[:, None, None]
        m = np.einsum("ji,gjk,kl->gil", t, st.d1, t)
        m[:, np.arange(st.first.q), np.arange(st.first.q)] += 1.0
        chol = np.linalg.cholesky(m)
        logdet = 2.0 * float(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum())
        m_inv_tt = np.linalg.solve(m, np.broadcast_to(t.T, m.shape))  # M⁻¹T'
        k = np.einsum("ij,gjk->gik", t, m_inv_tt)
        return k, logdet, m_inv_tt

    def _middle_zz(self, k: np.ndarray):
        r""":math:`Z_r'Z_r - \sum_i C_i'K_iC_i` before Λ_rest: dense, or sparse (CSC)."""
        st = self.stats
        pairs = st.pairs
        values = pairs.weighted(k)
        r = st.r_z
        if self.dense:
            # only the upper triangle (row <= col) is formed: the factorisation reads no more
            flat = np.bincount(pairs.target, weights=values, minlength=r * r)
            assert self._g_zz_flat is not None
            np.subtract(self._g_zz_flat, flat, out=flat)
            return flat.reshape(r, r)
        both = np.r_[values, values[pairs.row != pairs.col]]
        rows = np.r_[pairs.row, pairs.col[pairs.row != pairs.col]]
        cols = np.r_[pairs.col, pairs.row[pairs.row != pairs.col]]
        return (st.g_zz - sparse.csc_matrix((both, (rows, cols)), shape=(r, r))).tocsc()

    def _schur(self, pieces: list[np.ndarray]):
        """The Schur complement on [u_rest, X, y] after eliminating the first factor."""
        st = self.stats
        k, logdet1, _ = self._first_level(pieces[0])
        q1 = st.first.q
        kc_x = np.einsum("gij,gjk->gik", k, st.c_x.reshape(-1, q1, st.c_x.shape[1])).reshape(
            st.c_x.shape
        )
        s_xx = st.g_xx - st.c_x.T @ kc_x
        if not st.r_z:
            return None, np.zeros((0, st.p + 1)), s_xx, logdet1
        scaling = st.rest_scaling(pieces)
        mid_zz = self._middle_zz(k)
        mid_zx = st.g_zx - np.asarray(st.c_zt @ kc_x)
        s_zx = scaling.left_t(mid_zx)
        if self.dense:  # s_zz's upper triangle is the Schur complement
            scale = scaling.diagonal
            if scale is not None:
                mid_zz *= scale[:, None]
                mid_zz *= scale[None, :]
                s_zz = mid_zz
            else:
                full = np.triu(mid_zz) + np.triu(mid_zz, 1).T
                s_zz = scaling.left_t(scaling.left_t(full).T)  # Λ'MΛ = (Λ'(Λ'M)')'
            s_zz[np.diag_indices(st.r_z)] += 1.0
        else:
            diagonal = scaling.diagonal
            lam_r = sparse.diags(diagonal) if diagonal is not None else st.lam_rest(pieces)
            s_zz = (lam_r.T @ mid_zz @ lam_r + sparse.identity(st.r_z)).tocsc()
        return s_zz, s_zx, s_xx, logdet1

    def _factor_rest(self, s_zz) -> _RestFactor:
        if self.dense:
            return _RestFactor(s_zz, None)
        if self._analyze is not None:  # CHOLMOD: fill-reducing order and symbolic step once
            if self._symbolic is None:
                self._symbolic = self._analyze(s_zz)
            return _RestFactor(s_zz, None, self._symbolic)
        if self._ordering is None:
            self._ordering = _fill_reducing_order(s_zz)
        return _RestFactor(s_zz, self._ordering)

    def evaluate(self, theta: np.ndarray) -> PlsEvaluation:
        st = self.stats
        theta = np.asarray(theta, dtype=float)
        pieces = st.split(theta)
        try:
            s_zz, s_zx, s_xx, logdet1 = self._schur(pieces)
            logdet_z = 0.0
            if st.r_z:
                rest = self._factor_rest(s_zz)
                logdet_z = rest.logdet
                s_xx = s_xx - s_zx.T @ rest.solve(s_zx)
            chol = np.linalg.cholesky(s_xx)
        except np.linalg.LinAlgError:
            raise DataError(
                "The fixed effects are collinear with the random effects at these variance "
                "parameters (X'V⁻¹X is not positive definite)."
            ) from None
        p = st.p
        l_xx, l_yx, l_yy = chol[:p, :p], chol[p, :p], chol[p, p]
        rss = float(l_yy**2)
        if not rss > 0:
            raise DataError(
                f"The model reproduces the response exactly (penalised RSS {rss:.3g}); no "
                "residual variance can be estimated."
            )
        beta = linalg.solve_triangular(l_xx.T, l_yx, lower=False)
        dof = float(st.nobs - (p if self.reml else 0))
        value = logdet1 + logdet_z + dof * (1.0 + _LOG_2PI + np.log(rss / dof))
        if self.reml:
            value += 2.0 * float(np.log(np.diag(l_xx)).sum())
        return PlsEvaluation(float(value), beta, rss, dof, (l_xx, True), theta)

    def __call__(self, theta: np.ndarray) -> float:
        self.n_eval += 1
        return self.evaluate(theta).value

    # -- at the optimum -------------------------------------------------------------
    def blups(self, theta: np.ndarray, beta: np.ndarray) -> list[np.ndarray]:
        """Conditional modes :math:`b = \\Lambda u`, one (levels, q) array per factor (in the
        order of ``stats.factors``)."""
        st = self.stats
        pieces = st.split(theta)
        _, _, m_inv_tt = self._first_level(pieces[0])
        resid = np.r_[-beta, 1.0]  # [X y] @ resid = y - Xβ
        s_zz, s_zx, _, _ = self._schur(pieces)
        u_rest = np.zeros(st.r_z)
        out_rest: list[np.ndarray] = []
        scaling = st.rest_scaling(pieces)
        if st.r_z:
            u_rest = self._factor_rest(s_zz).solve(s_zx @ resid)
            b_rest = scaling.left(u_rest)
            start = 0
            for f in st.rest:
                out_rest.append(b_rest[start : start + f.size].reshape(f.n_levels, f.q))
                start += f.size
        # first factor: u_1 = M⁻¹T'(Z_1'(y - Xβ) - Z_1'Z_rest Λ_rest u_rest), b_1 = T u_1
        q1 = st.first.q
        rhs = (st.c_x @ resid - st.c_z @ scaling.left(u_rest)).reshape(-1, q1)
        u1 = np.einsum("gij,gj->gi", m_inv_tt, rhs)
        t1 = st.first.layout.lam(pieces[0])
        return [u1 @ t1.T, *out_rest]

    def conditional_covariances(self, theta: np.ndarray, sigma2: float) -> list[np.ndarray]:
        """Conditional covariance of each level's effects given y (lme4's ``condVar``):
        diagonal blocks of :math:`\\sigma^2\\Lambda(\\Lambda'Z'Z\\Lambda + I)^{-1}\\Lambda'`,
        one (levels, q, q) array per factor."""
        st = self.stats
        pieces = st.split(theta)
        k, _, _ = self._first_level(pieces[0])
        first = k.copy()
        rest_blocks: list[np.ndarray] = []
        if st.r_z and self.dense:
            first, rest_blocks = self._conditional_dense(pieces, k)
        elif st.r_z:
            first, rest_blocks = self._conditional_sparse(pieces, k)
        return [sigma2 * first, *(sigma2 * b for b in rest_blocks)]

    def _conditional_dense(self, pieces: list[np.ndarray], k: np.ndarray):
        """With G = Λ_r S⁻¹ Λ_r' (dense): the first factor's blocks are
        :math:`K_i + K_i (C_i G C_i') K_i` (a sum over the pairs of each level), the others'
        the diagonal blocks of G."""
        st = self.stats
        q1 = st.first.q
        s_zz, _, _, _ = self._schur(pieces)
        s_inv = self._factor_rest(s_zz).solve(np.eye(st.r_z))
        scaling = st.rest_scaling(pieces)
        g = scaling.left(scaling.left(s_inv).T)  # Λ S⁻¹ Λ' = (Λ(ΛS⁻¹)')', symmetric
        pairs = LevelPairs.from_cross(st.c_z, q1)  # per level (no classes)
        coef = g[pairs.row, pairs.col]
        off = pairs.row != pairs.col
        w = np.empty((st.first.n_levels, q1, q1))
        for j in range(q1):  # a loop over effects per level
            for m in range(q1):
                both = pairs.products[:, j * q1 + m] + off * pairs.products[:, m * q1 + j]
                w[:, j, m] = np.bincount(pairs.level, both * coef, st.first.n_levels)
        first = k + np.einsum("gij,gjl,glm->gim", k, w, k)
        rest_blocks = []
        start = 0
        for f in st.rest:
            idx = start + np.arange(f.size).reshape(f.n_levels, f.q)
            rest_blocks.append(g[idx[:, :, None], idx[:, None, :]])
            start += f.size
        return first, rest_blocks

    def _conditional_sparse(self, pieces: list[np.ndarray], k: np.ndarray):
        """Chunks of sparse solves (memory bounded) when the Schur complement is sparse."""
        st = self.stats
        q1, m1 = st.first.q, st.first.n_levels
        first = k.copy()
        rest = self._factor_rest(self._schur(pieces)[0])
        lam_r = st.lam_rest(pieces)
        # first factor: K_i + E_i S⁻¹ E_i' with E = K Z_1'Z_rest Λ_rest, in chunks of levels
        e = (_block_diagonal(k) @ st.c_z @ lam_r).tocsr()
        chunk = max(1, int(2_000_000 // max(st.r_z, 1)) // q1)
        for lo in range(0, m1, chunk):  # bounded memory: chunks of levels
            hi = min(m1, lo + chunk)
            block = e[lo * q1 : hi * q1].toarray()
            sol = rest.solve(block.T)  # S⁻¹E_i', (r_z, rows)
            first[lo:hi] += np.einsum(
                "gar,gbr->gab",
                block.reshape(hi - lo, q1, st.r_z),
                sol.T.reshape(hi - lo, q1, st.r_z),
            )
        # other factors: diagonal blocks of Λ_rest S⁻¹ Λ_rest'
        rest_blocks = []
        start = 0
        for f, piece in zip(st.rest, pieces[1:], strict=True):
            t = f.layout.lam(piece)
            blocks = np.empty((f.n_levels, f.q, f.q))
            step = max(1, int(2_000_000 // max(st.r_z, 1)) // f.q)
            for lo in range(0, f.n_levels, step):
                hi = min(f.n_levels, lo + step)
                cols = np.arange(start + lo * f.q, start + hi * f.q)
                unit = np.zeros((st.r_z, cols.size))
                unit[cols, np.arange(cols.size)] = 1.0
                sol = rest.solve(unit)[cols].reshape(hi - lo, f.q, hi - lo, f.q)
                inv = sol[np.arange(hi - lo), :, np.arange(hi - lo), :]  # (levels, q, q)
                blocks[lo:hi] = np.einsum("ij,gjk,lk->gil", t, inv, t)
            rest_blocks.append(blocks)
            start += f.size
        return first, rest_blocks
