"""Every bad-input path of panelre.mixed, with the error or warning it produces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from panelre.exceptions import (
    BoundaryWarning,
    DataError,
    FormulaError,
    InsufficientDataError,
    InvalidParameterError,
    MissingValueWarning,
    PanelreError,
)
from panelre.mixed import mixed


def test_one_group(sleepstudy):
    one = sleepstudy[sleepstudy["Subject"] == 308]
    with pytest.raises(InsufficientDataError, match=r"at least 2 levels.*Got 1 level"):
        mixed("Reaction ~ Days + (1 | Subject)", one)


def test_groups_of_size_one_only(sleepstudy):
    first = sleepstudy.iloc[np.arange(18) * 10 + np.arange(18) % 10]  # one row per subject
    with pytest.raises(InsufficientDataError, match=r"18 observations but 18 levels"):
        mixed("Reaction ~ Days + (1 | Subject)", first)


def test_too_few_observations_for_random_slopes(sleepstudy):
    two = sleepstudy.groupby("Subject").head(2)
    match = r"36 observations but 18 levels of 'Subject' x 2"
    with pytest.raises(InsufficientDataError, match=match):
        mixed("Reaction ~ Days + (Days | Subject)", two)


def test_random_slope_constant_within_every_group(dietox):
    with pytest.raises(DataError, match=r"random slope\(s\) on \['Start'\] do not vary within"):
        mixed("Weight ~ Time + (Start | Pig)", dietox)


def test_linearly_dependent_random_columns(sleepstudy):
    df = sleepstudy.assign(Days2=2 * sleepstudy["Days"] + 1)
    with pytest.raises(DataError, match="linearly dependent within every group"):
        mixed("Reaction ~ Days + (Days + Days2 | Subject)", df)


def test_nan_rows_dropped_with_count(sleepstudy):
    df = sleepstudy.copy()
    df.loc[[3, 50, 51], "Reaction"] = np.nan
    df.loc[100, "Days"] = np.nan
    before = df.copy()
    with pytest.warns(MissingValueWarning, match=r"Dropped 4 of 180 rows"):
        res = mixed("Reaction ~ Days + (Days | Subject)", df)
    assert res.nobs == 176
    pd.testing.assert_frame_equal(df, before)  # the user's frame is untouched
    complete = mixed("Reaction ~ Days + (Days | Subject)", df.dropna())
    np.testing.assert_allclose(res.params, complete.params, rtol=1e-10)


def test_nan_in_grouping_column(sleepstudy):
    df = sleepstudy.astype({"Subject": float})
    df.loc[0, "Subject"] = np.nan
    with pytest.warns(MissingValueWarning, match=r"Dropped 1 of 180"):
        res = mixed("Reaction ~ Days + (1 | Subject)", df)
    assert res.nobs == 179


def test_unused_nan_columns_do_not_drop_rows(dietox):
    assert dietox["Feed"].isna().sum() > 0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingValueWarning)
        res = mixed("Weight ~ Time + (1 | Pig)", dietox)
    assert res.nobs == len(dietox)


def test_all_rows_missing(sleepstudy):
    df = sleepstudy.assign(Reaction=np.nan)
    with pytest.raises(DataError, match="Every row has a missing value"):
        mixed("Reaction ~ Days + (1 | Subject)", df)


@pytest.mark.parametrize(
    ("formula", "match"),
    [
        ("Reaction ~ Days", "no random term"),
        ("Reaction ~ Days + (1 | Subject/2)", "must be a column name, an interaction"),
        ("Reaction ~ Days + (1 | Subject:Subject)", "grouping column appears twice"),
        ("Reaction ~ Days + (1 | Nope)", "grouping column 'Nope' .*is not in data"),
        ("Reaction ~ Days + (1 | Subjcet)", "did you mean 'Subject'"),
        ("Reaction ~ Days + (1 | Subject:Nope)", "'Nope' .*of the grouping factor 'Subject:Nope'"),
        ("Reaction ~ Days + (1 | Subject", "Unbalanced parentheses"),
        ("Reaction Days + (1 | Subject)", "exactly one '~'"),
        ("Reaction ~ Nope + (1 | Subject)", "Cannot build the fixed part"),
        ("Reaction ~ Days + ( | Subject)", "nothing before the bar"),
        ("Reaction ~ Days + (1 | Subject) + (1 | Subject)", "more than one random term"),
    ],
)
def test_bad_formulas(sleepstudy, formula, match):
    with pytest.raises(FormulaError, match=match):
        mixed(formula, sleepstudy)


def test_groups_and_random_terms_together(sleepstudy):
    with pytest.raises(FormulaError, match="not both"):
        mixed("Reaction ~ Days + (1 | Subject)", sleepstudy, groups="Subject")


def test_re_formula_without_groups(sleepstudy):
    with pytest.raises(FormulaError, match="needs 'groups'"):
        mixed("Reaction ~ Days", sleepstudy, re_formula="~Days")


def test_reml_must_be_boolean(sleepstudy):
    with pytest.raises(InvalidParameterError, match="'reml' parameter must be True or False"):
        mixed("Reaction ~ Days + (1 | Subject)", sleepstudy, reml="yes")


def test_data_must_be_a_frame():
    with pytest.raises(DataError, match="must be a pandas or polars DataFrame"):
        mixed("y ~ x + (1 | g)", {"y": [1, 2]})


def test_groups_array_of_wrong_length(sleepstudy):
    with pytest.raises(DataError, match="one value per row"):
        mixed("Reaction ~ Days", sleepstudy, groups=np.arange(5))


def test_errors_share_the_root(sleepstudy):
    with pytest.raises(PanelreError):
        mixed("Reaction ~ Days", sleepstudy)
    with pytest.raises(ValueError):
        mixed("Reaction ~ Days", sleepstudy)


def test_boundary_warning_explains_zero_slope_variance():
    from mixed_cases import dataset

    df = dataset("simulated_singular")
    zero_slope = r"variance of the random x slope of 'g' was estimated as 0"
    with pytest.warns(BoundaryWarning, match=zero_slope):
        res = mixed("y2 ~ x + (x || g)", df)
    assert res.singular
    zero_intercept = r"variance of the random intercept of 'g' was estimated"
    with pytest.warns(BoundaryWarning, match=zero_intercept):
        res = mixed("y ~ x + (1 | g)", df)
    assert res.singular and np.all(res.random_effects.to_numpy() == 0)
    with pytest.warns(BoundaryWarning, match=r"perfectly correlated \(correlation ±1\)"):
        mixed("y2 ~ x + (x | g)", df)


def test_collinear_fixed_effects_are_dropped(sleepstudy):
    from panelre.exceptions import DroppedVariableWarning

    df = sleepstudy.assign(Days2=2 * sleepstudy["Days"])
    match = r"dropped the collinear column\(s\) \['Days2'\]"
    with pytest.warns(DroppedVariableWarning, match=match):
        res = mixed("Reaction ~ Days + Days2 + (1 | Subject)", df)
    assert list(res.params.index) == ["Intercept", "Days"]
    assert res.dropped_columns == ("Days2",)
