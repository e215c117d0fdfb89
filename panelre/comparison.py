"""Regression tables of fitted models side by side (``pr.compare``).

A comparison is built once as a typed value, :class:`RegressionTable` (rows of formatted
cells in three sections: coefficients, indicators, statistics), and rendered from it as
text, Markdown, HTML, LaTeX (one booktabs tabular), Excel, Word or a Great Tables object.

Why the text, Markdown, HTML and LaTeX renderers are written here rather than taken from
Great Tables: a regression table must print in a terminal, a log file and the CLI (Great
Tables has no text or Markdown output), its LaTeX must be one plain booktabs tabular that
compiles with nothing but ``booktabs``, and the core install stays at numpy, SciPy,
pandas and formulaic. The renderers are ~100 lines of string joining over one value; the
styling that Great Tables does well (themes, fonts, images) is one call away through
:meth:`RegressionTable.to_great_tables`, Word through python-docx (:meth:`to_docx`) and
Excel through pandas (:meth:`to_excel`).
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from panelre.exceptions import InvalidParameterError
from panelre.tables import format_number, tex_escape

__all__ = ["compare", "RegressionTable", "TableRow", "STATISTICS"]

Section = Literal["coefficient", "detail", "indicator", "statistic"]

DEFAULT_STARS: tuple[tuple[str, float], ...] = (("***", 0.01), ("**", 0.05), ("*", 0.1))


@dataclass(frozen=True)
class TableRow:
    """One row of a regression table: a label and one formatted cell per model.

    ``section`` is ``"coefficient"`` (an estimate), ``"detail"`` (its standard error or
    interval, printed without a label), ``"indicator"`` (e.g. fixed effects: Yes/No) or
    ``"statistic"`` (N, R², tests).
    """

    label: str
    cells: tuple[str, ...]
    section: Section


@dataclass(frozen=True)
class RegressionTable:
    """An aligned regression table (esttab / modelsummary style).

    Attributes
    ----------
    title : str
    columns : tuple of str
        The model labels, one column each.
    rows : tuple of TableRow
    notes : tuple of str

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> fe = pr.fixed_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> table = pr.compare({"FE": fe}, stats=["nobs"], indicators=False)
    >>> print(table)  # doctest: +NORMALIZE_WHITESPACE
                           Model comparison
    ============================================================
                       FE
    ------------------------------------------------------------
    value          0.1101
                 (0.0119)
    capital        0.3101
                 (0.0174)
    ------------------------------------------------------------
    Observations      200
    ============================================================
    Standard errors in parentheses.
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[TableRow, ...]
    notes: tuple[str, ...] = ()

    # -- structure -----------------------------------------------------------------------
    def _blocks(self) -> list[list[TableRow]]:
        """The rows split into the coefficient block and the block below it."""
        top = [r for r in self.rows if r.section in ("coefficient", "detail")]
        bottom = [r for r in self.rows if r.section in ("indicator", "statistic")]
        return [b for b in (top, bottom) if b]

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame of strings (standard-error rows have an empty label)."""
        return pd.DataFrame(
            [list(r.cells) for r in self.rows],
            index=pd.Index([r.label for r in self.rows], name=""),
            columns=list(self.columns),
        )

    # -- text ----------------------------------------------------------------------------
    def __str__(self) -> str:
        label_w = max([len(r.label) for r in self.rows] + [1])
        widths = [
            max([len(c)] + [len(r.cells[j]) for r in self.rows]) for j, c in enumerate(self.columns)
        ]

        def line(label: str, cells: Sequence[str]) -> str:
            return (
                f"{label:<{label_w}}" + "".join(f"  {c:>{w}}" for c, w in zip(cells, widths))
            ).rstrip()

        body = [line("", self.columns)]
        width = max(
            [len(self.title), len(body[0]), 60] + [len(line(r.label, r.cells)) for r in self.rows]
        )
        out = [self.title.center(width).rstrip(), "=" * width, body[0]]
        for block in self._blocks():
            out.append("-" * width)
            out += [line(r.label, r.cells) for r in block]
        out.append("=" * width)
        out += list(self.notes)
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    # -- Markdown ------------------------------------------------------------------------
    def as_markdown(self) -> str:
        """A GitHub-flavoured Markdown table (the notes as a paragraph under it)."""

        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("*", "\\*")

        out = ["| | " + " | ".join(cell(c) for c in self.columns) + " |"]
        out.append("|:---|" + "---:|" * len(self.columns))
        for r in self.rows:
            label = f"**{cell(r.label)}**" if r.section == "indicator" else cell(r.label)
            out.append(f"| {label} | " + " | ".join(cell(c) for c in r.cells) + " |")
        for note in self.notes:
            out += ["", cell(note)]
        return "\n".join(out) + "\n"

    def to_markdown(self, path: str | Path | None = None) -> str:
        """Return :meth:`as_markdown`, also writing it to ``path`` when given."""
        text = self.as_markdown()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    # -- HTML ----------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        e = html.escape
        n = len(self.columns)
        out = [
            '<table class="panelre-regression-table">',
            f'<caption style="caption-side: top">{e(self.title)}</caption>',
            '<thead><tr style="border-top: 2px solid; border-bottom: 1px solid"><th></th>',
        ]
        out += [f'<th style="text-align: center">{e(c)}</th>' for c in self.columns]
        out.append("</tr></thead>")
        for i, block in enumerate(self._blocks()):
            style = ' style="border-top: 1px solid"' if i else ""
            out.append(f"<tbody{style}>")
            for r in block:
                out.append(f'<tr><th style="text-align: left">{e(r.label)}</th>')
                out += [f'<td style="text-align: center">{e(c)}</td>' for c in r.cells]
                out.append("</tr>")
            out.append("</tbody>")
        if self.notes:
            notes = "".join(f"<div>{e(note)}</div>" for note in self.notes)
            out.append(
                f'<tfoot style="border-top: 2px solid"><tr><td colspan="{n + 1}" '
                f'style="text-align: left"><small>{notes}</small></td></tr></tfoot>'
            )
        out.append("</table>")
        return "".join(out)

    as_html = _repr_html_

    # -- LaTeX ---------------------------------------------------------------------------
    def as_latex(self, caption: bool = True) -> str:
        """One booktabs ``tabular`` inside a ``table`` float (needs only
        ``\\usepackage{booktabs}``); every label and cell is escaped for LaTeX.

        Parameters
        ----------
        caption : bool, default True
            Wrap the tabular in a ``table`` float with the title as caption; False returns
            the bare tabular for ``\\input`` into a float of your own.
        """
        n = len(self.columns)
        out = ["\\begin{tabular}{l" + "c" * n + "}", "\\toprule"]
        out.append(" & " + " & ".join(tex_escape(c) for c in self.columns) + " \\\\")
        for block in self._blocks():
            out.append("\\midrule")
            for r in block:
                out.append(
                    tex_escape(r.label)
                    + " & "
                    + " & ".join(tex_escape(c) for c in r.cells)
                    + " \\\\"
                )
        out.append("\\bottomrule")
        for note in self.notes:
            out.append(f"\\multicolumn{{{n + 1}}}{{l}}{{\\footnotesize {tex_escape(note)}}} \\\\")
        out.append("\\end{tabular}")
        if not caption:
            return "\n".join(out)
        head = ["\\begin{table}[htbp]", "\\centering", f"\\caption{{{tex_escape(self.title)}}}"]
        return "\n".join(head + out + ["\\end{table}"])

    def to_latex(self, path: str | Path) -> None:
        """Write :meth:`as_latex` to ``path``."""
        Path(path).write_text(self.as_latex(), encoding="utf-8")

    # -- other formats through well-kept libraries ---------------------------------------
    def to_excel(self, path: str | Path) -> None:
        """Write the table (and its notes under it) to an Excel sheet; needs openpyxl."""
        frame = self.to_frame()
        notes = pd.DataFrame(
            [[note] + [""] * (frame.shape[1] - 1) for note in self.notes],
            index=[""] * len(self.notes),
            columns=frame.columns,
        )
        pd.concat([frame, notes]).to_excel(path, sheet_name="Table")

    def to_great_tables(self) -> Any:
        """The table as a ``great_tables.GT`` object (styled HTML, images, LaTeX).

        Needs the optional ``great-tables`` package (``pip install panelre[tables]``).
        """
        try:
            from great_tables import GT
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "to_great_tables() needs the optional package great-tables: "
                "pip install 'panelre[tables]'"
            ) from exc
        frame = self.to_frame().reset_index()
        frame.columns = ["term", *self.columns]
        groups = {"coefficient": "", "detail": "", "indicator": " ", "statistic": " "}
        frame.insert(0, "block", [groups[r.section] for r in self.rows])
        table = GT(frame, rowname_col="term", groupname_col="block").tab_header(title=self.title)
        for note in self.notes:
            table = table.tab_source_note(note)
        return table

    def to_docx(self, path: str | Path) -> None:
        """Write the table to a Word document; needs the optional package python-docx
        (``pip install panelre[tables]``)."""
        try:
            import docx
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "to_docx() needs the optional package python-docx: pip install 'panelre[tables]'"
            ) from exc
        document = docx.Document()
        document.add_paragraph(self.title)
        grid = document.add_table(rows=len(self.rows) + 1, cols=len(self.columns) + 1)
        for j, name in enumerate(self.columns, start=1):
            grid.cell(0, j).text = name
        for i, r in enumerate(self.rows, start=1):
            grid.cell(i, 0).text = r.label
            for j, text in enumerate(r.cells, start=1):
                grid.cell(i, j).text = text
        for note in self.notes:
            document.add_paragraph(note)
        document.save(str(path))


# ------------------------------------------------------------------------------ statistics
def _attr(name: str) -> Callable[[Any], Any]:
    return lambda res: getattr(res, name, None)


def _components(name: str) -> Callable[[Any], Any]:
    def get(res: Any) -> Any:
        vc = getattr(res, "variance_components", None)
        return None if vc is None else getattr(vc, name)

    return get


def _sigma_e(res: Any) -> Any:
    vc = getattr(res, "variance_components", None)
    if vc is not None:
        return vc.sigma_e
    if getattr(res, "estimator", "") == "fixed_effects":
        return float(np.sqrt(res.resid_variance))
    if hasattr(res, "sigma2") and hasattr(res, "reml"):  # a mixed model
        return float(np.sqrt(res.sigma2))
    return None


def _theta(res: Any) -> Any:
    vc = getattr(res, "variance_components", None)
    if vc is None:
        return None
    th = vc.theta
    return format_number(th) if np.isscalar(th) else f"{np.min(th):.3f}–{np.max(th):.3f}"


def _periods(res: Any) -> Any:
    source = getattr(res, "source", None)
    if source is None or not hasattr(source, "stats"):
        return None
    counts = source.stats.entity.counts.astype(int)
    return f"{counts.min()}/{counts.mean():.1f}/{counts.max()}"


def _groups(res: Any) -> Any:
    counts = getattr(res, "group_counts", None)  # a mixed model: lme4's ngrps
    if isinstance(counts, Mapping):
        return ", ".join(f"{name}: {n}" for name, n in counts.items())
    return getattr(res, "n_entities", None)


def _integer(value: Any) -> Any:
    return None if value is None else str(int(value))


STATISTICS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "nobs": ("Observations", lambda r: _integer(getattr(r, "nobs", None))),
    "n_entities": ("Entities / groups", _groups),
    "T": ("T min/avg/max", _periods),
    "rsquared": ("R²", _attr("rsquared")),
    "rsquared_within": ("R² within", _attr("rsquared_within")),
    "rsquared_between": ("R² between", _attr("rsquared_between")),
    "rsquared_overall": ("R² overall", _attr("rsquared_overall")),
    "sigma_u": ("sigma_u", _components("sigma_u")),
    "sigma_e": ("sigma_e", _sigma_e),
    "rho": ("rho", _components("rho")),
    "theta": ("theta", _theta),
    "loglike": ("Log likelihood", _attr("loglike")),
    "aic": ("AIC", _attr("aic")),
    "bic": ("BIC", _attr("bic")),
    "tau2": ("tau²", _attr("tau2")),
    "i2": ("I² (%)", _attr("i2")),
    "df_resid": ("Residual df", lambda r: _integer(getattr(r, "df_resid", None))),
}
DEFAULT_STATISTICS = (
    "nobs",
    "n_entities",
    "T",
    "rsquared_within",
    "rsquared_between",
    "rsquared_overall",
    "sigma_u",
    "sigma_e",
    "rho",
    "theta",
    "tau2",
    "i2",
)


# ------------------------------------------------------------------------------ indicators
def _fixed_effects(res: Any, dimension: str) -> str:
    absorbed = getattr(res, "absorbed_effects", None)
    if absorbed is None:  # not a panel result (mixed model, meta-analysis, GMM)
        return ""
    return "Yes" if dimension in absorbed else "No"


def _random_effects(res: Any) -> str:
    counts = getattr(res, "group_counts", None)
    if isinstance(counts, Mapping):
        return ", ".join(counts)
    if getattr(res, "variance_components", None) is not None:
        model = getattr(res, "model", None)
        return {"entity": "Entity", "time": "Time", "twoway": "Entity, time"}.get(
            getattr(model, "effects", "entity"), "Yes"
        )
    return ""


def _covariance(res: Any) -> str:
    label = getattr(res, "cov_type", None)
    return "" if label is None else str(label)


def _default_indicators(results: Mapping[str, Any]) -> dict[str, list[str]]:
    rows = {
        "Entity FE": [_fixed_effects(r, "entity") for r in results.values()],
        "Time FE": [_fixed_effects(r, "time") for r in results.values()],
        "Random effects": [_random_effects(r) for r in results.values()],
        "Covariance": [_covariance(r) for r in results.values()],
    }
    fe_shown = any(c == "Yes" for c in rows["Entity FE"] + rows["Time FE"])
    return {
        k: v for k, v in rows.items() if any(v) and (k not in ("Entity FE", "Time FE") or fe_shown)
    }


# ------------------------------------------------------------------------------ selection
def _match(patterns: Sequence[str], names: Sequence[str], option: str) -> list[str]:
    """The names each pattern selects: the name itself, else a regular-expression search."""
    chosen: list[str] = []
    for pattern in patterns:
        hits = [pattern] if pattern in names else [n for n in names if re.search(pattern, n)]
        if not hits:
            close = difflib.get_close_matches(pattern, list(names), n=3)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InvalidParameterError(
                f"{option}={pattern!r} matches no coefficient.{hint} The coefficients are: "
                f"{', '.join(names)} (a pattern is a name or a regular expression)."
            )
        chosen += [h for h in hits if h not in chosen]
    return chosen


def _star_levels(stars: bool | Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    if stars is True:
        return DEFAULT_STARS
    if stars is False:
        return ()
    if not isinstance(stars, Mapping) or not all(0 < float(p) < 1 for p in stars.values()):
        raise InvalidParameterError(
            f"stars must be True, False or a mapping of symbol -> p-value threshold in (0, 1), "
            f"e.g. {{'*': 0.1, '**': 0.05, '***': 0.01}}. Got {stars!r}."
        )
    return tuple(sorted(((s, float(p)) for s, p in stars.items()), key=lambda sp: sp[1]))


def _star(p: float, levels: tuple[tuple[str, float], ...]) -> str:
    for symbol, threshold in levels:
        if p < threshold:
            return symbol
    return ""


def _test_cell(test: Any, digits: int) -> str:
    if test is None:
        return ""
    text = f"{format_number(test.stat, digits)} [{format_number(test.pvalue, digits)}]"
    return text if getattr(test, "valid", True) else text + " (not valid)"


def compare(
    results: Mapping[str, Any] | Sequence[Any],
    *,
    keep: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    rename: Mapping[str, str] | None = None,
    order: Sequence[str] | None = None,
    stars: bool | Mapping[str, float] = False,
    interval: Literal["se", "ci"] = "se",
    level: float = 0.95,
    stats: Sequence[str] | None = None,
    indicators: bool | Mapping[str, Sequence[str] | Mapping[str, str]] = True,
    tests: Mapping[str, Any] | None = None,
    notes: Sequence[str] | str | None = None,
    digits: int = 4,
    title: str = "Model comparison",
) -> RegressionTable:
    """One aligned regression table for any mix of panel, mixed-model and meta-analysis
    results (esttab / modelsummary style).

    Parameters
    ----------
    results : mapping of label -> result, or a sequence (labelled Model 1, Model 2, ...)
    keep, drop : sequence of str, optional
        Coefficients to show / to leave out: each entry is a name or a regular expression
        (``"^year"``). ``keep`` also sets the order unless ``order`` is given.
    rename : mapping of str -> str, optional
        Display names of coefficients (applied after selection).
    order : sequence of str, optional
        Coefficients to put first, in this order (names or regular expressions); the
        rest follow in their first appearance.
    stars : bool or mapping of symbol -> threshold, default False
        Significance stars. ``True`` uses * p<0.1, ** p<0.05, *** p<0.01.
    interval : {"se", "ci"}, default "se"
        Under each estimate: its standard error in parentheses, or its confidence
        interval (at ``level``) in brackets.
    level : float, default 0.95
    stats : sequence of str, optional
        Statistics rows, from ``STATISTICS``: ``nobs``, ``n_entities``, ``T``, ``rsquared``,
        ``rsquared_within``, ``rsquared_between``, ``rsquared_overall``, ``sigma_u``,
        ``sigma_e``, ``rho``, ``theta``, ``loglike``, ``aic``, ``bic``, ``tau2``, ``i2``,
        ``df_resid``. The default shows those that apply; rows empty for every model are
        left out.
    indicators : bool or mapping, default True
        ``True`` adds rows for entity and time fixed effects (Yes/No), random effects and
        the covariance estimator; ``False`` none; a mapping of row label -> one value per
        model (a sequence, or a mapping of model label -> value) adds your own rows after
        the automatic ones.
    tests : mapping, optional
        ``label -> TestResult`` adds a note (e.g. a Hausman test of the models against
        each other); ``label -> {model label: TestResult}`` adds a row with
        ``statistic [p-value]`` in those models' columns.
    notes : str or sequence of str, optional
        Notes under the table, after the standard one.
    digits : int, default 4
    title : str, default "Model comparison"

    Returns
    -------
    RegressionTable
        ``str()``, ``as_markdown()``, ``_repr_html_()`` (Jupyter), ``as_latex()``,
        ``to_frame()``, ``to_excel(path)``, ``to_docx(path)``, ``to_great_tables()``.

    Raises
    ------
    InvalidParameterError
        No results; an unknown statistic, interval or star specification; a
        ``keep``/``drop``/``order`` pattern that matches no coefficient; an indicator row
        with the wrong number of values.

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> fe = pr.fixed_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> re = pr.random_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> table = pr.compare({"FE": fe, "RE": re}, stars=True, drop=["Intercept"])
    >>> table.to_frame().loc["value"].tolist()
    ['0.1101***', '0.1098***']
    >>> "\\\\toprule" in table.as_latex()
    True
    """
    if not isinstance(results, Mapping):
        results = {f"Model {i + 1}": r for i, r in enumerate(results)}
    if not results:
        raise InvalidParameterError("compare() needs at least one fitted result. Got none.")
    if interval not in ("se", "ci"):
        raise InvalidParameterError(
            f"interval must be 'se' (standard errors) or 'ci' (confidence intervals). "
            f"Got {interval!r}."
        )
    levels = _star_levels(stars)
    labels = [str(k) for k in results]
    models = list(results.values())

    names: list[str] = []
    for res in models:
        names += [n for n in res.params.index if n not in names]
    shown = _match(keep, names, "keep") if keep is not None else list(names)
    if drop is not None:
        dropped = set(_match(drop, names, "drop"))
        shown = [n for n in shown if n not in dropped]
    if order is not None:
        first = [n for n in _match(order, names, "order") if n in shown]
        shown = first + [n for n in shown if n not in first]
    rename = dict(rename or {})

    rows: list[TableRow] = []
    intervals = [res.conf_int(level) if interval == "ci" else None for res in models]
    for name in shown:
        estimate, detail = [], []
        for res, ci in zip(models, intervals):
            if name not in res.params.index:
                estimate.append("")
                detail.append("")
                continue
            star = _star(float(res.pvalues[name]), levels) if levels else ""
            estimate.append(format_number(float(res.params[name]), digits) + star)
            if ci is None:
                detail.append("(" + format_number(float(res.std_errors[name]), digits) + ")")
            else:
                lo, hi = ci.loc[name, "lower"], ci.loc[name, "upper"]
                detail.append(f"[{format_number(lo, digits)}, {format_number(hi, digits)}]")
        rows.append(TableRow(rename.get(name, name), tuple(estimate), "coefficient"))
        rows.append(TableRow("", tuple(detail), "detail"))

    indicator_rows = _default_indicators(results) if indicators is not False else {}
    if isinstance(indicators, Mapping):
        for label, values in indicators.items():
            if isinstance(values, Mapping):
                cells = [str(values.get(m, "")) for m in labels]
            else:
                cells = [str(v) for v in values]
                if len(cells) != len(labels):
                    raise InvalidParameterError(
                        f"indicators[{label!r}] has {len(cells)} values for {len(labels)} "
                        f"models ({', '.join(labels)}); give one per model or a mapping of "
                        "model label -> value."
                    )
            indicator_rows[str(label)] = cells
    rows += [TableRow(k, tuple(v), "indicator") for k, v in indicator_rows.items()]

    if stats is None:
        keys, explicit = list(DEFAULT_STATISTICS), False
    else:
        keys, explicit = list(stats), True
        unknown = [k for k in keys if k not in STATISTICS]
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(STATISTICS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InvalidParameterError(
                f"Unknown statistic {unknown[0]!r}.{hint} Allowed: {', '.join(STATISTICS)}."
            )
    for key in keys:
        label, get = STATISTICS[key]
        values = [get(res) for res in models]
        stat_cells = tuple("" if v is None else format_number(v, digits) for v in values)
        if any(stat_cells) or explicit:
            rows.append(TableRow(label, stat_cells, "statistic"))

    note_lines = [
        "Standard errors in parentheses."
        if interval == "se"
        else f"{100 * level:g}% confidence intervals in brackets."
    ]
    for label, test in (tests or {}).items():
        if isinstance(test, Mapping):
            unknown_models = [m for m in test if m not in labels]
            if unknown_models:
                raise InvalidParameterError(
                    f"tests[{label!r}] names model {unknown_models[0]!r}, which is not in "
                    f"the table. Models: {', '.join(labels)}."
                )
            test_cells = tuple(_test_cell(test.get(m), digits) for m in labels)
            rows.append(TableRow(f"{label} [p]", test_cells, "statistic"))
        else:
            note_lines.append(
                f"{label}: statistic {format_number(test.stat)} (df {test.df}), "
                f"p = {format_number(test.pvalue)}" + ("" if test.valid else " [not valid]")
            )
    if levels:
        note_lines.append(", ".join(f"{s} p<{p:g}" for s, p in levels[::-1]))
    if isinstance(notes, str):
        notes = [notes]
    note_lines += list(notes or [])
    return RegressionTable(title, tuple(labels), tuple(rows), tuple(note_lines))
