"""Residual diagnostics that are not defined for fits with observation weights."""

from __future__ import annotations

from panelre.results import PanelResults, TestResult

__all__ = ["undefined_with_weights"]


def undefined_with_weights(result: PanelResults, test: str) -> TestResult | None:
    """A ``valid=False`` result for a weighted fit (None for an unweighted one): the
    serial-correlation and cross-sectional-dependence tests are derived for unweighted
    residuals, and weighting them is not a published variant."""
    kind = result.source.weight_type
    if kind is None:
        return None
    return TestResult(
        name=test,
        stat=float("nan"),
        df=None,
        pvalue=float("nan"),
        null="",
        alternative="",
        valid=False,
        reason=(
            f"The {test} is derived for unweighted residuals; it is not defined for a fit "
            f"with {kind} weights. Fit the model without weights to run it."
        ),
    )
