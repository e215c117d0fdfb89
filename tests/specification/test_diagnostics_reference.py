"""Serial-correlation, cross-sectional-dependence and unit-root tests against R plm 2.6.2.

The numbers and the R call beside each are in tests/reference/diagnostics/diagnostics_plm.json
(made by make_diagnostics_reference.R in that folder) on Grunfeld (balanced and unbalanced),
Produc, EmplUK (unbalanced) and the wage panel.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from tests.conftest import dataset

HERE = Path(__file__).parents[1] / "reference" / "diagnostics"
FORMULAS = {  # the R formulas of the reference script, in panelre's syntax
    "grunfeld": "inv ~ value + capital",
    "grunfeld_unbal": "inv ~ value + capital",
    "produc": "np.log(gsp) ~ np.log(pcap) + np.log(pc) + np.log(emp) + unemp",
    "empluk": "np.log(emp) ~ np.log(wage) + np.log(capital) + np.log(output)",
    "wagepan": "lwage ~ exper + expersq + union + married",
}
#: measured agreement with plm: statistics to 2.7e-11, p-values to 9.1e-9 (relative)
STAT_RTOL, PVALUE_RTOL = 1e-10, 2e-8


@cache
def cases() -> dict:
    with open(HERE / "diagnostics_plm.json") as f:
        return json.load(f)["cases"]


def data_for(name: str) -> pd.DataFrame:
    if name in ("produc", "empluk"):
        return pd.read_csv(HERE / f"{name}.csv")
    return dataset(name)


def run_unit_root(case: dict) -> pr.TestResult:
    data = data_for(case["dataset"])
    column = case["column"]
    if case["log"]:
        data = data.assign(**{column: np.log(data[column])})
    lags = case["lags"] if isinstance(case["lags"], int) else case["lags"].lower()
    trend = {"none": "n", "intercept": "c", "trend": "ct"}[case["exo"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        return pr.unit_root(data, column, entity=case["entity"], time=case["time"],
                            test=case["test"], lags=lags, trend=trend, pmax=case["pmax"],
                            df_correction=case["dfcor"])  # fmt: skip


def run(case_id: str) -> pr.TestResult:
    case = cases()[case_id]
    if "_ur_" in case_id:
        return run_unit_root(case)
    kind = case_id[len(case["dataset"]) + 1 :]
    data, formula = data_for(case["dataset"]), FORMULAS[case["dataset"]]
    kw = {"entity": case["entity"], "time": case["time"]}
    models = {
        "within": pr.fixed_effects,
        "fd": pr.first_difference,
        "random": pr.random_effects,
        "pooling": pr.pooled_ols,
    }
    plan = {
        "wooldridge": ("within", pr.serial_correlation, {}),
        "wooldridge_fd": ("fd", pr.serial_correlation, {"test": "wooldridge-fd"}),
        "wooldridge_fd_fe": ("fd", pr.serial_correlation, {"test": "wooldridge-fd", "h0": "fe"}),
        "bg_within_1": ("within", pr.serial_correlation, {"test": "breusch-godfrey"}),
        "bg_within_2_F": (
            "within", pr.serial_correlation,
            {"test": "breusch-godfrey", "order": 2, "statistic": "F"},
        ),
        "bg_random_1": ("random", pr.serial_correlation, {"test": "breusch-godfrey"}),
        "bg_pooling_1": ("pooling", pr.serial_correlation, {"test": "breusch-godfrey"}),
        "dw_within": ("within", pr.serial_correlation, {"test": "durbin-watson"}),
        "dw_pooling": ("pooling", pr.serial_correlation, {"test": "durbin-watson"}),
        "cd_pooling_cd": ("pooling", pr.cross_sectional_dependence, {}),
        "cd_pooling_lm": ("pooling", pr.cross_sectional_dependence, {"test": "lm"}),
    }  # fmt: skip
    for plm_name, ours in (("cd", "pesaran-cd"), ("lm", "lm"), ("sclm", "scaled-lm"),
                           ("bcsclm", "bias-corrected")):  # fmt: skip
        plan[f"cd_within_{plm_name}"] = ("within", pr.cross_sectional_dependence, {"test": ours})
    model, test, options = plan[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        return test(models[model](formula, data, **kw), **options)


@pytest.mark.reference
@pytest.mark.parametrize("case_id", sorted(cases()))
def test_reproduces_plm(case_id: str) -> None:
    case = cases()[case_id]
    result = run(case_id)
    np.testing.assert_allclose(result.stat, case["statistic"], rtol=STAT_RTOL, err_msg=case["call"])
    np.testing.assert_allclose(
        result.pvalue, case["p_value"], rtol=PVALUE_RTOL, atol=1e-300, err_msg=case["call"]
    )
    parameter = case["parameter"]
    if parameter is None:
        assert result.df is None
    elif isinstance(parameter, list) and len(parameter) == 2:
        assert result.df == tuple(int(p) for p in parameter)
    else:
        assert result.df == int(parameter if not isinstance(parameter, list) else parameter[0])
