"""The panelre command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from panelre.cli import main
from panelre.datasets import load


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_select_prints_the_report_and_table(capsys):
    code, out, _ = run(
        capsys, "select", "grunfeld", "inv ~ value + capital", "--entity", "firm", "--time", "year"
    )
    assert code == 0
    assert "Recommended model: fixed effects" in out and "Model comparison" in out


@pytest.mark.parametrize(
    "fmt,marker",
    [
        ("markdown", "| value |"),
        ("latex", "\\begin{tabular}"),
        ("html", "<table"),
        ("json", '"recommended"'),
    ],
)
def test_select_formats(capsys, fmt, marker):
    code, out, _ = run(
        capsys,
        "select",
        "grunfeld",
        "inv ~ value + capital",
        "--entity",
        "firm",
        "--time",
        "year",
        "--format",
        fmt,
    )
    assert code == 0 and marker in out
    if fmt == "json":
        assert json.loads(out)["recommended"] == "fixed_effects"


def test_fit_from_files(tmp_path, capsys, grunfeld):
    csv, dta = tmp_path / "g.csv", tmp_path / "g.dta"
    grunfeld.to_csv(csv, index=False)
    grunfeld.to_stata(dta, write_index=False)
    for path in (csv, dta):
        code, out, _ = run(
            capsys,
            "fit",
            str(path),
            "inv ~ value + capital",
            "--entity",
            "firm",
            "--time",
            "year",
            "--model",
            "random_effects",
            "--cov",
            "cluster",
        )
        assert code == 0 and "Random effects" in out and "Clustered (entity)" in out


def test_fit_writes_output(tmp_path, capsys):
    target = tmp_path / "table.tex"
    code, _, err = run(
        capsys,
        "fit",
        "grunfeld",
        "inv ~ value + capital",
        "--entity",
        "firm",
        "--time",
        "year",
        "--format",
        "latex",
        "--output",
        str(target),
    )
    assert code == 0 and "written to" in err
    assert "\\toprule" in target.read_text()


def test_errors_are_one_line_without_traceback(capsys):
    code, out, err = run(capsys, "fit", "missing.csv", "y ~ x", "--entity", "id")
    assert code == 1 and err.startswith("panelre: error: No such file") and "Traceback" not in err
    code, _, err = run(capsys, "fit", "grunfeld", "inv ~ nothing", "--entity", "firm")
    assert code == 1 and "nothing" in err and len(err.strip().splitlines()) == 1


def test_datasets(capsys):
    code, out, _ = run(capsys, "datasets")
    assert code == 0 and "grunfeld" in out and "sleepstudy" in out
    code, out, _ = run(capsys, "datasets", "bcg")
    assert code == 0 and "13 rows" in out


def test_meta_command(capsys):
    code, out, _ = run(
        capsys,
        "meta",
        "bcg",
        "--measure",
        "RR",
        "--ai",
        "tpos",
        "--bi",
        "tneg",
        "--ci",
        "cpos",
        "--di",
        "cneg",
    )
    assert code == 0 and "-0.7145" in out


def test_select_and_mixed_plots(tmp_path, capsys):
    for argv, name in (
        (
            ["select", "grunfeld", "inv ~ value + capital", "--entity", "firm", "--time", "year"],
            "s",
        ),
        (["mixed", "sleepstudy", "Reaction ~ Days + (Days | Subject)"], "m"),
        (["mixed", "penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"], "crossed"),
    ):
        target = tmp_path / f"{name}.png"
        assert main([*argv, "--plot", str(target)]) == 0
        assert target.read_bytes()[:4] == b"\x89PNG"


def test_weights_reach_the_estimators(capsys):
    """--weights / --weight-type give the numbers of the Python call."""
    path = "tests/reference/weights/grunfeld_weights.csv"
    code, out, _ = run(
        capsys, "fit", path, "inv ~ value + capital", "--entity", "firm", "--time", "year",
        "--weights", "fw", "--weight-type", "frequency", "--format", "json",
    )  # fmt: skip
    assert code == 0
    got = json.loads(out)
    data = pd.read_csv(path)
    want = pr.fixed_effects("inv ~ value + capital", data, entity="firm", time="year",
                            weights="fw", weight_type="frequency")  # fmt: skip
    params = [got["coefficients"][n]["params"] for n in want.params.index]
    np.testing.assert_allclose(params, want.params, rtol=1e-9)  # JSON keeps 10 digits
    code, out, _ = run(
        capsys, "fit", path, "inv ~ value + capital", "--entity", "firm", "--time", "year",
        "--weights", "fw", "--weight-type", "frequency",
    )  # fmt: skip
    assert code == 0 and str(int(data["fw"].sum())) in out
    code, out, _ = run(capsys, "fit", path, "inv ~ value", "--entity", "firm", "--weights", "wx")
    assert code != 0 and "did you mean" in out + _
    code, out, _ = run(
        capsys, "mixed", "tests/reference/weights/sleepstudy_weights.csv",
        "Reaction ~ Days + (1 | Subject)", "--weights", "w",
    )  # fmt: skip
    assert code == 0 and "Reaction" in out


def test_option_strings_are_case_insensitive(capsys):
    fit = ["fit", "grunfeld", "inv ~ value + capital", "--entity", "firm"]
    code, out, _ = run(capsys, *fit, "--model", "Random_Effects", "--format", "JSON",
                       "--cov", "Cluster")  # fmt: skip
    assert code == 0 and json.loads(out)["coefficients"]
    meta = ["meta", "bcg", "--measure", "rr", "--ai", "tpos", "--bi", "tneg", "--ci", "cpos"]
    code, out, _ = run(capsys, *meta, "--di", "cneg", "--test", "HKSJ",
                       "--method", "reml")  # fmt: skip
    assert code == 0 and "Hartung-Knapp" in out


def test_meta_weights_column_errors_name_the_closest(capsys):
    code, out, err = run(capsys, "meta", "bcg", "--measure", "RR", "--ai", "tpos", "--bi", "tneg",
                         "--ci", "cpos", "--di", "cneg", "--weights", "tpoz")  # fmt: skip
    assert code != 0 and "did you mean 'tpos'" in out + err


def test_mixed_with_crossed_and_nested_factors(capsys):
    code = main(["mixed", "pastes", "strength ~ 1 + (1 | batch/cask)", "--ml"])
    out = capsys.readouterr().out
    assert code == 0
    assert "cask:batch: Intercept" in out and "No. groups (batch)" in out
    assert "247.994" in out  # lme4: deviance(lmer(strength ~ 1 + (1 | batch/cask), REML = FALSE))


def test_warnings_are_printed_on_stderr(capsys):
    """Rows dropped for missing values are reported, one line per warning."""
    code = main(["fit", "dietox", "Weight ~ Feed", "--entity", "Pig", "--time", "Time"])
    err = capsys.readouterr().err
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("panelre: warning:")]
    assert len(lines) == 1 and "72 of 861 row(s) with missing values" in lines[0]


def test_two_way_clustering_from_the_command_line(capsys):
    g = load("grunfeld")
    argv = ["fit", "grunfeld", "inv ~ value + capital", "--entity", "firm", "--time", "year"]
    code = main([*argv, "--cov", "cluster", "--cluster", "firm,year", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    res = pr.fixed_effects(
        "inv ~ value + capital", g, entity="firm", time="year", cov="cluster",
        cluster=["firm", "year"],
    )  # fmt: skip
    got = out["coefficients"]["value"]["std_errors"]
    np.testing.assert_allclose(got, res.std_errors["value"], atol=1e-10)  # JSON: 10 decimals
    one_way = pr.fixed_effects(
        "inv ~ value + capital", g, entity="firm", time="year", cov="cluster"
    )
    assert abs(got - one_way.std_errors["value"]) > 1e-4


def test_mixed_groups_and_re_formula(capsys):
    code = main(["mixed", "dietox", "Weight ~ Time", "--groups", "Pig", "--re-formula", "~Time"])
    out = capsys.readouterr().out
    python = pr.mixed("Weight ~ Time", load("dietox"), groups="Pig", re_formula="~Time")
    assert code == 0 and "Pig: Time" in out
    assert f"{python.reml_criterion:.4f}" in out


def test_meta_labels_and_back_transform(tmp_path, capsys):
    argv = ["meta", "bcg", "--measure", "RR", "--ai", "tpos", "--bi", "tneg", "--ci", "cpos"]
    target = tmp_path / "forest.png"
    code = main([*argv, "--di", "cneg", "--labels", "author", "--transform", "exp",
                 "--plot", str(target)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and target.read_bytes()[:4] == b"\x89PNG"
    # metafor: predict(rma(yi, vi, data = dat.bcg), transf = exp): 0.4894 [0.3441, 0.6962]
    assert "Back-transformed (exp)" in out and "0.4894 [0.3441, 0.6962]" in out
    with pytest.raises(SystemExit):
        main([*argv, "--di", "cneg", "--transform", "log"])
    assert main([*argv, "--di", "cneg", "--labels", "autor"]) == 1
    assert "did you mean 'author'" in capsys.readouterr().err


def test_select_table_uses_one_covariance(capsys):
    argv = ["select", "grunfeld", "inv ~ value + capital", "--entity", "firm", "--time", "year"]
    assert main([*argv, "--cov", "cluster", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| **Covariance**"))
    assert row.count("Clustered (entity)") == 3


def test_warnings_before_an_error_are_printed_too(capsys):
    argv = ["fit", "dietox", "Weight ~ Feed", "--entity", "Pig", "--time", "Time"]
    assert main([*argv, "--effects", "sideways"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("panelre: warning: 72 of 861 row(s) with missing values")
    assert err[-1].startswith("panelre: error: The 'effects' parameter must be one of")
