"""Results object: immutability, input forms, summary rendering and plots."""

from __future__ import annotations

import dataclasses
import io

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy.special import gamma

from panelre.datasets import load
from panelre.meta import MetaAnalysisResults, effect_size, meta_analysis
from panelre.meta.effect_sizes import hedges_correction

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def bcg() -> pd.DataFrame:
    data = load("bcg")
    es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data)
    return pd.concat([data, es], axis=1)


@pytest.fixture(scope="module")
def model(bcg: pd.DataFrame) -> MetaAnalysisResults:
    return meta_analysis("yi", "vi", data=bcg, labels="author")


@pytest.fixture(scope="module")
def regression(bcg: pd.DataFrame) -> MetaAnalysisResults:
    return meta_analysis("yi", "vi", data=bcg, moderators="~ ablat")


# -- input forms ---------------------------------------------------------------------------------
def test_arrays_series_and_columns_agree(bcg: pd.DataFrame) -> None:
    a = meta_analysis(bcg.yi.to_numpy(), bcg.vi.to_numpy())
    b = meta_analysis(bcg.yi, bcg.vi)
    c = meta_analysis("yi", "vi", data=bcg)
    d = meta_analysis(list(bcg.yi), tuple(bcg.vi))
    assert a.estimate == b.estimate == c.estimate == d.estimate


def test_moderator_forms_agree(bcg: pd.DataFrame, regression: MetaAnalysisResults) -> None:
    frame = meta_analysis("yi", "vi", data=bcg, moderators=bcg[["ablat"]])
    series = meta_analysis(bcg.yi, bcg.vi, moderators=bcg.ablat)
    array = meta_analysis(bcg.yi, bcg.vi, moderators=bcg.ablat.to_numpy())
    for other in (frame, series):
        pd.testing.assert_series_equal(other.estimate, regression.estimate, rtol=1e-12)
    assert list(array.estimate.index) == ["Intercept", "x1"]
    np.testing.assert_allclose(array.estimate, regression.estimate, rtol=1e-12)


def test_categorical_moderator_formula(bcg: pd.DataFrame) -> None:
    m = meta_analysis("yi", "vi", data=bcg, moderators="~ C(alloc)", method="DL")
    assert m.estimate.index[0] == "Intercept" and len(m.estimate) == 3
    assert m.qm_df == (2,)


def test_labels(bcg: pd.DataFrame, model: MetaAnalysisResults) -> None:
    assert model.weights.index[0] == "Aronson"
    assert list(meta_analysis(bcg.yi, bcg.vi).weights.index) == list(range(1, 14))
    indexed = bcg.set_index("author")
    assert meta_analysis("yi", "vi", data=indexed).weights.index[1] == "Ferguson & Simes"


# -- immutability --------------------------------------------------------------------------------
def test_results_are_immutable(model: MetaAnalysisResults) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.tau2 = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        model.studies.y[0] = 1.0
    with pytest.raises(ValueError):
        model.weights.to_numpy()[0] = 1.0


def test_level_changes_intervals(bcg: pd.DataFrame, model: MetaAnalysisResults) -> None:
    m90 = meta_analysis("yi", "vi", data=bcg, level=0.90)
    assert m90.ci[0] > model.ci[0] and m90.pi[1] < model.pi[1]
    assert m90.tau2_ci[1] < model.tau2_ci[1]


def test_regression_attributes(regression: MetaAnalysisResults) -> None:
    assert isinstance(regression.estimate, pd.Series) and regression.pi is None
    assert regression.r2 == pytest.approx(75.6266218116048, rel=1e-9)
    assert regression.cov.shape == (2, 2)
    assert regression.tau == pytest.approx(np.sqrt(regression.tau2))


# -- summary -------------------------------------------------------------------------------------
def test_summary_text_and_formats(
    model: MetaAnalysisResults, regression: MetaAnalysisResults
) -> None:
    text = str(model.summary)
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in text
    assert "-0.7145" in text and "92.22" in text and "Prediction 95% lower" in text
    reg = str(regression.summary)
    assert "Mixed-Effects Model" in reg and "ablat" in reg and "QM(df = 1)" in reg
    assert "R^2 (%)" in reg and "QE(df = 11)" in reg
    assert "<table>" in model.summary._repr_html_()
    assert "\\toprule" in model.summary.as_latex()
    assert "| estimate |" in model.summary.as_markdown()
    assert "MetaAnalysisResults(method='REML'" in repr(model)


def test_summary_hksj_and_fe(bcg: pd.DataFrame) -> None:
    hk = meta_analysis("yi", "vi", data=bcg, test="knha", moderators="~ ablat")
    text = str(hk.summary)
    assert "F(df = 1, 11)" in text and "P(>F)" in text and "P>|t|" in text
    assert "t tests with 11 df" in text
    fe = str(meta_analysis("yi", "vi", data=bcg, method="FE").summary)
    assert "Fixed-Effect Model" in fe and "tau^2 (SE)" not in fe


# -- effect sizes --------------------------------------------------------------------------------
def test_hedges_correction_is_exact_gamma_ratio() -> None:
    m = np.array([2.0, 5.0, 18.0, 120.0])
    exact = gamma(m / 2) / (np.sqrt(m / 2) * gamma((m - 1) / 2))
    np.testing.assert_allclose(hedges_correction(m), exact, rtol=1e-13)
    assert np.isnan(hedges_correction(1.0))
    # large m: no cancellation; agrees with the asymptotic series 1 - 3/(4m) - 7/(32m^2) - ...
    for big in (1e6, 1e9):
        series = 1 - 3 / (4 * big) - 7 / (32 * big**2)
        assert hedges_correction(big) == pytest.approx(series, rel=1e-14)


def test_group_sizes_instead_of_noncases(bcg: pd.DataFrame) -> None:
    a = effect_size("OR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
    b = effect_size(
        "OR", ai=bcg.tpos, n1i=bcg.tpos + bcg.tneg, ci=bcg.cpos, n2i=bcg.cpos + bcg.cneg
    )
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy())
    assert list(b.columns) == ["yi", "vi"]


def test_effect_size_to_options() -> None:
    tables = dict(ai=[0, 3], bi=[10, 7], ci=[2, 1], di=[8, 9])
    only0 = effect_size("RD", **tables)
    assert only0.yi[0] == pytest.approx(0.5 / 11 - 2.5 / 11)  # metafor adds 1/2 for RD too
    none = effect_size("RD", **tables, to="none")
    assert none.yi[0] == pytest.approx(-0.2)
    every = effect_size("OR", **tables, to="all")
    assert every.yi[1] == pytest.approx(np.log(3.5 * 9.5 / (7.5 * 1.5)))
    if0 = effect_size("OR", **tables, to="if0all")
    np.testing.assert_allclose(if0.yi, every.yi)
    with np.errstate(divide="ignore"):
        raw = effect_size("RR", **tables, to="none")
    assert np.isneginf(raw.yi[0])


# -- plots ---------------------------------------------------------------------------------------
def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # type: ignore[attr-defined]
    import matplotlib.pyplot as plt

    plt.close(fig)  # type: ignore[arg-type]
    return buf.getvalue()


def test_forest_plot_renders(model: MetaAnalysisResults) -> None:
    from matplotlib.figure import Figure

    fig = model.forest_plot(transform=np.exp, xlabel="Risk ratio")
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "Aronson" and labels[-2].startswith("RE model")
    assert labels[-1] == "95% prediction interval"
    assert _png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_forest_plot_fe_and_untransformed(bcg: pd.DataFrame) -> None:
    fig = meta_analysis("yi", "vi", data=bcg, method="FE").forest_plot(show_weights=False)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1] == "FE model"  # no prediction interval for FE
    assert _png(fig)[:4] == b"\x89PNG"


def test_funnel_plot_renders(model: MetaAnalysisResults, regression: MetaAnalysisResults) -> None:
    fig = model.funnel_plot()
    assert fig.axes[0].get_ylim()[0] > fig.axes[0].get_ylim()[1]  # inverted se axis
    assert _png(fig)[:4] == b"\x89PNG"
    fig = regression.funnel_plot()
    assert fig.axes[0].get_xlabel() == "Residual"
    assert _png(fig)[:4] == b"\x89PNG"


def test_forest_plot_rejects_regression(regression: MetaAnalysisResults) -> None:
    with pytest.raises(ValueError, match="without moderators"):
        regression.forest_plot()
