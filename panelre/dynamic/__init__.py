"""Dynamic panel GMM: Arellano–Bond difference GMM and Blundell–Bond system GMM
(``pr.gmm``), as R plm's ``pgmm`` and Stata's ``xtabond2``."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import pandas as pd

from panelre._validation import check_option
from panelre._warnings import warn
from panelre.dynamic.design import build_dynamic_design
from panelre.dynamic.estimate import fit_gmm
from panelre.dynamic.results import GMMResults
from panelre.exceptions import InvalidParameterError, PanelreWarning

__all__ = ["gmm", "GMMResults"]


def gmm(
    formula: str,
    data: Any,
    *,
    entity: Hashable,
    time: Hashable,
    gmm: Mapping[str, tuple[int, int | None]],
    iv: Sequence[str] = (),
    transformation: str = "difference",
    steps: int = 2,
    collapse: bool = False,
    effects: str = "entity",
    cov: str = "robust",
) -> GMMResults:
    """Dynamic panel GMM: Arellano–Bond (1991) difference GMM or Blundell–Bond (1998)
    system GMM, in one or two steps (R plm ``pgmm``, Stata ``xtabond2``).

    Parameters
    ----------
    formula : str
        ``"y ~ lag(y, 1:2) + x + lag(x, 1)"``: ``lag(expr, k)`` and ``lag(expr, a:b)`` are
        lags within entity by period (a lag of 0 is the variable itself); ``diff(expr)``
        is the first difference. No intercept is needed: differencing removes it.
    data : pandas.DataFrame
        One row per entity and period; periods must be consecutive within an entity.
    entity, time : column names
    gmm : mapping of expression -> (first lag, last lag or None)
        GMM-style instruments, e.g. ``{"log(emp)": (2, None)}``: for the differenced
        equation of period t, the levels of the expression at lags first..last (None: all
        available). Regressors built from these expressions are treated as endogenous;
        every other regressor instruments itself (standard, IV-style), as plm.
    iv : sequence of str
        Further standard instruments (expressions).
    transformation : {"difference", "system"}
        Difference GMM, or system GMM that adds the level equations instrumented by
        lagged differences (plm's ``"d"`` and ``"ld"`` are accepted).
    steps : {1, 2}, default 2
    collapse : bool, default False
        One instrument column per lag instead of one per period and lag (Roodman 2009),
        against instrument proliferation.
    effects : {"entity", "twoway"}
        ``"twoway"`` adds period dummies (and, in system GMM, a constant in the level
        equations), as plm's ``effect = "twoways"``.
    cov : {"robust", "unadjusted"}, default "robust"
        Cluster-robust by entity, with Windmeijer's (2005) finite-sample correction
        after two steps; or plm's conventional ``vcov``.

    Returns
    -------
    GMMResults
        Coefficients, ``ar_tests`` (Arellano–Bond AR(1), AR(2)), ``hansen``, ``sargan``,
        ``difference_in_hansen(group)``, ``n_instruments`` and a summary that warns when
        the instruments outnumber the entities.

    Raises
    ------
    InvalidParameterError
        Unknown options, an empty ``gmm``, bad lag ranges.
    DataError
        Duplicate (entity, period) rows, gaps in the periods, missing columns.
    InsufficientDataError
        Too few periods for the lags requested.

    Examples
    --------
    >>> import panelre as pr
    >>> emp = pr.datasets.load("empluk")
    >>> ab = pr.gmm("log(emp) ~ lag(log(emp), 1:2) + lag(log(wage), 0:1) + log(capital)"
    ...             " + lag(log(output), 0:1)", emp, entity="firm", time="year",
    ...             gmm={"log(emp)": (2, None)}, effects="twoway")
    >>> round(float(ab.params["lag(log(emp), 1)"]), 4), ab.n_instruments
    (0.4742, 38)
    """
    transformation = check_option(
        "transformation",
        transformation,
        ("difference", "system"),
        {"d": "difference", "ld": "system", "sys": "system"},
    )
    effects = check_option("effects", effects, ("entity", "twoway"), {"individual": "entity",
                           "twoways": "twoway"})  # fmt: skip
    cov = check_option("cov", cov, ("robust", "unadjusted"))
    if steps not in (1, 2):
        raise InvalidParameterError(f"steps must be 1 or 2. Got {steps!r}.")
    if not isinstance(data, pd.DataFrame):
        raise InvalidParameterError(f"pr.gmm takes a pandas DataFrame. Got {type(data).__name__}.")
    if not isinstance(gmm, Mapping) or not gmm:
        raise InvalidParameterError(
            "gmm must name at least one GMM-style instrument, e.g. {'log(emp)': (2, None)}."
        )
    for expr, lags in gmm.items():
        ok = isinstance(lags, tuple) and len(lags) == 2 and isinstance(lags[0], int)
        if not ok or lags[0] < 1 or (lags[1] is not None and lags[1] < lags[0]):
            raise InvalidParameterError(
                f"gmm[{expr!r}] must be (first lag >= 1, last lag >= first or None). Got {lags!r}."
            )
    design = build_dynamic_design(
        formula, data, entity=entity, time=time, gmm=gmm, effects=effects,
        collapse=bool(collapse), transformation=transformation, iv=tuple(iv),
    )  # fmt: skip
    fit = fit_gmm(design, int(steps))
    result = GMMResults(formula, transformation, int(steps), cov, design, fit)
    if result.n_instruments > result.n_entities:
        warn(
            f"{result.n_instruments} instruments for {result.n_entities} entities: too many "
            "instruments overfit the endogenous regressors and weaken the Hansen test; use "
            "collapse=True or shorter lag ranges.",
            PanelreWarning,
        )
    return result
