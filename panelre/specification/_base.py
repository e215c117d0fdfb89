"""The TestResult value shared by every specification test."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from panelre.tables import format_number

__all__ = ["TestResult"]


@dataclass(frozen=True)
class TestResult:
    """Outcome of a specification test.

    Attributes
    ----------
    name : str
        The test's name.
    stat : float
        Test statistic.
    df : int, (int, int) or None
        Degrees of freedom: an int for χ² tests, ``(df_num, df_denom)`` for F tests,
        None for normal (z) tests.
    pvalue : float
    null, alternative : str
        The hypotheses in words.
    valid : bool
        False when the statistic cannot be interpreted (``reason`` says why).
    reason : str
        Why the test is not valid (empty when it is).
    distribution : str
        ``"chi2"``, ``"F"`` or ``"normal"``.
    extra : mapping
        Test-specific details (e.g. the Hausman difference's rank).

    Examples
    --------
    >>> r = TestResult("demo", 3.2, 1, 0.07, "H0", "H1")
    >>> "p-value" in str(r)
    True
    """

    __test__ = False  # not a pytest test class

    name: str
    stat: float
    df: int | tuple[int, int] | None
    pvalue: float
    null: str
    alternative: str
    valid: bool = True
    reason: str = ""
    distribution: str = "chi2"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def rejects(self, alpha: float = 0.05) -> bool:
        """True when the test is valid and rejects the null at level ``alpha``."""
        return bool(self.valid and self.pvalue < alpha)

    def __str__(self) -> str:
        if self.distribution == "F" and isinstance(self.df, tuple):
            stat = f"F({self.df[0]}, {self.df[1]}) = {format_number(self.stat)}"
        elif self.distribution == "chi2":
            stat = f"chi2({self.df}) = {format_number(self.stat)}"
        else:
            stat = f"z = {format_number(self.stat)}"
        lines = [
            self.name,
            f"  H0: {self.null}",
            f"  H1: {self.alternative}",
            f"  {stat}, p-value = {format_number(self.pvalue)}",
        ]
        if not self.valid:
            lines.append(f"  NOT VALID: {self.reason}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python representation (for JSON output)."""
        df = list(self.df) if isinstance(self.df, tuple) else self.df
        return {
            "name": self.name,
            "stat": self.stat,
            "df": df,
            "pvalue": self.pvalue,
            "null": self.null,
            "alternative": self.alternative,
            "valid": self.valid,
            "reason": self.reason,
            "distribution": self.distribution,
        }
