"""The Dask backend gives the in-memory numbers (rtol 1e-10): every estimator, every
covariance and every specification test, on balanced and unbalanced panels.

The panels are shuffled into 6 partitions (unknown divisions), so every entity is split
across partitions. Most cases run on the synchronous scheduler; a subset repeats on an
in-process two-worker ``LocalCluster``. Every test has a timeout, so a hang fails fast.
"""

from __future__ import annotations

import dask
import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest

import panelre as pr
from panelre.exceptions import InvalidParameterError
from tests.backend_cases import (
    ESTIMATORS,
    FORMULA,
    KW,
    assert_covariances_equal,
    assert_results_equal,
    assert_tests_equal,
    case_id,
    fit_both,
    make_panel,
    quiet,
)

RTOL = 1e-10
pytestmark = pytest.mark.timeout(120)


def _lazy(panel: pd.DataFrame) -> dd.DataFrame:
    shuffled = panel.sample(frac=1.0, random_state=3).reset_index(drop=True)
    return dd.from_pandas(shuffled, npartitions=6, sort=False)


@pytest.fixture(scope="module", params=[True, False], ids=["balanced", "unbalanced"])
def panels(request) -> tuple[pd.DataFrame, dd.DataFrame]:
    panel = make_panel(balanced=request.param)
    return panel, _lazy(panel)


@pytest.fixture
def sync():
    with dask.config.set(scheduler="sync"):
        yield


@pytest.mark.parametrize("case", ESTIMATORS, ids=[case_id(c) for c in ESTIMATORS])
def test_estimators_and_covariances(sync, panels, case) -> None:
    panel, ddf = panels
    name, formula, opts = case
    got, ref = fit_both(name, formula, opts, ddf, panel, "auto")
    assert got.backend == "dask" and ref.backend == "numpy"
    assert_results_equal(got, ref, RTOL)
    assert_covariances_equal(got, ref, RTOL)


def test_specification_tests(sync, panels) -> None:
    panel, ddf = panels
    assert_tests_equal(ddf, panel, "dask", RTOL)


def test_rows_are_lazy(sync, panels) -> None:
    panel, ddf = panels
    got, ref = fit_both("fixed_effects", FORMULA, {}, ddf, panel, "auto")
    resids = got.resids
    assert isinstance(resids, dd.Series)
    ours = resids.compute().to_numpy()
    np.testing.assert_allclose(np.sort(ours), np.sort(ref.resids.to_numpy()), rtol=1e-9)
    fitted = got.fitted_values.compute().to_numpy()
    np.testing.assert_allclose(np.sort(fitted), np.sort(ref.fitted_values.to_numpy()), rtol=1e-9)
    pred = got.predict(ddf, effects="exclude").compute()
    assert len(pred) == len(panel)
    with pytest.raises(InvalidParameterError, match="Dask frame"):
        got.predict(ddf)
    np.testing.assert_allclose(
        got.predict(panel.iloc[:5]).to_numpy(), ref.predict(panel.iloc[:5]).to_numpy(), rtol=1e-9
    )


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)  # fmt: skip
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("name", "opts"),
    [
        ("fixed_effects", {"effects": "twoway"}),
        ("random_effects", {}),
        ("first_difference", {}),
        ("hausman_taylor", {"endogenous": ["x1", "z"], "instruments": "amemiya-macurdy"}),
    ],
)
def test_on_a_local_cluster(client, name, opts) -> None:
    panel = make_panel(balanced=False, seed=5)
    ddf = _lazy(panel).persist()
    formula = "y ~ x1 + x2 + z" if name == "hausman_taylor" else FORMULA
    got = quiet(getattr(pr, name), formula, ddf, cov="cluster", **KW, **opts)
    ref = quiet(getattr(pr, name), formula, panel, cov="cluster", **KW, **opts)
    assert_results_equal(got, ref, RTOL)
