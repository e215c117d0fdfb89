"""Automated choice between pooled OLS, fixed, random and correlated random effects."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from panelre._validation import check_probability
from panelre.comparison import RegressionTable, compare
from panelre.covariance import make_covariance
from panelre.estimators import FixedEffects, PooledOLS, RandomEffects
from panelre.estimators.cre import CorrelatedRandomEffects
from panelre.exceptions import (
    DataError,
    IncompatibleResultsError,
    InsufficientDataError,
    InvalidParameterError,
    PanelreWarning,
)
from panelre.results import PanelResults, TestResult
from panelre.specification.cross_section import cross_sectional_dependence
from panelre.specification.hausman import hausman, regression_hausman
from panelre.specification.lagrange import lm_test
from panelre.specification.poolability import f_test_effects
from panelre.specification.serial import serial_correlation
from panelre.specification.unit_root import unit_root
from panelre.stats import Backend, PanelSource, RowMap, bind, in_memory
from panelre.tables import format_number

__all__ = ["Selection", "select"]

_NAMES = {
    "pooled_ols": "pooled OLS",
    "fixed_effects": "fixed effects",
    "random_effects": "random effects",
    "correlated_random_effects": "correlated random effects (Mundlak)",
}
_COV_NAMES = {
    "unadjusted": "classical (cov='unadjusted')",
    "cluster": "clustered by entity (cov='cluster')",
    "driscoll-kraay": "Driscoll-Kraay (cov='driscoll-kraay')",
}
#: Driscoll–Kraay standard errors are recommended from this many periods on (Hoechle 2007:
#: they rely on T → ∞; with fewer periods clustering by entity with time effects is used).
MIN_PERIODS_DK = 10


@dataclass(frozen=True)
class Selection:
    """The outcome of ``select``: the recommendation, the tests and the models.

    Attributes
    ----------
    recommended : {"pooled_ols", "fixed_effects", "random_effects", "correlated_random_effects"}
        The estimator's function name.
    tests : mapping of name -> TestResult
    models : mapping of name -> PanelResults
        The candidates, all with one covariance (``select(cov=)``, by default the
        recommended one); the table's "Covariance" row names it.
    reasons : list of str
        The decision chain, one sentence per step.
    cautions : list of str
        Things to be careful about.
    alpha : float
    """

    recommended: str
    tests: dict[str, TestResult]
    models: Mapping[str, PanelResults]
    reasons: list[str]
    cautions: list[str] = field(default_factory=list)
    alpha: float = 0.05
    time_invariant: list[str] = field(default_factory=list)
    recommended_cov: str = "cluster"
    cov_reasons: list[str] = field(default_factory=list)

    @property
    def table(self) -> RegressionTable:
        """Side-by-side comparison of the fitted models."""
        return compare(dict(self.models), stars=True)

    def report(self) -> str:
        """Plain-language explanation of the choice, with the numbers."""
        lines = [f"Recommended model: {_NAMES[self.recommended]}", ""]
        lines.append(f"How this was decided (significance level {self.alpha:g}):")
        lines += [f"  {i}. {r}" for i, r in enumerate(self.reasons, start=1)]
        lines += ["", f"Recommended standard errors: {_COV_NAMES[self.recommended_cov]}"]
        lines += [f"  - {r}" for r in self.cov_reasons]
        if self.cautions:
            lines += ["", "Be careful about:"]
            lines += [f"  - {c}" for c in self.cautions]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report() + "\n\n" + str(self.table)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        return {
            "recommended": self.recommended,
            "recommended_cov": self.recommended_cov,
            "alpha": self.alpha,
            "reasons": self.reasons,
            "cov_reasons": self.cov_reasons,
            "cautions": self.cautions,
            "tests": {k: t.to_dict() for k, t in self.tests.items()},
            "coefficients": {
                k: {"params": m.params.to_dict(), "std_errors": m.std_errors.to_dict()}
                for k, m in self.models.items()
            },
        }


def _p(t: TestResult) -> str:
    return f"p = {format_number(t.pvalue)}"


def select(
    formula: str,
    data: Any,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    alpha: float = 0.05,
    method: str = "swamy-arora",
    backend: str | Backend = "auto",
    weights: Any = None,
    cov: str | None = None,
    cluster: Any = None,
    small_sample: Any = None,
    bandwidth: int | None = None,
) -> Selection:
    """Choose between pooled OLS, fixed effects, random effects and correlated random
    effects, and explain why.

    Decision rule (documented in docs/choosing.md):

    1. Are there entity effects? The F test of fixed effects (``f_test_effects``) and the
       Breusch–Pagan LM test (``breusch_pagan``) each at level α/2 (Bonferroni, so the
       pair keeps level α). If neither rejects: **pooled OLS**.
    2. Are the effects correlated with the regressors? The cluster-robust
       regression-based Hausman test (``hausman_regression(cov="cluster")``), valid under
       heteroskedasticity and serial correlation. If it rejects: **fixed effects**, or
       **correlated random effects** when the formula has time-invariant regressors
       (which fixed effects cannot estimate).
    3. Otherwise: **random effects** if the LM test found a variance component, else
       **fixed effects** (effects found only by the F test).

    Then the covariance: Pesaran's CD test (Driscoll–Kraay when T ≥ 10) and Wooldridge's
    serial-correlation test (clustered by entity), each at α/2 (``recommended_cov``).

    Parameters
    ----------
    formula : str
        Wilkinson formula (time-invariant regressors make CRE a candidate).
    data : DataFrame, polars DataFrame, PanelData or dask DataFrame
        The panel; never modified.
    entity, time : hashable, optional
        Identifier columns.
    alpha : float, default 0.05
        Level of the decision (split by Bonferroni as above).
    method : str, default "swamy-arora"
        Variance-component estimator of the random-effects candidates.
    backend : {"auto", "numpy", "dask", "cupy", "torch"}
        Where the statistics are computed.
    weights : optional
        Not supported: random effects are not defined with weights, so passing weights
        raises (test weighted fixed effects with ``f_test_effects``).
    cov : {"unadjusted", "robust", "cluster", "driscoll-kraay", ...}, optional
        The covariance of every model in the table (``models`` and ``table``). By default
        the one the diagnostics recommend (``recommended_cov``). The tests are not
        affected: each uses the covariance its definition needs.
    cluster, small_sample, bandwidth
        Options of that covariance, as in ``pr.pooled_ols``.

    Returns
    -------
    Selection
        ``recommended`` (a function name), ``recommended_cov``, the ``tests``, the fitted
        ``models``, the reasons, and ``report()``.

    Raises
    ------
    InvalidParameterError
        ``alpha`` outside (0, 1), or weights.
    InsufficientDataError
        A panel with one observation per entity.

    Examples
    --------
    >>> import panelre as pr
    >>> sel = pr.select("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                 entity="firm", time="year")
    >>> sel.recommended
    'fixed_effects'
    """
    alpha = check_probability("alpha", alpha)
    if weights is not None:
        raise InvalidParameterError(
            "select() weighs random effects, which are not defined with observation weights "
            "(Stata's xtreg, re takes none). With weights, fit pr.fixed_effects(..., "
            "weights=...) and test the effects with pr.f_test_effects()."
        )
    source = bind(formula, data, entity=entity, time=time, backend=backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PanelreWarning)
        pooled = PooledOLS(source).fit()
        fe = FixedEffects(source, effects="entity").fit()
        re = RandomEffects(source, method=method).fit()
    tests: dict[str, TestResult] = {
        "f_test_effects": f_test_effects(fe),
        "breusch_pagan": lm_test(source),
        "hausman_regression": regression_hausman(source, make_covariance("cluster"), method=method),
    }
    selection = decide(
        tests,
        {"Pooled": pooled, "FE": fe, "RE": re},
        [str(w.message) for w in caught],
        alpha,
        fe.absorbed,
        source.stats.n_entities,
        lambda: CorrelatedRandomEffects(source, method=method).fit(),
    )
    selection = unit_root_caution(choose_covariance(selection, fe), source)
    return with_table_covariance(selection, cov, cluster, small_sample, bandwidth)


def with_table_covariance(
    selection: Selection, cov: str | None, cluster: Any, small_sample: Any, bandwidth: int | None
) -> Selection:
    """The selection with every model in the covariance ``cov`` (the recommended one when
    None), so that the table compares like with like."""
    chosen = selection.recommended_cov if cov is None else cov
    options = {"cluster": cluster, "small_sample": small_sample, "bandwidth": bandwidth}
    models = {name: m.with_cov(chosen, **options) for name, m in selection.models.items()}
    return replace(selection, models=models)


#: The response is tested for a unit root from this many periods on (the IPS moments are
#: tabulated from 10 usable periods; one lag and the differencing use two more).
MIN_PERIODS_UNIT_ROOT = 12


def unit_root_caution(selection: Selection, source: PanelSource) -> Selection:
    """Warn when the response looks non-stationary (documented in docs/choosing.md).

    With T ≥ 12 the Im–Pesaran–Shin test (intercept, one lag) is run on the response; if
    it does not reject a unit root at α, a regression in levels may be spurious unless the
    variables are cointegrated (Kao 1999; Entorf 1997 for fixed effects): the report says
    so and suggests first differences. The test is stored as ``tests["unit_root"]``.
    """
    st = source.stats
    if st.n_periods < MIN_PERIODS_UNIT_ROOT:
        return selection
    name = source.y_name
    y = in_memory(source.values(RowMap.select(st.width, [0]), name)).reset_index()
    entity, time = y.columns[0], y.columns[1]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PanelreWarning)
            test = unit_root(y, name, entity=entity, time=time, test="ips", lags=1)
    except (InsufficientDataError, DataError):
        return selection
    tests = {**selection.tests, "unit_root": test}
    cautions = list(selection.cautions)
    if not test.rejects(selection.alpha):
        cautions.append(
            f"The Im-Pesaran-Shin test cannot reject a unit root in {source.y_name} "
            f"({_p(test)}): with {st.n_periods} periods a regression in levels may be spurious "
            "unless the variables are cointegrated. Consider first differences "
            "(pr.first_difference) or test the regressors too (pr.unit_root)."
        )
    return replace(selection, tests=tests, cautions=cautions)


def choose_covariance(selection: Selection, fe: PanelResults) -> Selection:
    """Add the covariance the diagnostics call for to a selection (documented in
    docs/choosing.md), from the fixed-effects residuals (the idiosyncratic errors
    whatever the chosen model):

    1. Cross-sectional dependence? Pesaran's CD test (``cross_sectional_dependence``) at
       α/2. If it rejects: **Driscoll–Kraay** standard errors, robust to both
       cross-sectional and serial correlation (Driscoll & Kraay 1998; Hoechle 2007), when
       T ≥ 10; with fewer periods Driscoll–Kraay is unreliable, so **clustered by entity**,
       with the advice to add time effects for the common shocks.
    2. Otherwise, serial correlation? Wooldridge's test (``serial_correlation``,
       Wooldridge 2010 §10.5.4; Drukker 2003 for its size and power) at α/2. If it rejects:
       **clustered by entity** (Arellano 1987), robust to any correlation within entities.
    3. Neither rejects: **classical** standard errors are consistent (clustered ones remain
       a safe, slightly less efficient choice).

    The two tests at α/2 each keep the pair at level α (Bonferroni). With T = 2 neither
    test is defined, and clustered standard errors are recommended without a test.
    """
    st = fe.source.stats
    half = selection.alpha / 2
    tests = dict(selection.tests)
    reasons: list[str] = []
    cautions = [c for c in selection.cautions if not c.startswith("Report cluster-robust")]
    if st.n_periods < 3 or st.n_entities < 3:
        reasons.append(
            f"With {st.n_periods} periods and {st.n_entities} entities neither serial "
            "correlation nor cross-sectional dependence can be tested; clustering by entity "
            "is robust to any correlation within entities."
        )
        return replace(selection, recommended_cov="cluster", cov_reasons=reasons, tests=tests)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelreWarning)
        serial = serial_correlation(fe)
        try:
            csd = cross_sectional_dependence(fe)
        except InsufficientDataError as exc:  # too many entities for N² pairs
            csd = TestResult(
                "Pesaran CD test for cross-sectional dependence", float("nan"), None,
                float("nan"), "no cross-sectional dependence", "cross-sectional dependence",
                valid=False, reason=str(exc), distribution="normal",
            )  # fmt: skip
    tests["serial_correlation"], tests["cross_sectional_dependence"] = serial, csd
    cd_text = (
        f"Pesaran's CD test on the fixed-effects residuals gives z = {format_number(csd.stat)} "
        f"({_p(csd)})"
        if csd.valid
        else f"not tested ({csd.reason})"
    )
    reasons.append(
        f"Cross-sectional dependence? {cd_text}; serial correlation? Wooldridge's test "
        f"gives F = {format_number(serial.stat)} ({_p(serial)}); each is judged at {half:g}."
    )
    if csd.rejects(half):
        if st.n_periods >= MIN_PERIODS_DK:
            cov = "driscoll-kraay"
            reasons.append(
                "The CD test rejects: the errors of different entities are correlated (common "
                "shocks), which clustering by entity does not cover. Driscoll-Kraay standard "
                "errors are robust to it and to serial correlation."
            )
        else:
            cov = "cluster"
            reasons.append(
                f"The CD test rejects, but with {st.n_periods} periods (fewer than "
                f"{MIN_PERIODS_DK}) Driscoll-Kraay standard errors are unreliable: cluster by "
                "entity, and add time effects (effects='twoway') to absorb the common shocks."
            )
    elif serial.rejects(half):
        cov = "cluster"
        reasons.append(
            "Wooldridge's test rejects: the errors are serially correlated, so classical "
            "standard errors are too small. Cluster by entity."
        )
    else:
        cov = "unadjusted"
        reasons.append(
            "Neither test rejects: classical standard errors are consistent if the errors are "
            "also homoskedastic (clustered ones remain a safe, slightly less efficient choice)."
        )
    return replace(
        selection, recommended_cov=cov, cov_reasons=reasons, tests=tests, cautions=cautions
    )


def decide(
    tests: dict[str, TestResult],
    models: dict[str, PanelResults],
    cautions: list[str],
    alpha: float,
    time_invariant: list[str],
    n_entities: int,
    fit_cre: Any,
) -> Selection:
    """The decision rule of ``select`` on fitted models and computed tests;
    ``fit_cre()`` fits the CRE model when needed."""
    try:  # the classic test, for the record (robust-vs-classic caution)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PanelreWarning)
            tests["hausman"] = hausman(models["FE"], models["RE"])
    except IncompatibleResultsError:
        pass
    reasons: list[str] = []
    half = alpha / 2
    f, lm, h = tests["f_test_effects"], tests["breusch_pagan"], tests["hausman_regression"]
    effects_f, effects_lm = f.rejects(half), lm.rejects(half)
    reasons.append(
        f"Entity effects? The F test that all fixed effects are zero gives F = "
        f"{format_number(f.stat)} ({_p(f)}), the Breusch-Pagan LM test of no random-effect "
        f"variance gives chi2 = {format_number(lm.stat)} ({_p(lm)}); each is judged at "
        f"{half:g} (Bonferroni for the pair)."
    )
    if not (effects_f or effects_lm):
        reasons.append(
            "Neither test finds entity effects, so the entities can be pooled: pooled OLS is "
            "consistent and simplest. (Use clustered standard errors if errors may be correlated "
            "within entities.)"
        )
        return Selection("pooled_ols", tests, models, reasons, cautions, alpha, time_invariant)
    which = " and ".join(
        n for n, ok in (("the F test", effects_f), ("the LM test", effects_lm)) if ok
    )
    verb = "reject" if effects_f and effects_lm else "rejects"
    reasons.append(f"Entity effects are present ({which} {verb}), so pooled OLS is ruled out.")
    if not h.valid:
        reasons.append(f"The Hausman test cannot be computed: {h.reason}")
        rec = "random_effects" if effects_lm else "fixed_effects"
        reasons.append(
            f"Falling back on {_NAMES[rec]}: "
            + (
                "the LM test found a random-effect variance, and where the two estimators "
                "coincide random effects also estimates the level of the outcome."
                if effects_lm
                else "only the F test found effects."
            )
        )
        return Selection(rec, tests, models, reasons, cautions, alpha, time_invariant)
    reasons.append(
        f"Are the effects correlated with the regressors? The cluster-robust (Mundlak) Hausman "
        f"test gives chi2({h.df}) = {format_number(h.stat)} ({_p(h)})."
    )
    if h.rejects(alpha):
        if time_invariant:
            rec = "correlated_random_effects"
            reasons.append(
                "It rejects: random effects would be biased. Fixed effects is consistent but "
                f"cannot estimate the time-invariant regressors ({', '.join(time_invariant)}); "
                "correlated random effects (Mundlak) gives the fixed-effects slopes for the "
                "time-varying regressors and still estimates them (Hausman–Taylor is the "
                "alternative if you can name exogenous instruments)."
            )
            cre = fit_cre()
            if cre is not None:
                models = {**models, "CRE": cre}
        else:
            rec = "fixed_effects"
            reasons.append(
                "It rejects: the effects are correlated with the regressors, so random effects "
                "is inconsistent and fixed effects is the model to use."
            )
    elif effects_lm:
        rec = "random_effects"
        reasons.append(
            "It does not reject: there is no evidence that the effects are correlated with the "
            "regressors, so random effects is consistent and more efficient than fixed effects."
        )
    else:
        rec = "fixed_effects"
        reasons.append(
            "It does not reject, but only the F test found effects (the LM test finds no "
            "random-effect variance), so fixed effects is the safer choice."
        )
    cautions += _cautions(tests, n_entities)
    return Selection(rec, tests, models, reasons, cautions, alpha, time_invariant)


def _cautions(tests: Mapping[str, TestResult], n_entities: int) -> list[str]:
    out = []
    classic = tests.get("hausman")
    robust = tests["hausman_regression"]
    if classic is not None and classic.valid and robust.valid:
        if classic.rejects() != robust.rejects():
            out.append(
                f"The classic Hausman test ({_p(classic)}) and the robust one ({_p(robust)}) "
                "disagree; the classic test assumes homoskedastic, serially uncorrelated errors. "
                "Trust the robust one."
            )
    elif classic is not None and not classic.valid:
        out.append(f"The classic Hausman test is not valid here: {classic.reason}")
    if n_entities < 30:
        out.append(
            f"Only {n_entities} entities: cluster-robust tests and standard errors rely on many "
            "clusters, so treat p-values near the threshold with caution. With few clusters "
            "use the bias-reduced CR2 covariance with Satterthwaite degrees of freedom "
            "(cov='cr2') or the wild cluster bootstrap (pr.wild_bootstrap(result, 'x'))."
        )
    out.append(
        "Report cluster-robust standard errors (cov='cluster') for the chosen model unless you "
        "have reason to believe the errors are independent within entities."
    )
    return out
