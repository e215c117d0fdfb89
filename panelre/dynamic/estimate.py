"""One- and two-step GMM on a ``DynamicDesign``, Windmeijer's corrected variance, and the
Arellano–Bond, Sargan and Hansen tests, with R plm ``pgmm``'s conventions.

Every sum over entities is one product with the sparse ``(N·R, L)`` instrument matrix:
``Z'X = Σᵢ Zᵢ'Xᵢ``, ``Σᵢ Zᵢ'HZᵢ`` (through the block-diagonal ``I ⊗ H``), and the
per-entity moments ``Zᵢ'eᵢ`` (through the entity-summing matrix) for ``Σᵢ Zᵢ'eᵢeᵢ'Zᵢ``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats

from panelre.dynamic.design import DynamicDesign
from panelre.results import TestResult, overidentification_test

__all__ = ["GMMFit", "fit_gmm", "hansen_test", "sargan_test", "ar_test"]


def _cross(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``Σᵢ Aᵢ'Bᵢ`` over entities for dense (N, R, a) and (N, R, b) arrays."""
    return A.reshape(-1, A.shape[2]).T @ B.reshape(-1, B.shape[2])


def _z_cross(Z: sparse.csr_array, B: np.ndarray) -> np.ndarray:
    """``Σᵢ Zᵢ'Bᵢ`` for the sparse instruments and a dense (N, R, b) array."""
    return np.asarray(Z.T @ B.reshape(-1, B.shape[2]))


def _per_entity(Z: sparse.csr_array, e: np.ndarray) -> np.ndarray:
    """``Zᵢ'eᵢ`` for every entity: (N, L). The rows of entity i are i·R ... i·R + R − 1,
    so the CSR matrix with every R-th row pointer (rows merged per entity) of the
    entries scaled by e sums them."""
    N, R = e.shape
    rows = np.repeat(np.arange(N * R), np.diff(Z.indptr))
    merged = sparse.csr_array(
        (Z.data * e.ravel()[rows], Z.indices, Z.indptr[::R]), shape=(N, Z.shape[1])
    )
    return np.asarray(merged.toarray())


#: entities per dense block in ``_weighted_cross`` (block of R x L doubles each)
_BLOCK_ENTITIES = 8192


def _weighted_cross(Z: sparse.csr_array, H: np.ndarray, n_entities: int) -> np.ndarray:
    """``Σᵢ Zᵢ'HZᵢ``, over blocks of entities made dense (bounded memory, one BLAS product
    per block)."""
    R, L = H.shape[0], Z.shape[1]
    out = np.zeros((L, L))
    for start in range(0, n_entities, _BLOCK_ENTITIES):  # a loop over blocks of entities
        stop = min(start + _BLOCK_ENTITIES, n_entities)
        n = stop - start
        # equation-major (R, n·L): H acts on the first axis in one product
        block = Z[start * R : stop * R].toarray().reshape(n, R, L).transpose(1, 0, 2)
        by_equation = np.ascontiguousarray(block).reshape(R, n * L)
        weighted = (H @ by_equation).reshape(R * n, L)
        out += by_equation.reshape(R * n, L).T @ weighted
    return (out + out.T) / 2


def _inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric matrix (the Moore–Penrose one when it is singular, as plm)."""
    sym = (matrix + matrix.T) / 2
    try:
        return np.linalg.inv(sym)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(sym)


@dataclass(frozen=True)
class GMMFit:
    """The estimates of one- or two-step difference GMM.

    Attributes
    ----------
    params : ndarray (K,)
    vcov : ndarray (K, K)
        The conventional variance, ``(X'Z A Z'X)⁻¹`` (plm's ``vcov``).
    vcov_robust : ndarray (K, K)
        One step: cluster-robust by entity; two steps: Windmeijer's (2005) correction.
    resid : ndarray (N, R)
    weight : ndarray (L, L)
        ``A`` of the reported step.
    weight_two_step : ndarray (L, L)
        ``(Σ Zᵢ'e₁ᵢe₁ᵢ'Zᵢ)⁻¹`` from the one-step residuals (for the Hansen test).
    steps : int
    resid_one_step : ndarray (N, R)
    """

    params: np.ndarray
    vcov: np.ndarray
    vcov_robust: np.ndarray
    resid: np.ndarray
    weight: np.ndarray
    weight_two_step: np.ndarray
    steps: int
    resid_one_step: np.ndarray


def _solve_step(zx: np.ndarray, zy: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bread = _inverse(zx.T @ A @ zx)
    return bread @ (zx.T @ A @ zy), bread


def fit_gmm(design: DynamicDesign, steps: int) -> GMMFit:
    """Difference GMM in one or two steps."""
    y, X, Z = design.y, design.X, design.Z
    N = y.shape[0]
    zx = _z_cross(Z, X)
    zy = _z_cross(Z, y[:, :, None])[:, 0]
    A1 = N * _inverse(_weighted_cross(Z, design.H, N))
    beta1, bread1 = _solve_step(zx, zy, A1)
    e1 = y - X @ beta1
    ze1 = _per_entity(Z, e1)
    S1 = ze1.T @ ze1
    robust1 = bread1 @ zx.T @ A1 @ S1 @ A1 @ zx @ bread1
    A2 = _inverse(S1)
    if steps == 1:
        return GMMFit(beta1, bread1, robust1, e1, A1, A2, 1, e1)
    beta2, bread2 = _solve_step(zx, zy, A2)
    e2 = y - X @ beta2
    # Windmeijer (2005): the derivative of the two-step estimate with respect to the
    # one-step estimate through the weight matrix, D[:, k] = B2 X'Z A2 Ω_k A2 Z'e2 with
    # Ω_k = Σᵢ Zᵢ'(xᵢₖe₁ᵢ' + e₁ᵢxᵢₖ')Zᵢ
    ze2 = _z_cross(Z, e2[:, :, None])[:, 0]
    right = A2 @ ze2
    left = bread2 @ zx.T @ A2
    D = np.empty((len(beta2), len(beta2)))
    for k in range(len(beta2)):  # a loop over coefficients
        omega = _per_entity(Z, X[:, :, k]).T @ ze1
        D[:, k] = left @ (omega + omega.T) @ right
    corrected = bread2 + D @ bread2 + bread2 @ D.T + D @ robust1 @ D.T
    return GMMFit(beta2, bread2, (corrected + corrected.T) / 2, e2, A2, A2, 2, e1)


def hansen_test(
    design: DynamicDesign, fit: GMMFit, columns: np.ndarray | None = None
) -> TestResult:
    """Hansen's J: the criterion of the two-step estimate, ``g'A₂g`` with ``g = Σᵢ Zᵢ'eᵢ``
    and ``A₂ = (Σ Zᵢ'e₁ᵢe₁ᵢ'Zᵢ)⁻¹`` from the one-step residuals (plm's ``sargan`` of a
    two-step fit; xtabond2's "Hansen test", also after one step). ``columns`` restricts
    the instruments (for difference-in-Hansen tests)."""
    Z = design.Z if columns is None else sparse.csr_array(design.Z[:, columns])
    X, y = design.X, design.y
    zx = _z_cross(Z, X)
    zy = _z_cross(Z, y[:, :, None])[:, 0]
    ze1 = _per_entity(Z, fit.resid_one_step)
    A2 = _inverse(ze1.T @ ze1)
    beta2, _ = _solve_step(zx, zy, A2)
    g = zy - zx @ beta2
    stat = float(g @ A2 @ g)
    df = Z.shape[1] - len(fit.params)
    return overidentification_test(
        "Hansen J test of overidentifying restrictions",
        stat,
        df,
        "the instruments are valid (uncorrelated with the differenced error)",
        "some instruments are invalid",
    )


def sargan_test(design: DynamicDesign, fit: GMMFit) -> TestResult:
    """Sargan's test of difference GMM as xtabond2 prints it: ``g'(Σ Zᵢ'HZᵢ)⁻¹g / σ̂²``
    at the one-step residuals, σ̂² = SSR/(2n) over the n differenced equations (not
    robust to heteroskedasticity). Not computed for system GMM."""
    df = design.n_instruments - len(fit.params)
    if design.difference_rows != design.y.shape[1]:
        return TestResult(
            name="Sargan test of overidentifying restrictions",
            stat=float("nan"),
            df=df,
            pvalue=float("nan"),
            null="the instruments are valid",
            alternative="some instruments are invalid",
            valid=False,
            reason="computed for difference GMM only (use the Hansen test)",
        )
    Z, e1 = design.Z, fit.resid_one_step
    g = _z_cross(Z, e1[:, :, None])[:, 0]
    zhz = _weighted_cross(Z, design.H, e1.shape[0])
    sigma2 = float(np.sum(e1**2)) / (2 * int(design.valid.sum()))
    stat = float(g @ _inverse(zhz) @ g) / sigma2
    return overidentification_test(
        "Sargan test of overidentifying restrictions",
        stat,
        df,
        "the instruments are valid (uncorrelated with the differenced error)",
        "some instruments are invalid",
    )


def ar_test(design: DynamicDesign, fit: GMMFit, order: int, robust: bool = True) -> TestResult:
    """Arellano–Bond test for serial correlation of ``order`` in the differenced errors
    (plm's ``mtest``; with ``robust`` the variance uses the robust / Windmeijer vcov)."""
    # the differenced equations only: plm zeroes the level residuals of system GMM
    R1 = design.difference_rows
    e = np.zeros_like(fit.resid)
    e[:, :R1] = fit.resid[:, :R1]
    X, Z = design.X, design.Z
    lagged = np.zeros_like(e)
    lagged[:, order:R1] = e[:, : R1 - order]
    d = np.sum(lagged * e, axis=1)
    ze = _per_entity(Z, e)
    xl = _cross(lagged[:, :, None], X)[0]
    zx = _z_cross(Z, X)
    V = fit.vcov_robust if robust else fit.vcov
    variance = np.sum(d**2) - 2 * xl @ fit.vcov @ zx.T @ fit.weight @ (ze.T @ d) + xl @ V @ xl
    stat = float(d.sum() / np.sqrt(variance))
    return TestResult(
        name=f"Arellano-Bond test for AR({order}) in first differences",
        stat=stat,
        df=None,
        pvalue=float(2 * stats.norm.sf(abs(stat))),
        null=f"no autocorrelation of order {order} in the differenced errors",
        alternative=f"autocorrelation of order {order}",
        distribution="normal",
    )
