"""Rendering of summaries and comparison tables as text, HTML, LaTeX and Markdown.

One small value type, ``Summary``, is shared by every results object
(panel estimators, mixed models, meta-analysis): a title, a block of
``(label, value)`` header pairs, one or more tables (pandas DataFrames of
already-formatted strings or numbers) and free-text notes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Summary", "format_number", "coefficient_table", "tex_escape"]


def format_number(value: object, digits: int = 4) -> str:
    """Format a number compactly for tables (``'—'`` for missing values).

    Examples
    --------
    >>> format_number(0.000012345)
    '1.234e-05'
    >>> format_number(12.3456789)
    '12.3457'
    >>> format_number(200)
    '200'
    """
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, str):
        return value
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(v):
        return "—" if np.isnan(v) else str(v)
    if v != 0 and (abs(v) < 10 ** (-digits) or abs(v) >= 10 ** (digits + 4)):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}f}"


def coefficient_table(
    params: pd.Series,
    std_errors: pd.Series,
    stats: pd.Series,
    pvalues: pd.Series,
    conf_int: pd.DataFrame,
    stat_name: str = "t",
) -> pd.DataFrame:
    """The standard coefficient table: estimate, std. error, statistic, p-value, CI."""
    return pd.DataFrame(
        {
            "Estimate": params,
            "Std. Err.": std_errors,
            stat_name: stats,
            f"P>|{stat_name}|": pvalues,
            "Lower CI": conf_int.iloc[:, 0],
            "Upper CI": conf_int.iloc[:, 1],
        }
    )


@dataclass(frozen=True)
class Summary:
    """A renderable summary: ``str()`` for text, ``_repr_html_`` for notebooks,
    ``as_latex`` and ``as_markdown`` for papers.

    Examples
    --------
    >>> import pandas as pd
    >>> s = Summary("Demo", [("N", "10")], [pd.DataFrame({"Estimate": [1.5]}, index=["x"])])
    >>> "Demo" in str(s) and "1.5000" in str(s)
    True
    """

    title: str
    header: Sequence[tuple[str, str]] = ()
    tables: Sequence[pd.DataFrame] = ()
    notes: Sequence[str] = field(default_factory=tuple)
    digits: int = 4

    # -- helpers -------------------------------------------------------------
    def _cells(self, table: pd.DataFrame) -> tuple[list[str], list[str], list[list[str]]]:
        cols = [str(c) for c in table.columns]
        rows = [str(i) for i in table.index]
        body = [
            [format_number(v, self.digits) for v in row] for row in table.itertuples(index=False)
        ]
        return cols, rows, body

    # -- text ----------------------------------------------------------------
    def __str__(self) -> str:
        blocks: list[str] = []
        tables_txt = []
        for table in self.tables:
            cols, rows, body = self._cells(table)
            name_w = max([len(r) for r in rows] + [len(str(table.index.name or ""))] + [1])
            widths = [max([len(c)] + [len(b[j]) for b in body]) for j, c in enumerate(cols)]
            head = " " * name_w + "".join(f"  {c:>{w}}" for c, w in zip(cols, widths))
            lines = [head]
            for r, b in zip(rows, body):
                lines.append(f"{r:<{name_w}}" + "".join(f"  {v:>{w}}" for v, w in zip(b, widths)))
            tables_txt.append(lines)
        width = max([len(self.title)] + [len(ln) for t in tables_txt for ln in t] + [60])
        if self.header:
            kw = max(len(k) for k, _ in self.header) + 1
            vw = max(len(v) for _, v in self.header)
            width = max(width, min(2 * (kw + vw + 1) + 4, 100))
        blocks.append(self.title.center(width))
        blocks.append("=" * width)
        if self.header:
            pairs = [(f"{k}:", v) for k, v in self.header]
            kw = max(len(k) for k, _ in pairs)
            vw = max(len(v) for _, v in pairs)
            cells = [f"{k:<{kw}} {v:>{vw}}" for k, v in pairs]
            per_line = 2 if 2 * (kw + vw + 1) + 4 <= width else 1
            for i in range(0, len(cells), per_line):
                blocks.append("    ".join(cells[i : i + per_line]))
            blocks.append("-" * width)
        for lines in tables_txt:
            blocks.extend(lines)
            blocks.append("-" * width)
        for note in self.notes:
            blocks.append(note)
        return "\n".join(line.rstrip() for line in blocks)

    def __repr__(self) -> str:
        return str(self)

    # -- HTML ----------------------------------------------------------------
    def _repr_html_(self) -> str:
        e = html.escape
        out = [f'<div class="panelre-summary"><h4>{e(self.title)}</h4>']
        if self.header:
            out.append("<table><tbody>")
            for k, v in self.header:
                out.append(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>")
            out.append("</tbody></table>")
        for table in self.tables:
            cols, rows, body = self._cells(table)
            out.append("<table><thead><tr><th></th>")
            out.extend(f"<th>{e(c)}</th>" for c in cols)
            out.append("</tr></thead><tbody>")
            for r, b in zip(rows, body):
                out.append(
                    f"<tr><th>{e(r)}</th>" + "".join(f"<td>{e(v)}</td>" for v in b) + "</tr>"
                )
            out.append("</tbody></table>")
        for note in self.notes:
            out.append(f"<p>{e(note)}</p>")
        out.append("</div>")
        return "".join(out)

    as_html = _repr_html_

    # -- LaTeX ---------------------------------------------------------------
    def as_latex(self) -> str:
        """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
        out = ["\\begin{table}[htbp]", "\\centering", f"\\caption{{{tex_escape(self.title)}}}"]
        for table in self.tables:
            cols, rows, body = self._cells(table)
            out.append("\\begin{tabular}{l" + "r" * len(cols) + "}")
            out.append("\\toprule")
            out.append(" & " + " & ".join(tex_escape(c) for c in cols) + " \\\\")
            out.append("\\midrule")
            for r, b in zip(rows, body):
                out.append(tex_escape(r) + " & " + " & ".join(tex_escape(v) for v in b) + " \\\\")
            if self.header and table is self.tables[-1]:
                out.append("\\midrule")
                for k, v in self.header:
                    span = f"\\multicolumn{{{len(cols)}}}{{r}}"
                    out.append(f"{tex_escape(k)} & {span}{{{tex_escape(v)}}} \\\\")
            out.append("\\bottomrule")
            out.append("\\end{tabular}")
        for note in self.notes:
            out.append(f"\\par\\footnotesize {tex_escape(note)}")
        out.append("\\end{table}")
        return "\n".join(out)

    # -- Markdown ------------------------------------------------------------
    def as_markdown(self) -> str:
        """A GitHub-flavoured Markdown rendering."""
        out = [f"**{self.title}**", ""]
        if self.header:
            out += ["| | |", "|---|---|"]
            out += [f"| {k} | {v} |" for k, v in self.header]
            out.append("")
        for table in self.tables:
            cols, rows, body = self._cells(table)
            out.append("| | " + " | ".join(cols) + " |")
            out.append("|---|" + "---:|" * len(cols))
            for r, b in zip(rows, body):
                out.append(f"| {r} | " + " | ".join(b) + " |")
            out.append("")
        out.extend(self.notes)
        return "\n".join(out).rstrip() + "\n"

    def to_latex(self, path: str | Path) -> None:
        """Write ``as_latex`` to ``path``."""
        Path(path).write_text(self.as_latex(), encoding="utf-8")

    def to_markdown(self, path: str | Path | None = None) -> str:
        """Return ``as_markdown``, also writing it to ``path`` when given."""
        text = self.as_markdown()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


_TEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "|": r"\textbar{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "²": r"\textsuperscript{2}",
    "—": "--",
    "–": "--",
    "−": "-",
}


def tex_escape(text: object) -> str:
    r"""Escape text for LaTeX (plain ``pdflatex`` with no extra packages).

    Examples
    --------
    >>> tex_escape("P>|z| & R² 5%")
    'P\\textgreater{}\\textbar{}z\\textbar{} \\& R\\textsuperscript{2} 5\\%'
    """
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))
