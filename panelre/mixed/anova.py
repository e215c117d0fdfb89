"""Likelihood-ratio tests between nested mixed models, as lme4's ``anova(m0, m1)``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from panelre.exceptions import DataError, InvalidParameterError
from panelre.mixed.results import MixedResults

__all__ = ["anova"]


def anova(*models: MixedResults, refit: bool = True) -> pd.DataFrame:
    """Compare nested mixed models by likelihood-ratio tests, as lme4's ``anova``.

    Parameters
    ----------
    *models : MixedResults
        Two or more fits to the same rows; they are sorted by their number of parameters and
        each is tested against the one before it.
    refit : bool, default True
        Refit REML fits by maximum likelihood first, as lme4 does by default: REML
        likelihoods of models with different fixed effects are not comparable. With
        ``refit=False`` the REML log-likelihoods are compared as they are (valid only when
        the fixed effects are the same), and the ``deviance`` column holds the REML criterion,
        as in lme4.

    Returns
    -------
    pandas.DataFrame
        One row per model (indexed by its formula): ``npar``, ``AIC``, ``BIC``, ``logLik``,
        ``deviance`` (−2 logLik), ``Chisq`` (twice the gain in log-likelihood over the row
        above), ``Df`` (the difference in parameters) and ``pvalue`` (χ² upper tail; lme4's
        ``Pr(>Chisq)``).

    Raises
    ------
    InvalidParameterError
        Fewer than two models, or something that is not a mixed-model fit.
    DataError
        Models fitted to different numbers of observations or different responses.

    Notes
    -----
    Tests that a variance is 0 lie on the boundary of the parameter space; the χ² p-value
    is then conservative (about twice too large; Self and Liang 1987), as in lme4.

    Examples
    --------
    >>> from panelre.datasets import load
    >>> from panelre.mixed import anova, mixed
    >>> pen = load("penicillin")
    >>> m0 = mixed("diameter ~ 1 + (1 | plate)", pen)
    >>> m1 = mixed("diameter ~ 1 + (1 | plate) + (1 | sample)", pen)
    >>> table = anova(m0, m1)
    >>> float(round(table["Chisq"].iloc[1], 3)), int(table["Df"].iloc[1])
    (279.441, 1)
    """
    if len(models) < 2:
        raise InvalidParameterError(f"anova() compares two or more models. Got {len(models)}.")
    for i, m in enumerate(models):
        if not isinstance(m, MixedResults):
            raise InvalidParameterError(
                f"anova() takes fitted mixed models (results of mixed()). Argument {i + 1} is "
                f"{type(m).__name__}."
            )
    if not isinstance(refit, (bool, np.bool_)):
        raise InvalidParameterError(f"'refit' must be True or False. Got {refit!r}.")
    first = models[0]
    for m in models[1:]:
        if m.nobs != first.nobs or not m.row_index.equals(first.row_index):
            raise DataError(
                "The models were not all fitted to the same rows: their numbers of "
                f"observations are {[x.nobs for x in models]} (or the rows differ). Fit them "
                "on the same complete rows."
            )
        if not _same_weights(m, first):
            raise DataError("The models were fitted with different prior weights.")
    responses = {m.response for m in models}
    if len(responses) > 1:
        raise DataError(f"The models have different responses: {sorted(responses)}.")
    fits = [m.refit_ml() if refit else m for m in models]
    order = sorted(range(len(fits)), key=lambda i: fits[i].n_params)  # stable
    rows = []
    previous = None
    for i in order:
        m = fits[i]
        row = {
            "npar": m.n_params,
            "AIC": m.aic,
            "BIC": m.bic,
            "logLik": m.loglike,
            "deviance": -2.0 * m.loglike,
            "Chisq": np.nan,
            "Df": np.nan,
            "pvalue": np.nan,
        }
        if previous is not None:
            chisq = max(0.0, 2.0 * (m.loglike - previous.loglike))
            df = m.n_params - previous.n_params
            row.update(
                Chisq=chisq, Df=df, pvalue=float(sps.chi2.sf(chisq, df)) if df > 0 else np.nan
            )
        rows.append(row)
        previous = m
    index = pd.Index([models[i].formula for i in order], name="model")
    return pd.DataFrame(rows, index=index)


def _same_weights(a: MixedResults, b: MixedResults) -> bool:
    wa, wb = a.design.weights, b.design.weights
    if wa is None or wb is None:
        return wa is None and wb is None
    return bool(np.array_equal(wa, wb))
