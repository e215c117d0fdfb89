"""Compile a LaTeX fragment with pdflatex when it is installed (tests of the tables)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def assert_compiles(tex: str, folder: Path) -> None:
    """``tex`` inside a minimal article with booktabs compiles (skipped without pdflatex)."""
    if not shutil.which("pdflatex"):
        return
    doc = folder / "doc.tex"
    doc.write_text(
        "\\documentclass{article}\\usepackage{booktabs}\\begin{document}" + tex + "\\end{document}"
    )
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
        cwd=folder,
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]
