"""Tests for serial correlation of the idiosyncratic errors of panel models (R plm's
``pwartest``, ``pwfdtest``, ``pbgtest``, ``pdwtest``)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from panelre._validation import check_option
from panelre.estimators import FirstDifference, FixedEffects, PooledOLS
from panelre.exceptions import (
    IncompatibleResultsError,
    InsufficientDataError,
    InvalidParameterError,
)
from panelre.results import PanelResults, TestResult
from panelre.specification._weighted import undefined_with_weights
from panelre.stats import PanelSource, bind, in_memory

__all__ = ["serial_correlation", "SERIAL_TESTS"]

#: The tests ``serial_correlation`` runs, and the model each fits from a formula.
SERIAL_TESTS: dict[str, Callable[[PanelSource], Any]] = {
    "wooldridge": FixedEffects,
    "wooldridge-fd": FirstDifference,
    "breusch-godfrey": PooledOLS,
    "durbin-watson": PooledOLS,
}
_ALIASES = {"bg": "breusch-godfrey", "dw": "durbin-watson", "wooldridge_fd": "wooldridge-fd"}
_ALTERNATIVE = "serial correlation in the idiosyncratic errors"


def serial_correlation(
    result_or_formula: PanelResults | str,
    data: Any = None,
    *,
    test: str = "wooldridge",
    order: int | None = 1,
    statistic: str = "chi2",
    h0: str = "fd",
    entity: Hashable | None = None,
    time: Hashable | None = None,
) -> TestResult:
    """Test for serial correlation in the idiosyncratic errors of a panel model.

    Parameters
    ----------
    result_or_formula : PanelResults or str
        A fitted result, or a formula (then ``data``, ``entity`` and ``time`` are needed and
        the model is fitted as below).
    data : DataFrame, optional
        The data, when a formula is given.
    test : {"wooldridge", "wooldridge-fd", "breusch-godfrey", "durbin-watson"}
        - ``"wooldridge"`` (R plm ``pwartest``; Wooldridge 2010, §10.5.4): regresses the
          fixed-effects residuals on their lag (pooled OLS, clustered by entity) and tests
          ρ = −1/(T − 1), their correlation under no serial correlation of the errors.
          Needs a fixed-effects result (a formula fits one). Good for short panels.
        - ``"wooldridge-fd"`` (plm ``pwfdtest``; Wooldridge 2010, §10.6.3): the same with
          first-difference residuals and ρ = 0 (``h0="fd"``: the differenced errors are
          uncorrelated, i.e. the errors are a random walk) or ρ = −0.5 (``h0="fe"``: the
          errors in levels are uncorrelated). Needs a first-difference result.
        - ``"breusch-godfrey"`` (plm ``pbgtest``): the Breusch–Godfrey LM test on the
          model's own transformed regression, of order ``order``. A formula fits pooled
          OLS, as plm.
        - ``"durbin-watson"`` (plm ``pdwtest``): the Durbin–Watson statistic of that
          regression, with the normal approximation of its distribution (alternative:
          positive autocorrelation).
        Case-insensitive; ``"bg"``, ``"dw"`` are accepted.
    order : int or None
        Largest lag of the Breusch–Godfrey test; None: the shortest Tᵢ (plm's default).
    statistic : {"chi2", "F"}
        Form of the Breusch–Godfrey statistic.
    h0 : {"fd", "fe"}
        Null hypothesis of ``"wooldridge-fd"`` (above).
    entity, time : column names, optional
        Panel identifiers for a formula.

    Returns
    -------
    TestResult
        F(1, df) for the Wooldridge tests (as plm), χ²(order) or F(order, n − k − order) for
        Breusch–Godfrey, and for Durbin–Watson ``stat`` = DW with a normal p-value
        (``distribution="normal"``).

    Raises
    ------
    InvalidParameterError
        For an unknown ``test``, ``statistic`` or ``h0``, or an ``order`` below 1.
    IncompatibleResultsError
        When the result is not of the model the test needs.

    Notes
    -----
    As R plm, the Breusch–Godfrey and Durbin–Watson tests lag the residuals of the stacked
    regression (across entity boundaries), and the Wooldridge tests lag by row within an
    entity. plm computes the Durbin–Watson p-value exactly (Pan's algorithm) below 100
    observations; panelre always uses the normal approximation (the statistic is the same).
    The tests need the residuals in memory (one value per row), on every backend.

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> fe = pr.fixed_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> t = pr.serial_correlation(fe)            # plm: F = 76.929, df1 = 1, df2 = 188
    >>> round(t.stat, 3), t.df
    (76.929, (1, 188))
    """
    test = check_option("test", test, SERIAL_TESTS, _ALIASES)
    statistic = check_option("statistic", statistic, ("chi2", "f"))
    h0 = check_option("h0", h0, ("fd", "fe"))
    if order is not None and (isinstance(order, bool) or not isinstance(order, (int, np.integer))
                              or order < 1):  # fmt: skip
        raise InvalidParameterError(f"'order' must be a positive integer or None. Got {order!r}.")
    result = _result(result_or_formula, data, test, entity, time)
    undefined = undefined_with_weights(result, f"{test} test for serial correlation")
    if undefined is not None:
        return undefined
    if test == "wooldridge":
        return _wooldridge(result)
    if test == "wooldridge-fd":
        return _wooldridge_fd(result, h0)
    rows = result.transformed_data()
    if test == "breusch-godfrey":
        return _breusch_godfrey(rows, result, order, statistic)
    return _durbin_watson(rows, result)


def _result(
    given: PanelResults | str, data: Any, test: str, entity: Hashable | None, time: Hashable | None
) -> PanelResults:
    if isinstance(given, PanelResults):
        if data is not None:
            raise InvalidParameterError(
                "Pass either a fitted result or a formula with its data, not a result and data."
            )
        return given
    if not isinstance(given, str):
        raise InvalidParameterError(
            "serial_correlation() takes a fitted panel result or a formula string. "
            f"Got {type(given).__name__}."
        )
    if data is None:
        raise InvalidParameterError("A formula needs its data: serial_correlation(formula, data).")
    return SERIAL_TESTS[test](bind(given, data, entity=entity, time=time)).fit()


def _require(result: PanelResults, estimator: str, test: str) -> None:
    effects = getattr(result.model, "effects", "entity")
    if result.estimator != estimator or effects != "entity":
        raise IncompatibleResultsError(
            f"test={test!r} needs the result of pr.{estimator}(...)"
            + (" with entity effects" if estimator == "fixed_effects" else "")
            + f". Got {result.estimator!r}."
        )


def _lagged_within_entity(resids: pd.Series) -> pd.DataFrame:
    """Residuals and their previous row within the same entity (rows with a lag only)."""
    resids = in_memory(resids).sort_index()
    entity = resids.index.get_level_values(0)
    frame = pd.DataFrame({"e": resids.to_numpy(), "e_lag": resids.shift(1).to_numpy(),
                          "entity": entity, "row": np.arange(len(resids))})  # fmt: skip
    first = np.r_[True, entity[1:] != entity[:-1]]
    return frame[~first]


def _lag_regression_test(resids: pd.Series, rho0: float, name: str, null: str) -> TestResult:
    """F test of ρ = ρ₀ in the pooled regression of e on (1, e₋₁), clustered by entity."""
    frame = _lagged_within_entity(resids)
    if len(frame) < 3:
        raise InsufficientDataError(
            f"{name} needs entities observed at least twice; there are {len(frame)} lagged rows."
        )
    aux = PooledOLS(bind("e ~ e_lag", frame, entity="entity", time="row")).fit(cov="cluster")
    stat = float(((aux.params["e_lag"] - rho0) / aux.std_errors["e_lag"]) ** 2)
    df = (1, int(aux.df_resid))
    return TestResult(
        name=name,
        stat=stat,
        df=df,
        pvalue=float(stats.f.sf(stat, *df)),
        null=null,
        alternative=_ALTERNATIVE,
        distribution="F",
    )


def _wooldridge(result: PanelResults) -> TestResult:
    _require(result, "fixed_effects", "wooldridge")
    n_periods = result.source.stats.n_periods
    if n_periods < 2:
        raise InsufficientDataError("Wooldridge's test needs at least two periods.")
    rho0 = -1.0 / (n_periods - 1)
    return _lag_regression_test(
        result.resids,
        rho0,
        "Wooldridge's test for serial correlation in FE panels",
        f"no serial correlation (the FE residuals' lag coefficient is -1/(T-1) = {rho0:.4g})",
    )


def _wooldridge_fd(result: PanelResults, h0: str) -> TestResult:
    _require(result, "first_difference", "wooldridge-fd")
    if h0 == "fd":
        rho0, null = 0.0, "no serial correlation in the differenced errors (random walk in levels)"
    else:
        rho0, null = -0.5, "no serial correlation in the errors in levels"
    return _lag_regression_test(
        result.resids, rho0, "Wooldridge's first-difference test for serial correlation", null
    )


def _design(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The regressors and residuals of ``transformed_data()``."""
    names = list(rows.columns[1:-1])
    return rows[names].to_numpy(dtype=float), rows["resids"].to_numpy(dtype=float)


def _breusch_godfrey(
    rows: pd.DataFrame, result: PanelResults, order: int | None, statistic: str
) -> TestResult:
    X, e = _design(rows)
    if order is None:
        order = int(result.source.stats.entity.counts.min())
    n, k = X.shape
    if n - k - order <= 0:
        raise InsufficientDataError(
            f"The Breusch-Godfrey test of order {order} needs more than {k + order} rows; "
            f"the regression has {n}."
        )
    Z = np.zeros((n, order))
    for lag in range(1, order + 1):  # a loop over lags
        Z[lag:, lag - 1] = e[:-lag]
    W = np.column_stack([X, Z])
    coef = linalg.lstsq(W, e)[0]
    fitted = W @ coef
    ssr_restricted, ssr = float(e @ e), float((e - fitted) @ (e - fitted))
    name = f"Breusch-Godfrey/Wooldridge test for serial correlation of order up to {order}"
    null = "no serial correlation in the idiosyncratic errors"
    if statistic == "chi2":
        stat = n * float(fitted @ fitted) / ssr_restricted
        return TestResult(name, stat, order, float(stats.chi2.sf(stat, order)), null, _ALTERNATIVE)
    df = (order, n - k - order)
    stat = ((ssr_restricted - ssr) / order) / (ssr / df[1])
    return TestResult(
        name, stat, df, float(stats.f.sf(stat, *df)), null, _ALTERNATIVE, distribution="F"
    )


def _durbin_watson(rows: pd.DataFrame, result: PanelResults) -> TestResult:
    X, e = _design(rows)
    n, k = X.shape
    if n < max(5, k + 1):
        raise InsufficientDataError(
            f"The Durbin-Watson test needs at least {max(5, k + 1)} rows; the regression has {n}."
        )
    dw = float(np.sum(np.diff(e) ** 2) / (e @ e))
    # moments of DW under the null (as lmtest::dwtest's normal approximation)
    Q1 = np.linalg.pinv(X.T @ X)
    AX = np.empty_like(X)
    AX[1:-1] = 2 * X[1:-1] - X[:-2] - X[2:]
    AX[0], AX[-1] = X[0] - X[1], X[-1] - X[-2]
    XAXQ = X.T @ AX @ Q1
    P = 2 * (n - 1) - np.trace(XAXQ)
    Q = 2 * (3 * n - 4) - 2 * np.trace(AX.T @ AX @ Q1) + np.trace(XAXQ @ XAXQ)
    mean = P / (n - k)
    var = 2 / ((n - k) * (n - k + 2)) * (Q - P * mean)
    return TestResult(
        name="Durbin-Watson test for serial correlation in panel models",
        stat=dw,
        df=None,
        pvalue=float(stats.norm.cdf(dw, loc=mean, scale=np.sqrt(var))),
        null="no serial correlation in the idiosyncratic errors",
        alternative="positive serial correlation in the idiosyncratic errors",
        distribution="durbin-watson",
    )
