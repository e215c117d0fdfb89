"""Every stored reference number carries the call that produced it: the R call (``call``
or ``r_call``) for the R fixtures, the Stata command and its published source for Stata's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HERE = Path(__file__).parent
R_FIXTURES = {
    "reference_r.json": "r_call",
    "panel/plm_extra.json": "call",
    "diagnostics/diagnostics_plm.json": "call",
    "mixed/lme4_extra.json": "call",
    "meta/metafor_extra.json": "call",
    "weights/weights_r.json": "call",
    "cr2/cr2_r.json": "call",
    "margins/margins_r.json": "call",
    "bootstrap/wild_bootstrap_r.json": "call",
    "iv/plm_iv.json": "call",
    "gmm/plm_pgmm.json": "call",
}


def _cases(path: Path) -> list[dict]:
    cases = json.loads(path.read_text())["cases"]
    return list(cases.values()) if isinstance(cases, dict) else cases


@pytest.mark.parametrize(("name", "key"), sorted(R_FIXTURES.items()))
def test_every_r_case_has_its_call(name: str, key: str) -> None:
    cases = _cases(HERE / name)
    assert cases
    missing = [c.get("id", i) for i, c in enumerate(cases) if not str(c.get(key, "")).strip()]
    assert not missing, f"{name}: cases without {key!r}: {missing[:5]}"
    # a call names an R function applied to arguments
    assert all("(" in c[key] and ")" in c[key] for c in cases)


def test_every_r_fixture_folder_has_its_script() -> None:
    scripts = {p.parent for p in HERE.rglob("*.R")}
    for name in R_FIXTURES:
        assert (HERE / name).parent in scripts, name


def test_fixef_and_stata_fixtures_name_their_source() -> None:
    fixef = json.loads((HERE / "panel" / "plm_fixef_se.json").read_text())
    assert fixef["call"].startswith("summary(fixef(plm(")
    stata = json.loads((HERE / "stata" / "stata_published.json").read_text())
    for group in ("estimations", "hausman"):
        for case in stata[group].values():
            assert case["command"].strip() and case["source"].strip()
