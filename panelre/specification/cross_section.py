"""Tests for cross-sectional dependence of panel residuals (R plm's ``pcdtest``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from panelre._validation import check_option
from panelre._warnings import warn
from panelre.exceptions import (
    IncompatibleResultsError,
    InsufficientDataError,
    InvalidParameterError,
    PanelreWarning,
)
from panelre.results import PanelResults, TestResult
from panelre.specification._weighted import undefined_with_weights

__all__ = ["cross_sectional_dependence", "pairwise_correlations", "CD_TESTS"]

CD_TESTS = ("pesaran-cd", "lm", "scaled-lm", "bias-corrected")
_ALIASES = {"cd": "pesaran-cd", "sclm": "scaled-lm", "bcsclm": "bias-corrected"}
#: Above this many entities the N x N correlations are refused (memory grows as N²).
MAX_ENTITIES = 20_000
_BLOCK = 512


def _correlation_blocks(wide: pd.DataFrame) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    """Row blocks of the pairwise correlations and common-period counts (see
    ``pairwise_correlations``): memory O(block · N)."""
    values = wide.to_numpy(dtype=float)
    mask = (~np.isnan(values)).astype(float)
    x = np.where(mask > 0, values, 0.0)
    x2 = x * x
    n = values.shape[0]
    for start in range(0, n, _BLOCK):  # a loop over blocks of rows
        rows = slice(start, min(start + _BLOCK, n))
        t = mask[rows] @ mask.T
        sx, sy = x[rows] @ mask.T, mask[rows] @ x.T
        sxx, syy = x2[rows] @ mask.T, mask[rows] @ x2.T
        sxy = x[rows] @ x.T
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = sxy - sx * sy / t
            var = (sxx - sx * sx / t) * (syy - sy * sy / t)
            yield rows, cov / np.sqrt(var), t


def pairwise_correlations(wide: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Correlations of every pair of rows of an entity x period table over the periods both
    are observed in (NaN: not observed), as R's ``cor(use="pairwise.complete.obs")``, and
    the number of those common periods (two N x N matrices).

    Computed from five matrix products of the table and its presence mask, in blocks of
    rows.

    Examples
    --------
    >>> w = pd.DataFrame([[1.0, 2.0, 3.0], [2.0, 4.0, 5.0], [np.nan, 1.0, 0.0]])
    >>> rho, t = pairwise_correlations(w)
    >>> round(float(rho[0, 1]), 4), float(rho[0, 2]), float(t[0, 2])
    (0.982, -1.0, 2.0)
    """
    n = len(wide)
    rho, common = np.empty((n, n)), np.empty((n, n))
    for rows, r, t in _correlation_blocks(wide):
        rho[rows], common[rows] = r, t
    return rho, common


@dataclass
class _PairSums:
    """Sums over the pairs i > j with at least two common periods."""

    pairs: int = 0
    short: int = 0
    cd: float = 0.0
    lm: float = 0.0
    max_common: float = 0.0

    def add(self, rows: slice, rho: np.ndarray, common: np.ndarray) -> None:
        i = np.arange(rows.start, rows.stop)[:, None]
        below = i > np.arange(common.shape[1])[None, :]
        use = below & (common > 1)
        self.short += int((below & (common <= 1)).sum())
        self.pairs += int(use.sum())
        r, t = rho[use], common[use]
        self.cd += float(np.sum(np.sqrt(t) * r))
        self.lm += float(np.sum(t * r**2))
        # plm's T in the bias correction: the largest count, the diagonal (Tᵢ) included
        self.max_common = max(self.max_common, float(common.max()))


def cross_sectional_dependence(result: PanelResults, *, test: str = "pesaran-cd") -> TestResult:
    """Test the residuals of a panel model for cross-sectional dependence (R plm ``pcdtest``).

    With ρᵢⱼ the correlation of the residuals of entities i and j over the Tᵢⱼ periods both
    are observed in (pairs with Tᵢⱼ ≤ 1 left out, with a warning, as plm) and P the number
    of pairs:

    - ``"pesaran-cd"``: CD = sqrt(1/P) Σ sqrt(Tᵢⱼ) ρᵢⱼ, normal (Pesaran 2004, 2015); valid
      for N large relative to T.
    - ``"lm"``: Breusch–Pagan LM = Σ Tᵢⱼ ρᵢⱼ², χ²(P) (Breusch & Pagan 1980); N small, T large.
    - ``"scaled-lm"``: sqrt(1/(2P)) Σ (Tᵢⱼ ρᵢⱼ² − 1), normal (Pesaran 2004).
    - ``"bias-corrected"``: the scaled LM minus N/(2(T − 1)) (Baltagi, Feng & Kao 2012),
      for fixed-effects residuals only.

    Parameters
    ----------
    result : PanelResults
        A fitted panel model; its own regression's residuals are tested (within residuals
        for fixed effects, quasi-demeaned ones for random effects, as plm).
    test : {"pesaran-cd", "lm", "scaled-lm", "bias-corrected"}
        Case-insensitive; plm's names ``"cd"``, ``"sclm"``, ``"bcsclm"`` are accepted.

    Returns
    -------
    TestResult
        Two-sided normal p-values for the CD and scaled tests, χ²(P) for the LM test.

    Raises
    ------
    InvalidParameterError
        For an unknown ``test``.
    IncompatibleResultsError
        ``"bias-corrected"`` on a model other than entity or two-way fixed effects.
    InsufficientDataError
        Fewer than two entities with two common periods, or more than 20,000 entities.

    Notes
    -----
    The test needs the N x T table of residuals in memory and computes N(N − 1)/2
    correlations (in blocks, memory O(512 · N)), on every backend: its time grows with the
    number of entities squared, not with the rows.

    Examples
    --------
    >>> import panelre as pr
    >>> fe = pr.fixed_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                       entity="firm", time="year")
    >>> t = pr.cross_sectional_dependence(fe)     # plm pcdtest: z = 4.6612
    >>> round(t.stat, 4)
    4.6612
    """
    test = check_option("test", test, CD_TESTS, _ALIASES)
    if not isinstance(result, PanelResults):
        raise InvalidParameterError(
            "cross_sectional_dependence() takes a fitted panel result. "
            f"Got {type(result).__name__}."
        )
    undefined = undefined_with_weights(result, f"{test} test for cross-sectional dependence")
    if undefined is not None:
        return undefined
    within = result.estimator == "fixed_effects" and result.model.effects in ("entity", "twoway")
    if test == "bias-corrected" and not within:
        raise IncompatibleResultsError(
            "The bias-corrected scaled LM test is defined for fixed-effects residuals "
            f"(entity or two-way effects). Got {result.estimator!r}."
        )
    resids = result.regression_resids
    n_entities = resids.index.get_level_values(0).nunique()
    if n_entities > MAX_ENTITIES:
        raise InsufficientDataError(
            f"Cross-sectional dependence tests need all N(N-1)/2 pairwise correlations; with "
            f"{n_entities} entities (more than {MAX_ENTITIES}) they do not fit in memory."
        )
    sums = _PairSums()
    for block in _correlation_blocks(resids.unstack()):
        sums.add(*block)
    if sums.short:
        share = 100 * sums.short / (sums.short + sums.pairs)
        warn(
            f"{share:.2g}% of the pairs of entities have at most one period in common and "
            "are left out of the test (as R plm).",
            PanelreWarning,
        )
    n_pairs = sums.pairs
    if n_pairs == 0:
        raise InsufficientDataError(
            "No pair of entities shares two periods: cross-sectional dependence cannot be tested."
        )
    null, alternative = "no cross-sectional dependence", "cross-sectional dependence"
    if test == "lm":
        stat = sums.lm
        return TestResult(
            "Breusch-Pagan LM test for cross-sectional dependence",
            stat, n_pairs, float(stats.chi2.sf(stat, n_pairs)), null, alternative,
        )  # fmt: skip
    if test == "pesaran-cd":
        stat, name = float(sums.cd / np.sqrt(n_pairs)), "Pesaran CD test"
    else:
        stat = float((sums.lm - n_pairs) / np.sqrt(2 * n_pairs))
        name = "Scaled LM test"
        if test == "bias-corrected":
            stat -= n_entities / (2 * (sums.max_common - 1))
            name = "Bias-corrected scaled LM test"
    return TestResult(
        f"{name} for cross-sectional dependence",
        stat, None, float(2 * stats.norm.sf(abs(stat))), null, alternative,
        distribution="normal",
    )  # fmt: skip
