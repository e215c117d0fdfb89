"""``pr.compare``: one aligned regression table for panel, mixed and meta results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from panelre.exceptions import InvalidParameterError
from tests.latex import assert_compiles

F = "inv ~ value + capital"
KW = {"entity": "firm", "time": "year"}


@pytest.fixture(scope="module")
def grunfeld():
    return pr.datasets.load("grunfeld")


@pytest.fixture(scope="module")
def models(grunfeld):
    return {
        "Pooled": pr.pooled_ols(F, grunfeld, **KW, cov="cluster"),
        "FE": pr.fixed_effects(F, grunfeld, **KW),
        "Two-way": pr.fixed_effects(F, grunfeld, **KW, effects="twoway"),
        "RE": pr.random_effects(F, grunfeld, **KW),
    }


def test_cells_are_the_results_numbers(models):
    frame = pr.compare(models).to_frame()
    for label, res in models.items():
        for name in res.params.index:
            row = frame.index.get_loc(name)
            assert frame[label].iloc[row] == f"{res.params[name]:.4f}"
            assert frame[label].iloc[row + 1] == f"({res.std_errors[name]:.4f})"
    assert frame.loc["Observations"].tolist() == ["200"] * 4


def test_stars_only_on_request_and_custom_thresholds(models):
    plain = pr.compare(models)
    assert "*" not in str(plain)
    starred = pr.compare(models, stars={"+": 0.1, "*": 0.05})
    row = starred.to_frame().loc["Intercept"]
    # RE's intercept: p = 0.045 -> "*" at 0.05; pooled: p < 0.01
    assert models["RE"].pvalues["Intercept"] == pytest.approx(0.0454, abs=1e-4)
    assert row["RE"].endswith("*") and not row["RE"].endswith("+")
    assert "+ p<0.1, * p<0.05" in str(starred)
    with pytest.raises(InvalidParameterError, match="stars must be"):
        pr.compare(models, stars={"*": 5})


def test_keep_drop_order_rename(models):
    table = pr.compare(models, keep=["capital", "^val"], rename={"value": "Market value"})
    labels = [r.label for r in table.rows if r.section == "coefficient"]
    assert labels == ["capital", "Market value"]
    table = pr.compare(models, drop=["Intercept"], order=["capital"])
    assert [r.label for r in table.rows if r.section == "coefficient"] == ["capital", "value"]
    with pytest.raises(InvalidParameterError, match="Did you mean 'capital'"):
        pr.compare(models, keep=["capitol"])


def test_confidence_intervals_instead_of_standard_errors(models):
    table = pr.compare(models, interval="ci", level=0.9)
    frame = table.to_frame()
    ci = models["FE"].conf_int(0.9).loc["value"]
    row = frame.index.get_loc("value")
    assert frame["FE"].iloc[row + 1] == f"[{ci['lower']:.4f}, {ci['upper']:.4f}]"
    assert "90% confidence intervals in brackets." in table.notes
    with pytest.raises(InvalidParameterError, match="interval must be"):
        pr.compare(models, interval="sd")


def test_indicator_rows(models):
    frame = pr.compare(models, indicators={"Controls": ["No", "Yes", "Yes", "No"]}).to_frame()
    assert frame.loc["Entity FE"].tolist() == ["No", "Yes", "Yes", "No"]
    assert frame.loc["Time FE"].tolist() == ["No", "No", "Yes", "No"]
    assert frame.loc["Random effects"].tolist() == ["", "", "", "Entity"]
    assert frame.loc["Covariance"].tolist() == [
        "Clustered (entity)",
        "Unadjusted",
        "Unadjusted",
        "Unadjusted",
    ]
    assert frame.loc["Controls"].tolist() == ["No", "Yes", "Yes", "No"]
    assert "Entity FE" not in pr.compare(models, indicators=False).to_frame().index
    with pytest.raises(InvalidParameterError, match="has 2 values for 4 models"):
        pr.compare(models, indicators={"Controls": ["No", "Yes"]})


def test_statistics_rows_and_tests(models):
    h = pr.hausman(models["FE"], models["RE"])
    table = pr.compare(
        models, stats=["nobs", "rsquared_within", "rho"], tests={"Hausman": {"RE": h}}
    )
    frame = table.to_frame()
    stats_rows = [r.label for r in table.rows if r.section == "statistic"]
    assert stats_rows == ["Observations", "R² within", "rho", "Hausman [p]"]
    assert frame.loc["R² within", "FE"] == f"{models['FE'].rsquared_within:.4f}"
    assert frame.loc["rho", "RE"] == f"{models['RE'].variance_components.rho:.4f}"
    assert frame.loc["Hausman [p]", "RE"] == f"{h.stat:.4f} [{h.pvalue:.4f}]"
    with pytest.raises(InvalidParameterError, match="Did you mean 'rsquared'"):
        pr.compare(models, stats=["rsquare"])
    with pytest.raises(InvalidParameterError, match="not in the table"):
        pr.compare(models, tests={"Hausman": {"XX": h}})


def test_mixed_and_meta_results_in_one_table(grunfeld):
    sleep = pr.datasets.load("sleepstudy")
    mixed = pr.mixed("Reaction ~ Days + (Days | Subject)", sleep)
    bcg = pr.datasets.load("bcg")
    es = pr.effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
    meta = pr.meta_analysis(es["yi"], es["vi"])
    fe = pr.fixed_effects(F, grunfeld, **KW)
    table = pr.compare({"FE": fe, "LMM": mixed, "Meta": meta}, stats=["nobs", "n_entities", "tau2"])
    frame = table.to_frame()
    assert frame.loc["Days", "LMM"] == f"{mixed.params['Days']:.4f}"
    assert frame.loc["Observations"].tolist() == ["200", "180", "13"]
    assert frame.loc["Entities / groups", "LMM"] == "Subject: 18"
    assert frame.loc["Random effects", "LMM"] == "Subject"
    assert frame.loc["tau²", "Meta"] == f"{meta.tau2:.4f}"
    assert frame.shape[1] == 3 and len(set(map(len, (r.cells for r in table.rows)))) == 1


def test_one_latex_tabular_escaped_and_compiling(models, tmp_path):
    table = pr.compare(
        models, stars=True, rename={"value": "value_of_firm & co"}, notes="Source: 50% of R^2"
    )
    tex = table.as_latex()
    assert tex.count("\\begin{tabular}") == 1 and tex.count("\\midrule") == 2
    assert "value\\_of\\_firm \\& co" in tex and "50\\% of R\\textasciicircum{}2" in tex
    rows = [ln for ln in tex.splitlines() if ln.endswith("\\\\") and "multicolumn" not in ln]
    assert {ln.count(" & ") for ln in rows} == {4}
    assert not table.as_latex(caption=False).startswith("\\begin{table}")
    assert_compiles(tex, tmp_path)


def test_html_is_one_table_and_markdown_escapes(models):
    table = pr.compare(models, stars=True)
    html = table._repr_html_()
    assert html.count("<table") == 1 and html.count("<tbody") == 2
    assert "0.1101***" in html
    md = table.as_markdown()
    body = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert {ln.replace("\\|", "").count("|") for ln in body} == {6}
    assert "\\*\\*\\*" in md


def test_excel_and_word_and_great_tables(models, tmp_path):
    table = pr.compare(models)
    table.to_excel(tmp_path / "t.xlsx")
    back = pd.read_excel(tmp_path / "t.xlsx", index_col=0, dtype=str).fillna("")
    assert back.loc["capital", "FE"] == table.to_frame().loc["capital", "FE"]
    docx = pytest.importorskip("docx")
    table.to_docx(tmp_path / "t.docx")
    cells = [c.text for row in docx.Document(tmp_path / "t.docx").tables[0].rows for c in row.cells]
    assert "0.3101" in cells and "Entity FE" in cells
    pytest.importorskip("great_tables")
    assert "0.3101" in table.to_great_tables().as_raw_html()


def test_text_has_one_header_and_rules(models):
    text = str(pr.compare(models))
    lines = text.splitlines()
    assert lines[2].split() == list(models)
    assert sum(set(ln) == {"="} for ln in lines) == 2
    assert all(ln == ln.rstrip() for ln in lines)
    assert np.isfinite(float(pr.compare(models).to_frame().loc["rho", "RE"]))
