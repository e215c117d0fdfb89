"""lme4-like summary of a mixed model: random-effects block and fixed-effects table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from panelre.tables import Summary, coefficient_table, format_number

if TYPE_CHECKING:
    from panelre.mixed.results import MixedResults

__all__ = ["build_summary", "random_effects_table"]


def random_effects_table(res: MixedResults) -> pd.DataFrame:
    """Variance, standard deviation and correlations (with earlier terms) of every grouping
    factor, then the residual, as lme4 prints them."""
    rows, corr_text = [], []
    for factor in res.factors:
        cov = factor.cov
        sd = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(sd, sd)
        for j, name in enumerate(factor.random_names):
            rows.append((f"{factor.name}: {name}", cov[j, j], sd[j]))
            block = next(b for b in factor.blocks if j in b)
            earlier = [k for k in block if k < j]
            corr_text.append(
                " ".join(f"{corr[j, k]:.3f}" if np.isfinite(corr[j, k]) else "NaN" for k in earlier)
            )
    rows.append(("Residual", res.sigma2, np.sqrt(res.sigma2)))
    corr_text.append("")
    table = pd.DataFrame(rows, columns=["Groups: Name", "Variance", "Std.Dev."])
    table = table.set_index("Groups: Name")
    table.index.name = None
    if any(corr_text):
        table["Corr"] = corr_text
    return table


def build_summary(res: MixedResults) -> Summary:
    kind = "REML" if res.reml else "maximum likelihood"
    crit = (
        ("REML criterion", format_number(res.reml_criterion))
        if res.reml
        else ("Deviance", format_number(res.deviance))
    )
    header = [
        ("Formula", res.formula),
        ("Response", res.response),
        ("No. observations", str(res.nobs)),
        *((f"No. groups ({name})", str(count)) for name, count in res.group_counts.items()),
        crit,
        ("Log-likelihood", format_number(res.loglike)),
        ("AIC", format_number(res.aic)),
        ("BIC", format_number(res.bic)),
        ("Converged", str(res.converged)),
        ("Singular fit", str(res.singular)),
    ]
    fixed = coefficient_table(
        res.params, res.std_errors, res.tstats, res.pvalues, res.conf_int(), stat_name="z"
    )
    notes = [
        "Random effects: variances and standard deviations of the group-level effects; "
        "Corr: correlations with the terms above.",
        "Fixed effects: z statistics and p-values from the standard normal distribution.",
    ]
    if res.singular:
        notes.append("Boundary (singular) fit: see the BoundaryWarning issued when fitting.")
    return Summary(
        f"Linear mixed model fit by {kind}", header, [random_effects_table(res), fixed], notes
    )
