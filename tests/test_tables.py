"""Summaries and comparison tables render correctly in every format."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

import panelre as pr
from tests.latex import assert_compiles

F = "inv ~ value + capital"


@pytest.fixture(scope="module")
def table():
    g = pr.datasets.load("grunfeld")
    kw = {"entity": "firm", "time": "year"}
    fe, re = pr.fixed_effects(F, g, **kw), pr.random_effects(F, g, **kw)
    return pr.compare({"FE": fe, "RE": re}, stars=True, tests={"Hausman": pr.hausman(fe, re)})


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells: list[str] = []
        self.open_tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.open_tags.append(tag)

    def handle_endtag(self, tag):
        assert self.open_tags.pop() == tag, f"mismatched </{tag}>"

    def handle_data(self, data):
        if data.strip():
            self.cells.append(data.strip())


def test_html_parses_and_contains_the_numbers(table):
    parser = _Collector()
    parser.feed(table._repr_html_())
    assert parser.open_tags == []
    assert (
        "0.1101***" in parser.cells and "(0.0119)" in parser.cells and "-57.8344**" in parser.cells
    )
    assert any(c.startswith("Hausman: statistic 2.3304") for c in parser.cells)


def test_latex_is_structurally_sound(table, tmp_path):
    tex = table.as_latex()
    for env in ("table", "tabular"):
        assert tex.count(f"\\begin{{{env}}}") == tex.count(f"\\end{{{env}}}") >= 1
    assert "\\toprule" in tex and "\\bottomrule" in tex and "R\\textsuperscript{2} within" in tex
    body_rows = [ln for ln in tex.splitlines() if ln.endswith("\\\\")]
    assert len({ln.count(" & ") for ln in body_rows if "multicolumn" not in ln}) == 1
    table.to_latex(tmp_path / "t.tex")
    assert (tmp_path / "t.tex").read_text() == tex
    assert_compiles(tex, tmp_path)


def test_markdown_and_text(table, tmp_path):
    md = table.to_markdown(tmp_path / "t.md")
    assert "| value | 0.1101\\*\\*\\* | 0.1098\\*\\*\\* |" in md and (tmp_path / "t.md").exists()
    text = str(table)
    assert "Model comparison" in text and "Standard errors in parentheses." in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_comparison_footer_has_the_panel_dimensions():
    g = pr.datasets.load("grunfeld").iloc[:-3]  # firm 10 observed 17 times
    fe = pr.fixed_effects(F, g, entity="firm", time="year")
    assert pr.compare({"FE": fe}).to_frame().loc["T min/avg/max", "FE"] == "17/19.7/20"
