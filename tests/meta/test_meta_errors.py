"""Bad input: every error path names what was wrong, what was received, what is allowed."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from panelre.datasets import load
from panelre.exceptions import (
    BoundaryWarning,
    ConvergenceError,
    DataError,
    FormulaError,
    InsufficientDataError,
    InvalidParameterError,
    MissingValueWarning,
    PanelreError,
    RankDeficiencyError,
)
from panelre.meta import effect_size, meta_analysis
from panelre.meta import tau2 as tau2_module

Y = np.array([-0.9, -1.6, -1.3, -1.4, -0.2, -0.8])
V = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.007])


def test_unknown_method_lists_allowed() -> None:
    with pytest.raises(InvalidParameterError, match=r"'method'.*'REML'.*Got 'RMEL'"):
        meta_analysis(Y, V, method="RMEL")


def test_unknown_test_and_knha_alias() -> None:
    with pytest.raises(InvalidParameterError, match=r"'test'.*'hksj'.*Got 't'"):
        meta_analysis(Y, V, test="t")
    a = meta_analysis(Y, V, test="knha")
    b = meta_analysis(Y, V, test="HKSJ")
    assert a.test == b.test == "hksj" and a.se == b.se


def test_lowercase_method_and_ee_alias() -> None:
    assert meta_analysis(Y, V, method="dl").method == "DL"
    assert meta_analysis(Y, V, method="EE").method == "FE"


@pytest.mark.parametrize("level", [0, 1, 95, -0.5])
def test_bad_level(level: float) -> None:
    with pytest.raises(InvalidParameterError, match="'level'"):
        meta_analysis(Y, V, level=level)


def test_one_study_fe_defined_re_error() -> None:
    m = meta_analysis([0.5], [0.04], method="FE")
    assert m.estimate == 0.5 and m.se == pytest.approx(0.2)
    assert (m.q, m.q_pvalue, m.i2, m.h2, m.tau2) == (0.0, 1.0, 0.0, 1.0, 0.0)
    for method in ("REML", "DL", "PM"):
        with pytest.raises(InsufficientDataError, match=r"k = 1 .*method='FE'"):
            meta_analysis([0.5], [0.04], method=method)
    with pytest.raises(InsufficientDataError, match="test='hksj'"):
        meta_analysis([0.5], [0.04], method="FE", test="hksj")


def test_two_studies_work_for_every_estimator() -> None:
    for method in ("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BoundaryWarning)
            m = meta_analysis([0.1, 0.9], [0.04, 0.05], method=method)
        assert np.isfinite(m.estimate) and m.tau2 >= 0


def test_too_few_studies_for_moderators() -> None:
    data = pd.DataFrame({"y": [0.1, 0.5], "v": [0.1, 0.2], "x": [1.0, 2.0]})
    with pytest.raises(InsufficientDataError, match="k = 2 studies and p = 2"):
        meta_analysis("y", "v", moderators="~ x", data=data)


@pytest.mark.parametrize("bad", [0.0, -0.1])
def test_nonpositive_variance(bad: float) -> None:
    v = V.copy()
    v[2] = bad
    with pytest.raises(DataError, match=r"vi must be > 0.*studies 3"):
        meta_analysis(Y, v)


def test_nan_rows_dropped_with_count() -> None:
    y, v = Y.copy(), V.copy()
    y[1], v[4] = np.nan, np.nan
    with pytest.warns(MissingValueWarning, match="Dropped 2 of 6 studies"):
        m = meta_analysis(y, v, method="DL")
    ref = meta_analysis(Y[[0, 2, 3, 5]], V[[0, 2, 3, 5]], method="DL")
    assert m.k == 4 and m.estimate == pytest.approx(ref.estimate)
    assert list(m.weights.index) == [1, 3, 4, 6]


def test_nan_moderator_dropped() -> None:
    data = pd.DataFrame({"y": Y, "v": V, "x": [1.0, np.nan, 3, 4, 5, 6]})
    with pytest.warns(MissingValueWarning, match="Dropped 1 of 6"):
        m = meta_analysis("y", "v", moderators="~ x", data=data, method="DL")
    assert m.k == 5


def test_infinite_values() -> None:
    with pytest.raises(DataError, match="finite"):
        meta_analysis(np.r_[Y[:-1], np.inf], V)


def test_mismatched_lengths() -> None:
    with pytest.raises(DataError, match="'vi' argument has 5 values but the others have 6"):
        meta_analysis(Y, V[:5])
    with pytest.raises(DataError, match="moderators.*5 rows.*6 studies"):
        meta_analysis(Y, V, moderators=np.arange(5.0))


def test_column_names_need_data() -> None:
    with pytest.raises(InvalidParameterError, match="no data= was given"):
        meta_analysis("yi", "vi")
    with pytest.raises(DataError, match="column 'nope'.*Available columns"):
        meta_analysis("nope", "vi", data=pd.DataFrame({"yi": Y, "vi": V}))
    with pytest.raises(InvalidParameterError, match="'data' parameter must be a pandas"):
        meta_analysis("yi", "vi", data={"yi": Y, "vi": V})


def test_non_numeric_input() -> None:
    with pytest.raises(DataError, match="must hold numbers"):
        meta_analysis(["a", "b", "c"], [0.1, 0.1, 0.1])


def test_bad_formula_and_collinear_moderators() -> None:
    data = pd.DataFrame({"y": Y, "v": V, "x": np.arange(6.0)})
    with pytest.raises(FormulaError, match="could not be parsed"):
        meta_analysis("y", "v", moderators="~ missing_column", data=data)
    with pytest.raises(RankDeficiencyError, match="rank deficient"):
        meta_analysis("y", "v", data=data, moderators=pd.DataFrame({"a": data.x, "b": 2 * data.x}))
    with pytest.raises(InvalidParameterError, match="needs data="):
        meta_analysis(Y, V, moderators="~ x")


def test_all_errors_are_panelre_errors() -> None:
    with pytest.raises(PanelreError):
        meta_analysis(Y, -V)
    with pytest.raises(ValueError):  # and built-in ValueError
        meta_analysis(Y, -V)


def test_boundary_warning_when_truncated() -> None:
    y = np.array([0.10, 0.11, 0.09, 0.10])
    v = np.array([0.05, 0.04, 0.06, 0.05])
    with pytest.warns(BoundaryWarning, match=r"DL estimate of tau\^2 .* set to 0 \(untruncated"):
        m = meta_analysis(y, v, method="DL")
    assert m.tau2 == 0.0 and m.tau2_at_boundary and m.i2 == 0.0
    with pytest.warns(BoundaryWarning, match="REML"):
        assert meta_analysis(y, v, method="REML").tau2 == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert meta_analysis(y, v, method="FE").tau2 == 0.0  # no warning for FE


def test_non_convergence_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tau2_module, "MAX_ITER", 1)
    with pytest.raises(ConvergenceError, match="did not converge within 1 iterations"):
        meta_analysis(Y, V, method="REML")


def test_unbracketable_root_raises() -> None:
    with pytest.raises(ConvergenceError, match="Could not bracket"):
        tau2_module.solve_decreasing(lambda t: 1.0, 1.0)


def test_leave_one_out_needs_no_moderators() -> None:
    data = pd.DataFrame({"y": Y, "v": V, "x": np.arange(6.0)})
    m = meta_analysis("y", "v", moderators="~ x", data=data)
    with pytest.raises(InvalidParameterError, match="without moderators"):
        m.leave_one_out()


def test_leave_one_out_two_studies_gives_nan_rows() -> None:
    loo = meta_analysis([0.1, 0.9], [0.04, 0.05], method="DL").leave_one_out()
    assert loo.isna().all().all() and len(loo) == 2


# -- effect sizes --------------------------------------------------------------------------------
def test_effect_size_unknown_measure() -> None:
    with pytest.raises(InvalidParameterError, match=r"'measure'.*'SMD'.*Got 'HR'"):
        effect_size("HR", ai=[1], bi=[2], ci=[3], di=[4])


def test_effect_size_missing_arguments() -> None:
    with pytest.raises(InvalidParameterError, match="needs 'bi'"):
        effect_size("RR", ai=[1], ci=[3], di=[4])
    with pytest.raises(InvalidParameterError, match="missing: sd2i, n1i, n2i"):
        effect_size("SMD", m1i=[1], m2i=[2], sd1i=[1])


def test_effect_size_invalid_counts() -> None:
    with pytest.raises(DataError, match="negative count"):
        effect_size("OR", ai=[-1, 2], bi=[5, 5], ci=[2, 2], di=[5, 5])
    with pytest.raises(DataError, match=r"no participants .* row\(s\) \[1\]"):
        effect_size("RR", ai=[1, 0], bi=[5, 0], ci=[2, 0], di=[5, 0])
    with pytest.raises(DataError, match="n1i must equal ai \\+ bi"):
        effect_size("RR", ai=[1], bi=[5], ci=[2], di=[5], n1i=[7])
    with pytest.raises(DataError, match="same length"):
        effect_size("RR", ai=[1, 2], n1i=[5, 5], ci=[2], n2i=[5])


def test_effect_size_invalid_groups() -> None:
    args = dict(m1i=[1.0], m2i=[2.0], sd2i=[1.0], n2i=[10])
    with pytest.raises(DataError, match="Standard deviations"):
        effect_size("SMD", sd1i=[-1.0], n1i=[10], **args)
    with pytest.raises(DataError, match="Group sizes"):
        effect_size("MD", sd1i=[1.0], n1i=[0], **args)


def test_effect_size_bad_options() -> None:
    with pytest.raises(InvalidParameterError, match="'to'"):
        effect_size("RR", ai=[1], bi=[2], ci=[3], di=[4], to="zeros")
    with pytest.raises(InvalidParameterError, match="'add'"):
        effect_size("RR", ai=[1], bi=[2], ci=[3], di=[4], add=-1)


def test_double_zero_tables_kept_by_default_dropped_on_request() -> None:
    data = load("bcg").head(4).copy()
    data.loc[0, ["tpos", "cpos"]] = 0
    kept = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data)
    assert np.isfinite(kept.yi).all() and kept.yi[0] == pytest.approx(
        np.log(0.5 / 120) - np.log(0.5 / 129)
    )
    dropped = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data, drop00=True)
    assert dropped.yi.isna().sum() == 1
    with pytest.warns(MissingValueWarning, match="Dropped 1 of 4"):
        meta_analysis("yi", "vi", data=dropped, method="FE")
