"""Several grouping factors: identities of the blocked algebra, equivalent spellings of the
same model, results, and every bad-input path (the lme4 comparisons are in
test_crossed_reference.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from panelre.datasets import load
from panelre.exceptions import (
    DataError,
    InsufficientDataError,
    InvalidParameterError,
)
from panelre.mixed import anova, mixed
from panelre.mixed.criterion import ThetaLayout, evaluate
from panelre.mixed.pls import CrossedCriterion, FactorBlock, crossed_stats
from panelre.mixed.stats import sufficient_stats

PEN = "diameter ~ 1 + (1 | plate) + (1 | sample)"


@pytest.fixture(scope="module")
def penicillin() -> pd.DataFrame:
    return load("penicillin")


@pytest.fixture(scope="module")
def pastes() -> pd.DataFrame:
    return load("pastes")


@pytest.fixture(scope="module")
def pen_fit(penicillin):
    return mixed(PEN, penicillin)


def _synthetic(seed: int = 3, n: int = 600) -> pd.DataFrame:
    """a (60 levels) crossed with b (12 levels), a random slope on x for b."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 60, n), rng.integers(0, 12, n)
    x = rng.normal(size=n)
    slope = rng.normal(scale=0.4, size=12)
    y = 1 + 2 * x + rng.normal(scale=0.7, size=60)[a] + rng.normal(size=12)[b] + slope[b] * x
    return pd.DataFrame({"y": y + rng.normal(size=n), "x": x, "a": a, "b": b})


# ---------------------------------------------------------------- the algebra
def test_one_factor_blocked_equals_per_group_criterion(sleepstudy):
    """With one factor nothing is left after the first block: the blocked criterion must be
    the per-group one of the single-factor path, at any θ."""
    z = np.column_stack([np.ones(180), sleepstudy["Days"]])
    x = z.copy()
    y = sleepstudy["Reaction"].to_numpy()
    codes = pd.factorize(sleepstudy["Subject"], sort=True)[0]
    layout = ThetaLayout.from_blocks(2, ((0, 1),))
    block = FactorBlock(z, codes, 18, layout)
    stats, _ = crossed_stats([block], x, y)
    per_group = sufficient_stats(x, z, y, codes, 18)
    for reml in (True, False):
        crit = CrossedCriterion(stats, reml)
        for theta in ([1.0, 0.0, 1.0], [0.97, 0.015, 0.23], [0.3, -0.8, 0.0]):
            got = crit.evaluate(np.array(theta))
            want = evaluate(np.array(theta), per_group, layout, reml, gradient=False)
            np.testing.assert_allclose(got.value, want.value, rtol=1e-13)
            np.testing.assert_allclose(got.beta, want.beta, rtol=1e-11)


def _solver(name: str) -> str:
    if name == "cholmod":
        pytest.importorskip("sksparse.cholmod", reason="scikit-sparse (the sparse extra)")
    return name


@pytest.mark.parametrize("solver", ["superlu", "cholmod"])
@pytest.mark.parametrize("reml", [True, False])
def test_sparse_path_equals_dense_path(reml, solver):
    """The sparse factorisations of the Schur complement (used above DENSE_LIMIT effects:
    CHOLMOD with scikit-sparse, else SuperLU's LU) give the dense Cholesky's criterion, BLUPs
    and conditional variances (a random slope in the second factor exercises the non-scalar
    Λ)."""
    df = _synthetic()
    x = np.column_stack([np.ones(len(df)), df["x"]])
    one = ThetaLayout.from_blocks(1, ((0,),))
    two = ThetaLayout.from_blocks(2, ((0, 1),))
    blocks = [
        FactorBlock(np.ones((len(df), 1)), df["a"].to_numpy(), 60, one),
        FactorBlock(x.copy(), df["b"].to_numpy(), 12, two),
    ]
    stats, _ = crossed_stats(blocks, x, df["y"].to_numpy())
    dense = CrossedCriterion(stats, reml)
    sparse = CrossedCriterion(stats, reml, dense_limit=0, sparse_solver=_solver(solver))
    assert dense.sparse_solver == "dense" and sparse.sparse_solver == solver
    for theta in ([0.7, 1.0, 0.3, 0.4], [0.1, 0.5, -0.2, 0.0], [0.0, 2.0, 0.0, 0.1]):
        theta = np.array(theta)
        a, b = dense.evaluate(theta), sparse.evaluate(theta)
        np.testing.assert_allclose(b.value, a.value, rtol=1e-13)
        np.testing.assert_allclose(b.beta, a.beta, rtol=1e-10)
        for u, v in zip(sparse.blups(theta, a.beta), dense.blups(theta, a.beta), strict=True):
            np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-12)
        pairs = zip(
            sparse.conditional_covariances(theta, 1.0),
            dense.conditional_covariances(theta, 1.0),
            strict=True,
        )
        for u, v in pairs:
            np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-12)


def test_blups_solve_the_penalised_normal_equations(pen_fit, penicillin):
    """Z_k'(y - Xβ - Zb) = σ² D_k⁻¹ b_k for every factor k (D_k its covariance)."""
    resid = penicillin["diameter"] - pen_fit.fitted_values
    for factor in pen_fit.factors:
        sums = resid.groupby(penicillin[factor.name]).sum()
        blups = pen_fit.ranef[factor.name]["Intercept"]
        rhs = pen_fit.sigma2 / factor.cov[0, 0] * blups
        np.testing.assert_allclose(sums.loc[blups.index], rhs, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- spellings of one model
def test_term_order_does_not_matter(pen_fit, penicillin):
    swapped = mixed("diameter ~ 1 + (1 | sample) + (1 | plate)", penicillin)
    assert [f.name for f in swapped.factors] == ["plate", "sample"]  # lme4: most levels first
    np.testing.assert_allclose(swapped.reml_criterion, pen_fit.reml_criterion, rtol=1e-14)
    pd.testing.assert_frame_equal(swapped.varcorr, pen_fit.varcorr, rtol=1e-8)


def test_nesting_is_the_interaction_with_the_outer_factor(pastes):
    nested = mixed("strength ~ 1 + (1 | batch/cask)", pastes)
    spelled = mixed("strength ~ 1 + (1 | batch) + (1 | cask:batch)", pastes)
    unique_labels = mixed("strength ~ 1 + (1 | batch) + (1 | sample)", pastes)
    assert [f.name for f in nested.factors] == ["cask:batch", "batch"]
    assert nested.group_counts == {"cask:batch": 30, "batch": 10}
    for other in (spelled, unique_labels):
        np.testing.assert_allclose(other.reml_criterion, nested.reml_criterion, rtol=1e-13)
        # the components to the optimiser's resolution on this flat criterion (as vs lme4)
        np.testing.assert_allclose(other.varcorr["vcov"], nested.varcorr["vcov"], rtol=2e-6)


def test_constant_prior_weights_scale_sigma2_only(penicillin):
    """Weights c: Var(e) = σ²/c, so σ² is c times the unweighted one; the model for y, its
    random-effect variances and its likelihood (lme4's, with the Σ log w term) are
    unchanged."""
    c = 3.0
    base = mixed(PEN, penicillin)
    weighted = mixed(PEN, penicillin, weights=np.full(len(penicillin), c))
    np.testing.assert_allclose(weighted.params, base.params, rtol=1e-10)
    np.testing.assert_allclose(weighted.sigma2, c * base.sigma2, rtol=1e-7)
    var_rows = weighted.varcorr["grp"] != "Residual"
    np.testing.assert_allclose(
        weighted.varcorr.loc[var_rows, "vcov"], base.varcorr.loc[var_rows, "vcov"], rtol=1e-6
    )
    np.testing.assert_allclose(weighted.loglike, base.loglike, rtol=1e-12)


# ---------------------------------------------------------------- results
def test_single_factor_accessors_explain_the_multi_factor_ones(pen_fit):
    for name in ("cov_re", "random_effects", "group_name", "n_groups"):
        with pytest.raises(InvalidParameterError, match="use varcorr .* ranef"):
            getattr(pen_fit, name)


def test_summary_lists_every_factor(pen_fit):
    text = str(pen_fit)
    for label in ("plate: Intercept", "sample: Intercept", "No. groups (plate)", "24", "6"):
        assert label in text


def test_caterpillar_plots_per_factor(pen_fit):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    fig = pen_fit.plot_random_effects()
    titles = [a.get_title() for a in fig.axes if a.get_visible()]
    assert titles == ["plate: Intercept", "sample: Intercept"]
    plt.close(fig)
    with pytest.raises(InvalidParameterError, match=r"'sampel' \(did you mean 'sample'\?\)"):
        pen_fit.plot_random_effects(factor="sampel")


def test_predict_bad_re_form(pen_fit, penicillin):
    with pytest.raises(InvalidParameterError, match="grouping factor 'cask'"):
        pen_fit.predict(penicillin, re_form="~(1 | cask)")
    with pytest.raises(InvalidParameterError, match="'re_form' must be None"):
        pen_fit.predict(penicillin, re_form=3)
    np.testing.assert_allclose(  # the estimation rows, from the fitted design
        pen_fit.predict(re_form="~(1 | plate)"), pen_fit.predict(penicillin, re_form="~(1|plate)")
    )
    with pytest.raises(InvalidParameterError, match="not both"):
        pen_fit.predict(penicillin, include_random=False, re_form="~(1 | plate)")
    no_plate = penicillin.drop(columns="plate")
    with pytest.raises(DataError, match="needs the column 'plate'"):
        pen_fit.predict(no_plate)
    np.testing.assert_allclose(
        pen_fit.predict(no_plate, re_form="~(1 | sample)"),
        pen_fit.predict(penicillin, re_form="~(1 | sample)"),
    )


def test_anova_errors(pen_fit, penicillin, sleepstudy):
    with pytest.raises(InvalidParameterError, match="two or more models"):
        anova(pen_fit)
    with pytest.raises(InvalidParameterError, match="Argument 2 is DataFrame"):
        anova(pen_fit, penicillin)
    other = mixed("Reaction ~ Days + (1 | Subject)", sleepstudy)
    with pytest.raises(DataError, match="not all fitted to the same rows"):
        anova(pen_fit, other)


# ---------------------------------------------------------------- bad input
def test_factor_with_one_level(penicillin):
    df = penicillin.assign(lab="only")
    with pytest.raises(InsufficientDataError, match=r"'lab' must have at least 2 levels"):
        mixed("diameter ~ 1 + (1 | plate) + (1 | lab)", df)


def test_more_random_effects_than_observations(penicillin):
    df = penicillin.assign(row=np.arange(len(penicillin)))
    with pytest.raises(InsufficientDataError, match=r"144 observations but 144 levels of 'row'"):
        mixed("diameter ~ 1 + (1 | plate) + (1 | row)", df)


def test_confounded_factors(penicillin):
    df = penicillin.assign(plate2="p" + penicillin["plate"])  # the same groups, relabelled
    with pytest.raises(DataError, match="'plate' and 'plate2' put the rows into the same"):
        mixed("diameter ~ 1 + (1 | plate) + (1 | plate2)", df)


def test_reversed_nesting_is_explained(pastes):
    """(1 | sample/batch): batch does not subdivide sample, so batch:sample = sample."""
    with pytest.raises(DataError, match=r"perhaps '\(1 \| batch/sample\)'"):
        mixed("strength ~ 1 + (1 | sample/batch)", pastes)


def test_zero_variance_component_is_a_singular_fit(sleepstudy):
    with pytest.warns(UserWarning, match=r"random intercept of 'Days' was estimated as 0"):
        res = mixed("Reaction ~ Days + (Days | Subject) + (1 | Days)", sleepstudy)
    assert res.singular and np.all(res.ranef["Days"].to_numpy() == 0)


def test_missing_values_in_a_second_factor(penicillin):
    df = penicillin.copy()
    df.loc[[0, 7], "sample"] = np.nan
    before = df.copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = mixed(PEN, df)
    assert res.nobs == 142 and any("Dropped 2 of 144" in str(w.message) for w in caught)
    pd.testing.assert_frame_equal(df, before)


def test_interaction_labels_cannot_collide(pastes):
    """('a:b', 'c') and ('a', 'b:c') would both be 'a:b:c': such data are refused, while
    values with ':' that do not collide (Pastes' sample, 'A:a') are fine."""
    df = pd.DataFrame(
        {"y": np.arange(8.0) ** 1.5, "u": ["a:b", "a", "a:b", "a"] * 2, "v": ["c", "b:c"] * 4}
    )
    with pytest.raises(DataError, match="'u:v'.*look the same"):
        mixed("y ~ 1 + (1 | u:v) + (1 | u)", df)


def test_re_form_must_repeat_a_factors_terms(sleepstudy):
    """lme4 refuses a re.form term that is not in the model; a part of a factor's terms
    cannot be taken either."""
    res = mixed("Reaction ~ Days + (Days | Subject) + (1 | Days)", sleepstudy)
    with pytest.raises(
        InvalidParameterError, match=r"repeat the fitted random terms.*Days \| Subject"
    ):
        res.predict(sleepstudy, re_form="~(1 | Subject)")
    full = res.predict(sleepstudy, re_form="~(Days|Subject)")  # spacing does not matter
    subject = res.ranef["Subject"].loc[sleepstudy["Subject"]].to_numpy()
    expected = (
        res.predict(sleepstudy, re_form="~0")
        + subject[:, 0]
        + subject[:, 1] * sleepstudy["Days"].to_numpy()
    )
    np.testing.assert_allclose(full, expected, rtol=1e-12)


def test_interaction_levels_do_not_depend_on_the_column_dtype(pastes):
    """An integer column that holds a NaN is float; its levels are still '3', not '3.0', so
    clean integer data predicts with the fitted effects."""
    df = pastes.assign(b=pd.factorize(pastes["batch"])[0], c=pd.factorize(pastes["cask"])[0])
    with_nan = df.astype({"b": float})
    with_nan.loc[0, "b"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mixed("strength ~ 1 + (1 | b/c)", with_nan)
    assert "0:1" in res.ranef["c:b"].index  # c:b levels written as integers
    got = res.predict(df.iloc[1:])  # integer columns: every level was seen
    np.testing.assert_allclose(got, res.fitted_values.to_numpy(), rtol=1e-12)


def test_anova_refuses_different_rows_of_the_same_size(penicillin):
    a = mixed("diameter ~ 1 + (1 | plate)", penicillin.iloc[:100])
    b = mixed("diameter ~ 1 + (1 | plate) + (1 | sample)", penicillin.iloc[44:])
    with pytest.raises(DataError, match="same rows"):
        anova(a, b)


def test_confounded_interaction_is_not_called_a_reversed_nesting(penicillin):
    df = penicillin.assign(k="same")
    with pytest.raises(DataError, match="same groups") as info:
        mixed("diameter ~ 1 + (1 | plate) + (1 | plate:k)", df)
    assert "perhaps" not in str(info.value)


def test_factor_order_is_lme4s():
    """lme4 keeps the formula's order when the numbers of levels never increase, otherwise
    rev(order(nlevels)): R 4.2.2, lme4 1.1.31, with a, b of 10 levels and c of 5 —
    names(getME(lmer(y ~ 1 + (1 | c) + (1 | a) + (1 | b), d), "flist")) is b, a, c and
    with (1 | a) + (1 | b) + (1 | c) it is a, b, c."""
    rng = np.random.default_rng(1)
    a, b = np.repeat(np.arange(10), 10), np.tile(np.arange(10), 10)
    c = rng.integers(0, 5, 100)
    y = rng.normal(size=10)[a] + rng.normal(size=10)[b] + rng.normal(size=5)[c]
    df = pd.DataFrame({"y": y + rng.normal(size=100), "a": a, "b": b, "c": c})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = mixed("y ~ 1 + (1 | c) + (1 | a) + (1 | b)", df)
        second = mixed("y ~ 1 + (1 | a) + (1 | b) + (1 | c)", df)
    assert list(first.group_counts) == ["b", "a", "c"]
    assert list(second.group_counts) == ["a", "b", "c"]
    np.testing.assert_allclose(first.reml_criterion, second.reml_criterion, rtol=1e-12)


def test_group_coefficients_are_separate_fits_and_conditional_modes():
    import panelre as pr

    """No pooling: each subject's own least-squares line (lme4's lmList); partial
    pooling: fixed effects plus BLUPs (lme4's coef)."""
    sleep = pr.datasets.load("sleepstudy")
    m = pr.mixed("Reaction ~ Days + (Days | Subject)", sleep)
    table = m.group_coefficients()
    for subject in (308, 335):
        rows = sleep[sleep.Subject == subject]
        X = np.column_stack([np.ones(len(rows)), rows.Days])
        own = np.linalg.lstsq(X, rows.Reaction, rcond=None)[0]
        np.testing.assert_allclose(table.loc[subject, "no_pooling"], own, rtol=1e-10)
    conditional = m.params[["Intercept", "Days"]].to_numpy() + m.random_effects.to_numpy()
    np.testing.assert_allclose(table["partial_pooling"], conditional, rtol=1e-12)
    with pytest.raises(pr.InvalidParameterError, match="n_extremes"):
        m.plot_random_effects(n_extremes=0)


def test_mixed_prediction_intervals_are_consistent():
    """Intervals: x'V x for the fixed part; a new observation adds sigma² and, for a group
    whose effect is not predicted (left out or new), z'Σz."""
    sleep = load("sleepstudy")
    m = mixed("Reaction ~ Days + (Days | Subject)", sleep)
    rows = sleep.head(3)
    x = np.column_stack([np.ones(3), rows.Days])
    conf = m.predict(rows, interval="confidence")
    np.testing.assert_allclose(conf["se"] ** 2, np.einsum("ij,jk,ik->i", x, m.cov, x))
    new = m.predict(rows.assign(Subject=999), allow_new_levels=True, interval="prediction")
    out = m.predict(rows, effects="exclude", interval="prediction")
    np.testing.assert_allclose(new.to_numpy(), out.to_numpy(), rtol=1e-12)
    sigma = m.cov_re.to_numpy()
    expected = conf["se"] ** 2 + m.sigma2 + np.einsum("ij,jk,ik->i", x, sigma, x)
    np.testing.assert_allclose(out["se"] ** 2, expected, rtol=1e-12)
    inside = m.predict(interval="prediction").iloc[:3]
    np.testing.assert_allclose(inside["se"] ** 2, conf["se"] ** 2 + m.sigma2, rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="interval"):
        m.predict(rows, interval="band")
