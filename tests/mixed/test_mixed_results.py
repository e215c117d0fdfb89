"""Results API of panelre.mixed: spellings, immutability, predictions, summary, shrinkage, plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from panelre.exceptions import DataError, InvalidParameterError
from panelre.mixed import MixedResults, mixed


@pytest.fixture(scope="module")
def slope(sleepstudy):
    return mixed("Reaction ~ Days + (Days | Subject)", sleepstudy)


@pytest.fixture(scope="module")
def intercept(sleepstudy):
    return mixed("Reaction ~ Days + (1 | Subject)", sleepstudy)


def test_statsmodels_spelling_random_intercept(dietox):
    a = mixed("Weight ~ Time", dietox, groups="Pig")
    b = mixed("Weight ~ Time + (1 | Pig)", dietox)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    np.testing.assert_allclose(a.cov_re, b.cov_re, rtol=1e-12)
    assert a.formula == "Weight ~ Time + (1 | Pig)"


def test_statsmodels_spelling_random_slope(dietox):
    a = mixed("Weight ~ Time", dietox, groups="Pig", re_formula="~Time")
    b = mixed("Weight ~ Time + (Time | Pig)", dietox)
    np.testing.assert_allclose(a.reml_criterion, b.reml_criterion, rtol=1e-12)
    assert list(a.cov_re.index) == ["Intercept", "Time"]


def test_groups_as_array(dietox):
    a = mixed("Weight ~ Time", dietox, groups=dietox["Pig"].to_numpy())
    b = mixed("Weight ~ Time + (1 | Pig)", dietox)
    np.testing.assert_allclose(a.loglike, b.loglike, rtol=1e-12)


def test_independent_equals_explicit_terms(sleepstudy):
    a = mixed("Reaction ~ Days + (Days || Subject)", sleepstudy)
    b = mixed("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", sleepstudy)
    np.testing.assert_allclose(a.loglike, b.loglike, rtol=1e-12)
    assert a.cov_re.loc["Intercept", "Days"] == 0.0
    assert a.theta.size == 2


def test_names_and_shapes(slope, sleepstudy):
    assert list(slope.params.index) == ["Intercept", "Days"]
    assert list(slope.cov_re.columns) == ["Intercept", "Days"]
    assert slope.random_effects.shape == (18, 2)
    assert slope.random_effects.index.name == "Subject"
    assert slope.nobs == 180 and slope.n_groups == 18
    assert slope.n_params == 6 and slope.converged and not slope.singular
    assert slope.gradient_norm < 1e-4
    np.testing.assert_allclose(slope.aic, -2 * slope.loglike + 12)
    np.testing.assert_allclose(slope.bic, -2 * slope.loglike + 6 * np.log(180))


def test_normal_based_inference(slope):
    np.testing.assert_allclose(slope.tstats, slope.params / slope.std_errors)
    np.testing.assert_allclose(slope.pvalues, 2 * sps.norm.sf(np.abs(slope.tstats)))
    ci = slope.conf_int(0.9)
    assert list(ci.columns) == ["lower", "upper"]
    np.testing.assert_allclose(ci["upper"] - slope.params, 1.6448536 * slope.std_errors, rtol=1e-6)
    with pytest.raises(InvalidParameterError, match="'level'"):
        slope.conf_int(95)


def test_results_are_immutable(slope):
    with pytest.raises(AttributeError):
        slope.sigma2 = 1.0
    with pytest.raises(ValueError):
        slope.fitted_fixed[0] = 0.0
    params = slope.params
    params.iloc[0] = 0.0
    assert slope.params.iloc[0] != 0.0


def test_predict(slope, sleepstudy):
    fitted = slope.predict()
    np.testing.assert_allclose(slope.predict(sleepstudy), fitted)
    fixed = slope.predict(sleepstudy, include_random=False)
    np.testing.assert_allclose(
        fixed, slope.params["Intercept"] + slope.params["Days"] * sleepstudy["Days"]
    )
    np.testing.assert_allclose(slope.predict(include_random=False), fixed)
    new = pd.DataFrame({"Days": [1.0, 2.0], "Subject": [308, 999]})
    with pytest.raises(DataError, match=r"levels of 'Subject' that were not in .*\[999\]"):
        slope.predict(new)  # lme4: new levels are an error unless allowed
    pred = slope.predict(new, allow_new_levels=True)
    b = slope.random_effects.loc[308]
    np.testing.assert_allclose(pred.iloc[0], fixed.iloc[1] + b["Intercept"] + b["Days"])
    np.testing.assert_allclose(pred.iloc[1], fixed.iloc[2])  # unseen group: population level
    np.testing.assert_allclose(slope.predict(new, re_form="~0"), fixed.iloc[1:3])


def test_blups_reproduce_fitted_values(slope, sleepstudy):
    resid = sleepstudy["Reaction"] - slope.predict()
    # the BLUPs solve the penalised normal equations: Z_i'r_i = σ² D⁻¹ b_i
    d_inv = np.linalg.inv(slope.cov_re.to_numpy())
    for label in (308, 335):
        rows = sleepstudy["Subject"] == label
        z = np.column_stack([np.ones(rows.sum()), sleepstudy.loc[rows, "Days"]])
        lhs = z.T @ resid[rows].to_numpy()
        rhs = slope.sigma2 * d_inv @ slope.random_effects.loc[label].to_numpy()
        np.testing.assert_allclose(lhs, rhs, rtol=1e-6, atol=1e-6)


def test_summary_renders(slope):
    text = str(slope.summary)
    assert "Linear mixed model fit by REML" in text
    assert "Subject: Days" in text and "Residual" in text and "Corr" in text
    assert "0.066" in text  # correlation of intercept and slope, as lme4 prints
    assert "<table>" in slope.summary._repr_html_()
    assert "\\begin{tabular}" in slope.summary.as_latex()
    assert "| Intercept |" in slope.summary.as_markdown()
    assert "REML" in repr(slope)
    assert list(slope.to_frame().columns) == [
        "params", "std_errors", "tstats", "pvalues", "lower", "upper"
    ]  # fmt: skip


def test_ml_summary_reports_deviance(sleepstudy):
    res = mixed("Reaction ~ Days + (Days | Subject)", sleepstudy, reml=False)
    assert "maximum likelihood" in str(res.summary) and "Deviance" in str(res.summary)
    np.testing.assert_allclose(res.deviance, -2 * res.loglike)


def test_shrinkage(intercept):
    table = intercept.shrinkage()
    assert list(table.columns) == ["n", "no_pooling", "blup", "shrinkage"]
    s2u = intercept.cov_re.iloc[0, 0]
    factor = s2u / (s2u + intercept.sigma2 / 10)
    np.testing.assert_allclose(table["shrinkage"], factor)
    np.testing.assert_allclose(table["blup"], factor * table["no_pooling"], rtol=1e-10)


def test_shrinkage_needs_random_intercept_model(slope):
    with pytest.raises(InvalidParameterError, match="random-intercept models"):
        slope.shrinkage()


def test_plots_render_to_png(intercept, slope, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    for fig, name in (
        (intercept.plot_shrinkage(), "shrink"),
        (slope.plot_random_effects(), "caterpillar"),
    ):
        assert isinstance(fig, Figure)
        path = tmp_path / f"{name}.png"
        fig.savefig(path)
        assert path.stat().st_size > 1000


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_row_order_and_relabelling_change_nothing(seed):
    from panelre.datasets import load

    df = load("sleepstudy")
    rng = np.random.default_rng(seed)
    shuffled = df.iloc[rng.permutation(len(df))].copy()
    shuffled["Subject"] = shuffled["Subject"].map(
        dict(zip(df["Subject"].unique(), rng.permutation(18) + 1000, strict=True))
    )
    a = mixed("Reaction ~ Days + (Days | Subject)", df)
    b = mixed("Reaction ~ Days + (Days | Subject)", shuffled)
    np.testing.assert_allclose(a.reml_criterion, b.reml_criterion, rtol=1e-10)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-8)


def test_scaling_y_scales_estimates(sleepstudy):
    a = mixed("Reaction ~ Days + (Days | Subject)", sleepstudy)
    b = mixed(
        "Reaction ~ Days + (Days | Subject)",
        sleepstudy.assign(Reaction=lambda d: d.Reaction * 1000),
    )
    np.testing.assert_allclose(b.params, 1000 * a.params, rtol=1e-7)
    np.testing.assert_allclose(b.std_errors, 1000 * a.std_errors, rtol=1e-6)
    np.testing.assert_allclose(b.cov_re, 1e6 * a.cov_re, rtol=1e-5)


def test_results_type(slope):
    assert isinstance(slope, MixedResults)


def test_caterpillar_panels_share_one_order(slope):
    """Each subject sits on the same row in the intercept and the slope panel (sorted by the
    intercept), and the shrinkage colour bar shows whole group sizes."""
    import matplotlib

    matplotlib.use("Agg")
    fig = slope.plot_random_effects()
    first, second = (ax for ax in fig.axes if ax.get_visible())
    labels = [t.get_text() for t in first.get_yticklabels()]
    assert labels == [t.get_text() for t in second.get_yticklabels()]
    by_intercept = slope.random_effects["Intercept"].sort_values(kind="stable")
    assert labels == [str(v) for v in by_intercept.index]


def test_shrinkage_colour_bar_ticks_are_integers(intercept):
    import matplotlib

    matplotlib.use("Agg")
    fig = intercept.plot_shrinkage()
    bar = fig.axes[-1]
    fig.canvas.draw()
    ticks = [t for t in bar.get_yticks() if bar.get_ylim()[0] <= t <= bar.get_ylim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
