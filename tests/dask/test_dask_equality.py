"""The Dask backend gives the in-memory numbers (rtol 1e-10) on a LocalCluster.

The panel is seeded, unbalanced, ~10⁵ rows in 8 partitions, shuffled so that every
entity is split across partitions (divisions unknown).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from panelre.dask import dispatch, fit_dask, is_dask

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

RTOL = 1e-10
FORMULA = "y ~ x1 + x2 + C(g)"


def make_panel(n_entities: int = 10_000, n_periods: int = 12, seed: int = 0) -> pd.DataFrame:
    """Unbalanced panel: entity and period effects, a categorical, a cluster column."""
    rng = np.random.default_rng(seed)
    e = np.repeat(np.arange(n_entities), n_periods)
    t = np.tile(np.arange(n_periods), n_entities)
    keep = rng.random(e.size) < 0.85
    e, t = e[keep], t[keep]
    n = e.size
    alpha = rng.normal(size=n_entities)[e]
    x1 = rng.normal(size=n) + 0.5 * alpha
    x2 = rng.normal(size=n) + rng.normal(size=n_periods)[t]
    g = rng.choice(["a", "b", "c"], n)
    y = 1 + 0.5 * x1 - 0.3 * x2 + alpha + 0.5 * rng.normal(size=n_periods)[t] + rng.normal(size=n)
    y += np.select([g == "b", g == "c"], [0.4, -0.25], 0.0)  # no coefficient near 0
    return pd.DataFrame(
        {
            "firm": e,
            "year": 2000 + t,
            "y": y,
            "x1": x1,
            "x2": x2,
            "g": g,
            "region": rng.integers(0, 40, n_entities)[e],
        }
    )


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return make_panel()


@pytest.fixture(scope="module")
def ddf(client, panel: pd.DataFrame):
    shuffled = panel.sample(frac=1.0, random_state=3).reset_index(drop=True)
    return dd.from_pandas(shuffled, npartitions=8, sort=False).persist()  # data on the workers


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def assert_same(dask_res, mem_res) -> None:
    for attr in ("params", "std_errors"):
        a, b = getattr(dask_res, attr), getattr(mem_res, attr)
        assert list(a.index) == list(b.index)
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=RTOL)
    for attr in (
        "nobs",
        "n_entities",
        "df_resid",
        "df_model",
        "rsquared",
        "rsquared_within",
        "rsquared_between",
        "rsquared_overall",
    ):
        np.testing.assert_allclose(getattr(dask_res, attr), getattr(mem_res, attr), rtol=RTOL)
    assert dask_res.dropped == mem_res.dropped
    vc_d, vc_m = dask_res.variance_components, mem_res.variance_components
    if vc_m is not None:
        np.testing.assert_allclose(vc_d.to_series(), vc_m.to_series(), rtol=RTOL)
        np.testing.assert_allclose(vc_d.shrinkage, vc_m.shrinkage, rtol=RTOL)


COVS = [
    ("unadjusted", {}),
    ("robust", {}),
    ("cluster", {}),
    ("cluster", {"cluster": "time", "small_sample": True}),
    ("cluster", {"cluster": ["entity", "time"]}),
    ("driscoll-kraay", {}),
]

CASES = [
    ("pooled_ols", {}),
    ("fixed_effects", {"effects": "entity"}),
    ("random_effects", {"method": "swamy-arora"}),
    ("fixed_effects", {"effects": "twoway"}),
    ("first_difference", {}),
]


@pytest.mark.parametrize(("name", "opts"), CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_estimators_all_covariances(client, panel, ddf, name, opts) -> None:
    res = _quiet(fit_dask, name, FORMULA, ddf, "firm", "year", "unadjusted", dict(opts))
    assert isinstance(res, pr.PanelResults) and is_dask(res)
    for cov, cov_opts in COVS:
        mem = _quiet(getattr(pr, name), FORMULA, panel, entity="firm", time="year", cov=cov,
                     **opts, **cov_opts)  # fmt: skip
        assert_same(res.with_cov(cov, **cov_opts), mem)


@pytest.mark.parametrize(
    "opts",
    [
        {"method": "wallace-hussain"},
        {"method": "amemiya"},
        {"method": "nerlove"},
        {"method": "ml"},
        {"method": "reml"},
        {"convention": "stata"},
        {"effects": "time"},
        {"effects": "twoway"},
        {"effects": "twoway", "method": "amemiya"},
    ],
)
def test_random_effects_methods(client, panel, ddf, opts) -> None:
    res = _quiet(dispatch, "random_effects", FORMULA, ddf, entity="firm", time="year",
                 cov="cluster", **opts)  # fmt: skip
    mem = _quiet(pr.random_effects, FORMULA, panel, entity="firm", time="year", cov="cluster",
                 **opts)  # fmt: skip
    assert_same(res, mem)


def test_between_and_time_effects(client, panel, ddf) -> None:
    res = _quiet(dispatch, "between", FORMULA, ddf, entity="firm", cov="robust")
    assert_same(res, _quiet(pr.between, FORMULA, panel, entity="firm", cov="robust"))
    res = _quiet(dispatch, "fixed_effects", FORMULA, ddf, entity="firm", time="year",
                 effects="time", cov="cluster", cluster="region")  # fmt: skip
    mem = _quiet(pr.fixed_effects, FORMULA, panel, entity="firm", time="year", effects="time",
                 cov="cluster", cluster="region")  # fmt: skip
    assert_same(res, mem)


def test_effects_and_summary(client, panel, ddf) -> None:
    fe = _quiet(dispatch, "fixed_effects", FORMULA, ddf, entity="firm", time="year",
                effects="twoway")  # fmt: skip
    mem = _quiet(pr.fixed_effects, FORMULA, panel, entity="firm", time="year", effects="twoway")
    np.testing.assert_allclose(fe.effects, mem.effects, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fe.extra["time_effects"], mem.extra["time_effects"], atol=1e-10)
    assert "Fixed effects" in str(fe.summary)
    with pytest.raises(pr.DataError, match="not collected"):
        _ = fe.resids
    pred = fe.predict(ddf).compute()
    assert len(pred) == len(panel)


def test_specification_tests(client, panel, ddf) -> None:
    kw = {"entity": "firm", "time": "year"}
    for effects in ("entity", "twoway"):
        a = dispatch("breusch_pagan", FORMULA, ddf, effects=effects, **kw)
        b = pr.breusch_pagan(FORMULA, panel, effects=effects, **kw)
        np.testing.assert_allclose(a.stat, b.stat, rtol=RTOL)
    fe_d = _quiet(dispatch, "fixed_effects", FORMULA, ddf, **kw)
    re_d = _quiet(dispatch, "random_effects", FORMULA, ddf, **kw)
    fe_m = _quiet(pr.fixed_effects, FORMULA, panel, **kw)
    re_m = _quiet(pr.random_effects, FORMULA, panel, **kw)
    np.testing.assert_allclose(
        dispatch("f_test_effects", fe_d).stat, pr.f_test_effects(fe_m).stat, rtol=RTOL
    )
    h_d = _quiet(pr.hausman, fe_d, re_d, variant="sigmamore")
    h_m = _quiet(pr.hausman, fe_m, re_m, variant="sigmamore")
    np.testing.assert_allclose(h_d.stat, h_m.stat, rtol=RTOL)
    for cov in ("unadjusted", "cluster"):
        a = dispatch("hausman_regression", FORMULA, ddf, cov=cov, **kw)
        b = pr.hausman_regression(FORMULA, panel, cov=cov, **kw)
        np.testing.assert_allclose(a.stat, b.stat, rtol=RTOL)
        assert a.df == b.df
    sel_d = _quiet(dispatch, "select", FORMULA, ddf, **kw)
    sel_m = _quiet(pr.select, FORMULA, panel, **kw)
    assert sel_d.recommended == sel_m.recommended
    assert sel_d.report() == sel_m.report()
