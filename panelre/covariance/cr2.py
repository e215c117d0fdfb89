"""Bias-reduced cluster-robust covariance (CR2, Bell–McCaffrey) with Satterthwaite
degrees of freedom per coefficient, for inference with few clusters.

For cluster g with regressors X_g and residuals e_g, CR2 replaces e_g in the clustered
meat by A_g e_g with A_g = (I − X_g M X_g')^{-1/2} and M = (X'X)^{-1} (Bell and McCaffrey
2002; Pustejovsky and Tipton 2018, who show that fixed effects nested in the clusters may
be left out of the hat matrix). The n_g × n_g matrix function never has to be formed:
since X_g' H_g = (C_g M) X_g' with C_g = X_g'X_g and H_g = X_g M X_g',

    X_g' A_g e_g = f(C_g M) X_g'e_g = R⁻¹ f(R C_g R) R s_g,   f(λ) = (1 − λ)^{-1/2},

with R = M^{1/2} and s_g the cluster's score sum: a k × k eigenproblem per cluster, on
the sufficient statistics C_g and s_g (batched over clusters). A direction with
λ = 1 (I − H_g singular) gets f = 0, the Moore–Penrose choice of R clubSandwich.

The Satterthwaite degrees of freedom of coefficient j (clubSandwich
``coef_test(test = "Satterthwaite")`` under its default working model, Φ = I) are
``(tr P)² / ‖P‖²_F`` with the G × G matrix ``P = diag(d) − Z Z'``, where, with the
eigenvalues λ and vectors V of ``R C_g R`` and ``w = V' R c_j``,
``d_g = Σ f² λ w²`` and ``z_g = V (f λ w)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from panelre.covariance._base import (
    CovarianceEstimator,
    CovarianceInputs,
    ParameterCovariance,
    WorkingRows,
    sandwich,
)
from panelre.exceptions import InvalidParameterError

__all__ = ["BellMcCaffrey", "satterthwaite_df"]

SINGULAR = 1e-10  # 1 − λ below this: I − H_g is singular in that direction


def _root(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric square root of a positive definite matrix and its inverse."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    if values.min() <= 0:
        raise InvalidParameterError(
            "cov='cr2' needs a positive definite (X'X)^-1; the regressors are collinear."
        )
    root = (vectors * np.sqrt(values)) @ vectors.T
    inverse = (vectors / np.sqrt(values)) @ vectors.T
    return root, inverse


def satterthwaite_df(
    lam: np.ndarray, vectors: np.ndarray, factor: np.ndarray, root: np.ndarray
) -> np.ndarray:
    """Satterthwaite degrees of freedom of every coefficient.

    Parameters
    ----------
    lam, vectors : ndarray (G, k), (G, k, k)
        Eigenvalues and eigenvectors of ``R C_g R`` per cluster.
    factor : ndarray (G, k)
        ``f(λ)``.
    root : ndarray (k, k)
        ``R = M^{1/2}``.

    Returns
    -------
    ndarray (k,)
    """
    k = root.shape[0]
    out = np.empty(k)
    for j in range(k):  # a loop over coefficients
        w = np.einsum("gik,i->gk", vectors, root[:, j])  # V_g' R c_j
        d = np.sum(factor**2 * lam * w**2, axis=1)
        z = np.einsum("gik,gk->gi", vectors, factor * lam * w)
        zz = z @ z.T
        trace = d.sum() - np.trace(zz)
        frob = np.sum(d**2) - 2 * np.sum(d * np.diag(zz)) + np.sum(zz**2)
        out[j] = trace**2 / frob
    return out


def _random_effects_cr2(rows: WorkingRows, bread: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """CR2 meat and Satterthwaite df of one-way random effects with the working covariance
    ``Φᵢ = I + ρ11'`` (ρ = σ²ᵤ/σ²ₑ), weights ``Wᵢ = Φᵢ⁻¹`` and the untransformed rows, as
    R clubSandwich: ``Aᵢ = Dᵢ'[Dᵢ(Φᵢ − XᵢMXᵢ')Dᵢ']^{-1/2}Dᵢ`` with ``Dᵢ`` the upper
    Cholesky factor of Φᵢ. Entities of equal size share Φ, D and W, so each size class
    is one batched eigenproblem (a loop over the distinct sizes, not over entities)."""
    X, e, groups = rows.regressors, rows.resid, rows.groups
    M = bread
    order = np.argsort(groups, kind="stable")
    sizes = np.bincount(groups)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    k = X.shape[1]
    adjusted, d_all, z_all = [], [], []
    for size in np.unique(sizes):  # a loop over the distinct entity sizes
        members = np.flatnonzero(sizes == size)
        rows_idx = order[(starts[members][:, None] + np.arange(size)).ravel()]
        Xs = X[rows_idx].reshape(len(members), size, k)
        es = e[rows_idx].reshape(len(members), size)
        phi = np.eye(size) + rows.ratio
        W = np.linalg.inv(phi)
        D = np.linalg.cholesky(phi).T
        DX = D @ Xs  # (G, s, k)
        B = D @ phi @ D.T - DX @ M @ np.swapaxes(DX, 1, 2)
        lam, vec = np.linalg.eigh((B + np.swapaxes(B, 1, 2)) / 2)
        inv_root = np.where(lam > 1e-12, 1.0 / np.sqrt(np.maximum(lam, 1e-12)), 0.0)
        B_inv_root = (vec * inv_root[:, None, :]) @ np.swapaxes(vec, 1, 2)
        A = D.T @ B_inv_root @ D  # (G, s, s)
        WX = W @ Xs
        adjusted.append(np.einsum("gsk,gst,gt->gk", WX, A, es))
        g = A @ WX @ M  # (G, s, k): column j is g_j of every entity
        d_all.append(np.einsum("gsk,st,gtk->gk", g, phi, g))
        z_all.append(np.einsum("gsi,gsk->gki", Xs, g))  # (G, k_coef, k): X_g'g[:, coef]
    u = np.concatenate(adjusted)
    d = np.concatenate(d_all)
    z = np.concatenate(z_all)
    df = np.empty(k)
    for j in range(k):  # a loop over coefficients
        zj = z[:, j, :]
        zMz = zj @ M @ zj.T
        trace = d[:, j].sum() - np.trace(zMz)
        frob = np.sum(d[:, j] ** 2) - 2 * np.sum(d[:, j] * np.diag(zMz)) + np.sum(zMz**2)
        df[j] = trace**2 / frob
    return u.T @ u, df, len(sizes)


class BellMcCaffrey(CovarianceEstimator):
    """The CR2 cluster-robust covariance with Satterthwaite degrees of freedom.

    Parameters
    ----------
    cluster : "entity", "time", column name or array
        One clustering; fixed effects absorbed by the estimator must nest within it.
    small_sample : False
        CR2 carries its own small-sample adjustment; no further factor applies.

    Examples
    --------
    >>> import panelre as pr
    >>> fe = pr.fixed_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                       entity="firm", time="year", cov="cr2")
    >>> fe.std_errors.round(4).to_dict()
    {'value': 0.0206, 'capital': 0.0827}
    """

    name = "cr2"

    def __init__(self, *, cluster: Any = "entity", small_sample: bool | str = False) -> None:
        if small_sample not in (False, None):
            raise InvalidParameterError(
                "cov='cr2' has its own small-sample adjustment (the bias-reducing A_g) and "
                f"takes no small_sample factor. Got small_sample={small_sample!r}."
            )
        super().__init__(small_sample=False)
        if isinstance(cluster, (list, tuple)):
            raise InvalidParameterError(
                "cov='cr2' takes one clustering (a two-way CR2 is not defined). "
                f"Got {list(cluster)!r}; use cov='cluster' for two-way clustering."
            )
        self.cluster = cluster

    def _check(self, inputs: CovarianceInputs) -> None:
        if inputs.working_rows is not None:
            if self.cluster != "entity":
                raise InvalidParameterError(
                    "cov='cr2' for random effects clusters by entity (the groups of the "
                    f"working covariance, as R clubSandwich). Got cluster={self.cluster!r}."
                )
            return
        if inputs.cluster_gram is None:
            raise InvalidParameterError(
                "cov='cr2' is available for pooled OLS, between, first differences, fixed "
                f"effects and random effects; not for {inputs.cluster_gram_unavailable}."
            )
        if inputs.weighted:
            raise InvalidParameterError(
                "cov='cr2' with observation weights is not supported; use cov='cluster' "
                "(or the wild cluster bootstrap, pr.wild_bootstrap) for weighted fits."
            )
        for dimension, _ in inputs.absorbed_levels:
            if not inputs.nests_in(dimension, self.cluster):
                hint = (
                    " For two-way fixed effects clustered by entity, absorb the entity "
                    "effects and add the periods as regressors (e.g. '+ C(year)'): that is "
                    "the CR2 of R clubSandwich's vcovCR on a two-way plm model."
                    if dimension == "time"
                    else ""
                )
                raise InvalidParameterError(
                    f"cov='cr2' needs the absorbed {dimension} effects to nest within the "
                    f"clusters (cluster={self.cluster!r}), as in Pustejovsky and Tipton "
                    f"(2018).{hint}"
                )

    def _spectra(
        self, inputs: CovarianceInputs
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        assert inputs.cluster_gram is not None
        root, inverse = _root(inputs.bread)
        sums = inputs.score_sums(self.cluster)  # (G, k)
        gram = inputs.cluster_gram(self.cluster)  # (G, k, k)
        if sums.shape[0] < 2:
            raise InvalidParameterError(
                f"cov='cr2' needs at least 2 clusters; cluster={self.cluster!r} has "
                f"{sums.shape[0]}."
            )
        lam, vectors = np.linalg.eigh(root @ gram @ root)
        lam = np.clip(lam, 0.0, 1.0)
        gap = 1.0 - lam
        factor = np.where(gap > SINGULAR, 1.0 / np.sqrt(np.maximum(gap, SINGULAR)), 0.0)
        return sums, root, inverse, lam, vectors, factor

    def meat(self, inputs: CovarianceInputs) -> np.ndarray:
        self._check(inputs)
        if inputs.working_rows is not None:
            return _random_effects_cr2(inputs.working_rows(), inputs.bread)[0]
        sums, root, inverse, _, vectors, factor = self._spectra(inputs)
        t = np.einsum("gik,ij,gj->gk", vectors, root, sums)  # V' R s_g
        adjusted = np.einsum("ij,gjk,gk->gi", inverse, vectors, factor * t)
        return adjusted.T @ adjusted

    def compute(self, inputs: CovarianceInputs) -> ParameterCovariance:
        self._check(inputs)
        if inputs.working_rows is not None:
            meat, df, n_groups = _random_effects_cr2(inputs.working_rows(), inputs.bread)
            return ParameterCovariance(sandwich(inputs.bread, meat), n_groups - 1, df)
        sums, root, inverse, lam, vectors, factor = self._spectra(inputs)
        t = np.einsum("gik,ij,gj->gk", vectors, root, sums)
        adjusted = np.einsum("ij,gjk,gk->gi", inverse, vectors, factor * t)
        matrix = sandwich(inputs.bread, adjusted.T @ adjusted)
        df = satterthwaite_df(lam, vectors, factor, root)
        return ParameterCovariance(matrix, int(sums.shape[0]) - 1, df)

    def describe(self) -> str:
        name = self.cluster if isinstance(self.cluster, str) else "array"
        return f"CR2 ({name})"

    def options(self) -> dict[str, Any]:
        return {"cluster": self.cluster}
