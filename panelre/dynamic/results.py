"""Results of dynamic panel GMM (``pr.gmm``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from panelre.dynamic.design import DynamicDesign
from panelre.dynamic.estimate import GMMFit, ar_test, hansen_test, sargan_test
from panelre.exceptions import InvalidParameterError
from panelre.results import TestResult, tidy_coefficients
from panelre.tables import Summary, coefficient_table, format_number

__all__ = ["GMMResults"]


@dataclass(frozen=True)
class GMMResults:
    """Difference or system GMM estimates (immutable).

    ``params``, ``std_errors``, ``cov``, ``tstats``, ``pvalues`` and ``conf_int`` follow the
    panel results (z statistics: GMM inference is asymptotic); ``cov_type`` says which
    variance is reported (``"robust"``: cluster-robust by entity, with Windmeijer's
    correction after two steps; ``"unadjusted"``: plm's ``vcov``).

    Attributes
    ----------
    formula : str
    transformation : {"difference", "system"}
    steps : int
    cov_type : str
    design : DynamicDesign
    fit : GMMFit
    """

    formula: str
    transformation: str
    steps: int
    cov_type: str
    design: DynamicDesign = field(repr=False)
    fit: GMMFit = field(repr=False)

    # ------------------------------------------------------------------ coefficients
    @cached_property
    def params(self) -> pd.Series:
        """Estimated coefficients."""
        return pd.Series(self.fit.params, index=self.design.names, name="params")

    @cached_property
    def cov(self) -> pd.DataFrame:
        """The reported covariance matrix."""
        matrix = self.fit.vcov_robust if self.cov_type == "robust" else self.fit.vcov
        names = self.design.names
        return pd.DataFrame(matrix, index=names, columns=names)

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors."""
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.design.names,
                         name="std_errors")  # fmt: skip

    @property
    def tstats(self) -> pd.Series:
        """z statistics."""
        return (self.params / self.std_errors).rename("tstats")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided normal p-values."""
        return pd.Series(2 * stats.norm.sf(np.abs(self.tstats)), index=self.design.names,
                         name="pvalues")  # fmt: skip

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Normal confidence intervals with columns ``lower`` and ``upper``."""
        half = stats.norm.ppf(0.5 + level / 2) * self.std_errors
        return pd.DataFrame({"lower": self.params - half, "upper": self.params + half})

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy coefficient table."""
        return tidy_coefficients(self, level)

    # ------------------------------------------------------------------ sample
    @property
    def nobs(self) -> int:
        """Equations used (differenced, plus levels in system GMM), as plm's count."""
        return int(self.design.valid.sum())

    @property
    def n_entities(self) -> int:
        """Entities (groups)."""
        return len(self.design.entities)

    @property
    def n_instruments(self) -> int:
        """Columns of the instrument matrix (as plm and xtabond2 count them)."""
        return self.design.n_instruments

    # ------------------------------------------------------------------ tests
    @property
    def ar_tests(self) -> dict[int, TestResult]:
        """Arellano–Bond tests of AR(1) and AR(2) in the differenced errors (robust:
        with the reported robust variance, as plm's ``summary`` and xtabond2)."""
        robust = self.cov_type == "robust"
        return {order: ar_test(self.design, self.fit, order, robust) for order in (1, 2)}

    @property
    def hansen(self) -> TestResult:
        """Hansen's J of the overidentifying restrictions: the two-step criterion
        (plm's ``sargan``; xtabond2's "Hansen test" after two steps)."""
        return hansen_test(self.design, self.fit)

    @property
    def sargan(self) -> TestResult:
        """Sargan's test with the one-step weights, ``g'(Σ Zᵢ'HZᵢ)⁻¹g / σ̂²`` at the
        one-step residuals with σ̂² = SSR/(2n) (xtabond2's "Sargan test" of difference
        GMM; not robust to heteroskedasticity)."""
        return sargan_test(self.design, self.fit)

    def difference_in_hansen(self, group: str) -> tuple[TestResult, TestResult]:
        """Difference-in-Hansen test of an instrument group: Hansen's J without the
        group, and the difference from the full J (the test of the group's validity),
        as xtabond2. ``group``: a ``gmm`` expression or ``"standard"``."""
        groups = self.design.groups
        if group not in groups:
            raise InvalidParameterError(
                f"Unknown instrument group {group!r}. Groups: {', '.join(groups)}."
            )
        keep = np.setdiff1d(np.arange(self.n_instruments), groups[group])
        without = hansen_test(self.design, self.fit, keep)
        full = self.hansen
        df = full.df - without.df  # type: ignore[operator]
        stat = full.stat - without.stat
        difference = TestResult(
            name=f"Difference-in-Hansen test of the {group!r} instruments",
            stat=stat,
            df=df,
            pvalue=float(stats.chi2.sf(stat, df)),
            null=f"the {group!r} instruments are valid",
            alternative=f"the {group!r} instruments are invalid",
        )
        return without, difference

    # ------------------------------------------------------------------ display
    @property
    def summary(self) -> Summary:
        """Text/HTML/LaTeX/Markdown summary with the instrument count and the tests."""
        name = "Difference" if self.transformation == "difference" else "System"
        kind = "two-step" if self.steps == 2 else "one-step"
        header = [
            ("Estimator", f"{name} GMM, {kind}"),
            ("Observations", str(self.nobs)),
            ("Entities", str(self.n_entities)),
            ("Instruments", str(self.n_instruments)),
            ("Covariance", "Windmeijer-corrected robust" if self.steps == 2 and
             self.cov_type == "robust" else self.cov_type),
        ]  # fmt: skip
        table = coefficient_table(
            self.params, self.std_errors, self.tstats, self.pvalues, self.conf_int(), "z"
        )
        notes = [
            f"{t.name}: z = {format_number(t.stat)}, p = {format_number(t.pvalue)}"
            for t in self.ar_tests.values()
        ]
        for test in (self.hansen, self.sargan):
            if test.valid:
                notes.append(
                    f"{test.name}: chi2({test.df}) = {format_number(test.stat)}, "
                    f"p = {format_number(test.pvalue)}"
                )
        if self.n_instruments > self.n_entities:
            notes.append(
                f"Warning: {self.n_instruments} instruments for {self.n_entities} entities; "
                "too many instruments weaken the Hansen test (use collapse=True or shorter "
                "lag ranges)."
            )
        return Summary(f"{name} GMM estimation results", header, [table], notes)

    def __str__(self) -> str:
        return str(self.summary)

    def _repr_html_(self) -> str:
        return self.summary._repr_html_()
