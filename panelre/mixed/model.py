"""``mixed()``: linear mixed models by ML/REML on per-group sufficient statistics."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from panelre.exceptions import BoundaryWarning, ConvergenceWarning, InvalidParameterError
from panelre.mixed.criterion import Evaluation, ThetaLayout, conditional_cov_factor, evaluate
from panelre.mixed.design import FactorDesign, MixedDesign, as_frame, build_design
from panelre.mixed.fit import OptimumInfo, check_random_design, optimise, optimise_crossed
from panelre.mixed.formula import parse_mixed_formula
from panelre.mixed.pls import CrossedCriterion, FactorBlock, crossed_stats
from panelre.mixed.results import MixedResults, RandomFactor
from panelre.mixed.stats import SufficientStats, sufficient_stats

__all__ = ["mixed"]

_SINGULAR_TOL = 1e-4  # lme4's isSingular() tolerance on the diagonal of Λ


def mixed(
    formula: str,
    data: object,
    *,
    reml: bool = True,
    groups: object = None,
    re_formula: str | None = None,
    weights: object = None,
) -> MixedResults:
    """Fit a linear mixed model by REML (default) or ML, as lme4's ``lmer``.

    Parameters
    ----------
    formula : str
        lme4 syntax: ``"Reaction ~ Days + (Days | Subject)"``. Random terms ``(expr | g)``
        (correlated effects), ``(expr || g)`` (independent intercept and slopes) and
        ``(0 + x | g)`` (no random intercept); all terms must share one grouping column.
        The fixed part is parsed by formulaic (transforms, ``C()``, interactions); its
        intercept is named ``Intercept``.
    data : pandas.DataFrame
        The data (also a polars DataFrame, or a frame whose index levels hold columns). Never
        modified. Rows with a missing value in a used column are dropped with a
        ``MissingValueWarning``.
    reml : bool, default True
        Restricted maximum likelihood (True) or maximum likelihood (False).
    groups : str or array-like, optional
        statsmodels spelling: the grouping column (or one label per row) for a formula without
        random terms; a random intercept unless ``re_formula`` is given.
    re_formula : str, optional
        statsmodels spelling of the random part, e.g. ``"~Time"`` (correlated intercept and
        slope) or ``"~0 + Time"``.
    weights : str or array-like, optional
        Prior weights, lme4's ``weights=``: the residual variance of row i is ``σ²/wᵢ``. A
        column name or one value per row (finite, >= 0; rows of weight zero are dropped
        with a warning). The log-likelihood, deviance and REML criterion include the
        ``Σ log wᵢ`` term, as lme4's.

    Returns
    -------
    MixedResults

    Raises
    ------
    FormulaError
        No random term, more than one grouping column, unknown columns.
    InsufficientDataError
        One group only, or no more observations than random effects (e.g. all groups of size
        one).
    DataError
        A random slope that does not vary within any group.

    Warns
    -----
    MissingValueWarning
        Rows with missing values were dropped (their number is reported).
    BoundaryWarning
        A singular fit: a variance estimated as 0 or a correlation of ±1.
    ConvergenceWarning
        The optimiser stopped with a non-negligible gradient.

    Notes
    -----
    The model is :math:`y_i = X_i\\beta + Z_ib_i + e_i` for each group i, with
    :math:`b_i \\sim N(0, \\sigma^2\\Lambda\\Lambda')` and :math:`e_i \\sim N(0, \\sigma^2 I)`.
    The criterion (lme4's deviance or REML criterion) with :math:`\\sigma^2` and
    :math:`\\beta` profiled out is

    .. math:: \\sum_i\\log|I + \\Lambda'Z_i'Z_i\\Lambda| + [\\mathrm{REML}]\\log|X'V^{-1}X\\sigma^2|
              + d\\,(1 + \\log(2\\pi r^2/d)),

    with :math:`r^2` the penalised residual sum of squares and :math:`d = n` (ML) or
    :math:`n - p` (REML). It is computed from per-group sufficient statistics
    (:math:`Z_i'Z_i, Z_i'X_i, Z_i'y_i`, totals :math:`X'X, X'y, y'y`), so each evaluation
    costs O(G q^3) whatever the number of rows. θ (the free elements of the lower Cholesky
    factor Λ) is found by L-BFGS-B with the analytic gradient and Newton polishing; a pure
    random intercept by a one-dimensional search.

    With several grouping factors the same criterion, :math:`\\log|\\Lambda'Z'Z\\Lambda + I|`
    in the first term, comes from a blocked Cholesky factor (``panelre.mixed.pls``): the
    largest factor is eliminated level by level and the rest is a dense (or sparse) Schur
    complement assembled from cross-products computed once; θ is found by COBYQA.

    ``reml_criterion`` is the REML criterion at the estimates and ``deviance`` the ML deviance
    (−2 log-likelihood with σ² profiled) at the estimates, for both kinds of fit — lme4's
    ``REMLcrit(m)`` and ``deviance(m, REML = FALSE)``. ``loglike`` is the log-likelihood that
    was maximised (restricted for REML), and AIC/BIC use it, as lme4.

    References
    ----------
    Bates, Mächler, Bolker and Walker (2015), "Fitting linear mixed-effects models using
    lme4", Journal of Statistical Software 67(1).

    Examples
    --------
    >>> from panelre.datasets import load
    >>> from panelre.mixed import mixed
    >>> res = mixed("Reaction ~ Days + (Days | Subject)", load("sleepstudy"))
    >>> res.params.round(4)
    Intercept    251.4051
    Days          10.4673
    Name: params, dtype: float64
    >>> round(res.reml_criterion, 4)
    1743.6283
    >>> res.cov_re.round(2)
               Intercept   Days
    Intercept     612.09   9.60
    Days            9.60  35.07
    >>> pigs = mixed("Weight ~ Time", load("dietox"), groups="Pig", reml=False)
    >>> round(pigs.sigma2, 3), pigs.n_groups
    (11.353, 72)
    >>> pastes = mixed("strength ~ 1 + (1 | batch/cask)", load("pastes"))
    >>> pastes.varcorr[["grp", "vcov"]].round(3)
              grp   vcov
    0  cask:batch  8.434
    1       batch  1.657
    2    Residual  0.678
    """
    if not isinstance(reml, (bool, np.bool_)):
        raise InvalidParameterError(f"The 'reml' parameter must be True or False. Got {reml!r}.")
    parsed = parse_mixed_formula(formula, groups=groups, re_formula=re_formula)
    design = build_design(parsed, as_frame(data), groups, weights)
    # With a fixed intercept, y is centred before its cross-products are formed (only the
    # intercept moves, by the mean; it is added back in _assemble): no digits are lost when
    # |mean(y)| is many standard deviations
    names = list(design.fixed_names)
    shift = float(design.y.mean()) if "Intercept" in names else 0.0
    display = formula if groups is None else _statsmodels_formula(formula, parsed)
    res = fit_design(display, bool(reml), design, shift)
    warn_about_fit(res)
    return res


def fit_design(formula: str, reml: bool, design: MixedDesign, shift: float) -> MixedResults:
    """Fit a built design (one grouping factor or several); no warnings are issued."""
    fit = _fit_single if len(design.factors) == 1 else _fit_crossed
    return fit(formula, reml, design, shift)


def _statsmodels_formula(formula: str, parsed) -> str:
    return f"{formula} + {parsed.random[0]}"


def _layout(factor: FactorDesign) -> ThetaLayout:
    return ThetaLayout.from_blocks(factor.q, factor.blocks)


def _check_factor(design: MixedDesign, factor: FactorDesign, shift: float) -> SufficientStats:
    """Per-level statistics of one factor, after checking its slopes vary within levels."""
    root = design.root_weights()
    x, z, y = design.x, factor.z, design.y - shift
    if root is not None:
        x, z, y = x * root[:, None], z * root[:, None], y * root
    stats = sufficient_stats(x, z, y, factor.codes, factor.n_levels)
    check_random_design(stats, factor.random_names, factor.name)
    return stats


def _fit_single(formula: str, reml: bool, design: MixedDesign, shift: float) -> MixedResults:
    """One grouping factor: per-level sufficient statistics and the analytic gradient."""
    factor = design.single
    stats = _check_factor(design, factor, shift)
    layout = _layout(factor)
    # the one-dimensional solver reads group means, which prior weights change
    intercept_only = design.is_random_intercept and design.weights is None
    info = optimise(stats, layout, reml, random_intercept=intercept_only)
    ev = info.evaluation
    assert isinstance(ev, Evaluation)
    sigma2 = ev.sigma2
    blups = ev.blups()
    estimates = RandomFactor(
        name=factor.name,
        labels=factor.labels,
        random_names=factor.random_names,
        blocks=factor.blocks,
        theta=info.theta,
        cov=sigma2 * ev.lam @ ev.lam.T,
        blups=blups,
        condvar=sigma2 * conditional_cov_factor(info.theta, stats, layout),
        specs=factor.specs,
        columns=_columns(factor),
        terms=factor.terms,
    )
    other = evaluate(info.theta, stats, layout, not reml, gradient=False).value
    weight_sums = stats.ztz[:, 0, 0]  # Σ z² = the counts for an intercept, Σ w with weights
    mean_resid = (stats.zty[:, 0] - stats.ztx[:, 0, :] @ ev.beta) / weight_sums
    if not design.is_random_intercept:
        mean_resid = np.full(stats.counts.shape, np.nan)
    return _assemble(
        formula,
        reml,
        design,
        info,
        (estimates,),
        other,
        shift,
        counts=stats.counts,
        mean_resid=mean_resid,
        weight_sums=None if design.weights is None else weight_sums,
    )


def _columns(factor: FactorDesign) -> tuple[str, ...]:
    return tuple(factor.name.split(":"))


def _fit_crossed(formula: str, reml: bool, design: MixedDesign, shift: float) -> MixedResults:
    """Several grouping factors: penalised least squares with a blocked sparse Cholesky."""
    for factor in design.factors:
        if factor.q > 1:  # only slopes can fail the check; it costs a pass over the rows
            _check_factor(design, factor, shift)
    root = design.root_weights()
    x, y = design.x, design.y - shift
    blocks = []
    for factor in design.factors:
        z = factor.z if root is None else factor.z * root[:, None]
        blocks.append(FactorBlock(z, factor.codes, factor.n_levels, _layout(factor)))
    if root is not None:
        x, y = x * root[:, None], y * root
    stats, order = crossed_stats(blocks, x, y)
    criterion = CrossedCriterion(stats, reml)
    info = optimise_crossed(criterion, [blocks[i].layout for i in order])
    ev = info.evaluation
    sigma2 = ev.sigma2
    pieces = stats.split(info.theta)
    blups = criterion.blups(info.theta, ev.beta)
    condvar = criterion.conditional_covariances(info.theta, sigma2)
    position = {int(k): j for j, k in enumerate(order)}
    estimates = []
    for k, factor in enumerate(design.factors):
        j = position[k]
        lam = blocks[k].layout.lam(pieces[j])
        estimates.append(
            RandomFactor(
                name=factor.name,
                labels=factor.labels,
                random_names=factor.random_names,
                blocks=factor.blocks,
                theta=pieces[j],
                cov=sigma2 * lam @ lam.T,
                blups=blups[j],
                condvar=condvar[j],
                specs=factor.specs,
                columns=_columns(factor),
                terms=factor.terms,
            )
        )
    theta = np.concatenate([f.theta for f in estimates])
    other = CrossedCriterion(stats, not reml).evaluate(info.theta).value
    info = OptimumInfo(
        theta,
        ev,
        _reorder(info.gradient, pieces, order),
        info.converged,
        info.n_iter,
        info.message,
    )
    return _assemble(formula, reml, design, info, tuple(estimates), other, shift)


def _reorder(values: np.ndarray, pieces: list[np.ndarray], order: np.ndarray) -> np.ndarray:
    """A vector laid out like θ in the criterion's factor order, back in formula order."""
    cuts = np.cumsum([p.size for p in pieces])[:-1]
    parts = np.split(values, cuts)
    position = {int(k): j for j, k in enumerate(order)}
    return np.concatenate([parts[position[k]] for k in range(len(parts))])


def _assemble(
    formula: str,
    reml: bool,
    design: MixedDesign,
    info: OptimumInfo,
    factors: tuple[RandomFactor, ...],
    other: float,
    shift: float,
    *,
    counts: np.ndarray | None = None,
    mean_resid: np.ndarray | None = None,
    weight_sums: np.ndarray | None = None,
) -> MixedResults:
    """The results from the optimum: β with the shift put back, criteria, fitted values."""
    ev = info.evaluation
    p = ev.beta.size
    beta = ev.beta.copy()
    if shift:
        beta[list(design.fixed_names).index("Intercept")] += shift
    sigma2 = ev.sigma2
    a_inv = linalg.cho_solve(ev.a_chol, np.eye(p))
    # with prior weights, -2 log L of y (not of √w·y) has the extra term −Σ log w
    log_weights = 0.0 if design.weights is None else float(np.log(design.weights).sum())
    fitted_fixed = design.x @ beta
    fitted = fitted_fixed.copy()
    for estimate, factor in zip(factors, design.factors, strict=True):
        fitted += (factor.z * estimate.blups[factor.codes]).sum(axis=1)
    diagonal = np.concatenate(
        [f.theta[_layout(d).is_diagonal] for f, d in zip(factors, design.factors, strict=True)]
    )
    empty = np.empty(0)
    return MixedResults(
        formula=formula,
        reml=reml,
        fixed_names=design.fixed_names,
        factors=factors,
        _beta=beta,
        _cov_beta=sigma2 * a_inv,
        theta=info.theta,
        sigma2=sigma2,
        loglike=-0.5 * (ev.value - log_weights),
        reml_criterion=(ev.value if reml else other) - log_weights,
        deviance=(other if reml else ev.value) - log_weights,
        nobs=design.nobs,
        converged=info.converged,
        gradient=info.gradient,
        n_iter=info.n_iter,
        singular=bool(np.any(diagonal < _SINGULAR_TOL)),
        counts=empty if counts is None else counts,
        group_mean_resid=empty if mean_resid is None else mean_resid,
        _fitted=fitted,
        fitted_fixed=fitted_fixed,
        row_index=design.row_index,
        response=design.response,
        fixed_spec=design.fixed_spec,
        dropped_columns=design.dropped_columns,
        optimizer_message=info.message,
        weight_sums=weight_sums,
        response_values=design.y,
        design=design,
        shift=shift,
    )


def _describe_singular(factor: RandomFactor) -> str:
    lam = ThetaLayout.from_blocks(len(factor.random_names), factor.blocks).lam(factor.theta)
    names = factor.random_names
    parts = []
    for j in range(lam.shape[0]):
        if lam[j, j] >= _SINGULAR_TOL:
            continue
        kind = "intercept" if names[j] == "Intercept" else f"{names[j]} slope"
        others = [names[k] for k in range(j) if abs(lam[j, k]) >= _SINGULAR_TOL]
        if not others:
            what = "mean level" if names[j] == "Intercept" else f"{names[j]} slope"
            parts.append(
                f"the variance of the random {kind} of {factor.name!r} was estimated as 0 "
                f"(the levels of {factor.name!r} differ in their {what} no more than "
                "residual noise alone would make them differ)"
            )
        else:
            parts.append(
                f"the random {kind} of {factor.name!r} is perfectly correlated (correlation "
                f"±1) with the random {', '.join(others)}, so it adds no separate variation"
            )
    return "; ".join(parts)


def warn_about_fit(res: MixedResults) -> None:
    """The BoundaryWarning of a singular fit and the ConvergenceWarning of a stalled one."""
    if res.singular:
        described = "; ".join(d for d in (_describe_singular(f) for f in res.factors) if d)
        warnings.warn(
            f"Boundary (singular) fit: {described}. The estimated "
            "random-effects covariance matrix is singular. The fixed effects are still valid, "
            "but the corresponding BLUPs are shrunk to 0 (or onto a line); consider removing "
            "that random term.",
            BoundaryWarning,
            stacklevel=3,
        )
    if not res.converged:
        warnings.warn(
            f"The optimiser stopped with gradient norm {res.gradient_norm:.3g} after "
            f"{res.n_iter} evaluations ({res.optimizer_message}); "
            "the estimates may not be the (RE)ML optimum. Try rescaling the variables.",
            ConvergenceWarning,
            stacklevel=3,
        )
