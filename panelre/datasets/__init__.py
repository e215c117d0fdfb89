"""Bundled real data sets: ``load(name)`` and ``names()``.

Examples
--------
>>> import panelre as pr
>>> df = pr.datasets.load("grunfeld")
>>> df.shape
(200, 5)
>>> "sleepstudy" in pr.datasets.names()
True
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from panelre._validation import check_option

__all__ = ["load", "names", "describe"]

_DESCRIPTIONS: dict[str, str] = {
    "grunfeld": (
        "Grunfeld (1958) investment data: 10 US firms x 20 years (1935-1954). Columns: firm, "
        "year, inv (gross investment), value (market value), capital (stock of plant and "
        "equipment). Source: R package plm, data(Grunfeld); the exact rows R used for "
        "panelre's reference results."
    ),
    "wagepan": (
        "Vella and Verbeek (1998) wage panel: 545 young men x 8 years (1980-1987), from the NLSY, "
        "as distributed with Wooldridge's Introductory Econometrics (WAGEPAN). Columns include nr "
        "(person), year, lwage, educ, black, hisp, exper, expersq, married, union and year dummies."
    ),
    "dietox": (
        "Growth of 72 slaughter pigs weighed weekly for 12 weeks (Lauridsen et al. 1999), "
        "as in R package geepack and statsmodels' MixedLM example. Columns: Pig, Evit, Cu, "
        "Litter, Start, Weight, Feed, Time."
    ),
    "sleepstudy": (
        "Belenky et al. (2003) sleep deprivation study: average reaction time (ms) of 18 "
        "subjects over 10 days. Columns: Reaction, Days, Subject. Source: R package lme4."
    ),
    "bcg": (
        "Colditz et al. (1994): 13 trials of the BCG vaccine against tuberculosis. Columns: "
        "trial, author, year, tpos, tneg, cpos, cneg (2x2 counts), ablat (absolute latitude), "
        "alloc. Source: R package metadat, dat.bcg."
    ),
    "penicillin": (
        "Penicillin assay (Davies and Goldsmith 1972): diameter (mm) of the zone of growth "
        "inhibition for 6 samples of penicillin, each tested on each of 24 plates, 144 rows; "
        "plate and sample are crossed. Columns: diameter, plate, sample. Source: R package "
        "lme4, data(Penicillin)."
    ),
    "pastes": (
        "Strength of a chemical paste (Davies and Goldsmith 1972): 10 delivery batches, 3 casks "
        "per batch, 2 assays per cask, 60 rows; casks are nested in batches and their labels "
        "(a, b, c) repeat across batches, so the cask factor is cask:batch. Columns: strength, "
        "batch, cask, sample (= batch:cask). Source: R package lme4, data(Pastes)."
    ),
    "insteval": (
        "ETH Zurich lecture evaluations (2004-2005): 73,421 ratings (y, 1-5) by 2,972 students "
        "(s) of 1,128 lecturers (d), crossed. Columns: s, d, studage and lectage (ordinal "
        "codes), service (1 if the lecture is held for another department), dept (14 "
        "departments), y. Source: R package lme4, data(InstEval); the ordered-factor codes "
        "are written as their labels."
    ),
    "empluk": (
        "Arellano and Bond (1991) UK company panel: 140 firms, 1976-1984, unbalanced (7 to 9 "
        "consecutive years; 1031 firm-years), the data of their employment equations (Table 4). "
        "Columns: firm, year, sector, emp (employment), wage, capital, output (industry "
        "output). Source: R package plm, data(EmplUK); Stata's abdata has the same firm-years "
        "(n, w, k, ys are the logs of emp, wage, capital, output)."
    ),
    "crime": (
        "Cornwell and Trumbull (1994) crime panel: 90 North Carolina counties x 7 years "
        "(1981-1987), 630 rows: crime rate, probabilities of arrest, conviction and prison, "
        "police per capita, wages by sector, density, demographics and their logs (l...), with "
        "ltaxpc and lmix, Baltagi's instruments for lprbarr and lpolpc. Source: R package plm, "
        "data(Crime)."
    ),
    "wages": (
        "Cornwell and Rupert (1988) wage panel: 595 workers x 7 years (1976-1982), from the "
        "PSID, as in Baltagi's Econometric Analysis of Panel Data and R package plm (Wages). "
        "Columns: id, time, exp, wks, bluecol, ind, south, smsa, married, sex, union, ed, "
        "black, lwage."
    ),
}


def names() -> list[str]:
    """Names of the bundled data sets, in alphabetical order.

    Examples
    --------
    >>> from panelre import datasets
    >>> datasets.names()[:2]
    ['bcg', 'crime']
    """
    files = resources.files("panelre.datasets").joinpath("data")
    found = {p.name.removesuffix(".csv.gz") for p in files.iterdir() if p.name.endswith(".csv.gz")}
    return sorted(found)


def describe(name: str) -> str:
    """A short description of data set ``name`` with its source.

    Examples
    --------
    >>> from panelre import datasets
    >>> datasets.describe("grunfeld").startswith("Grunfeld")
    True
    """
    key = check_option("name", name, names())
    return _DESCRIPTIONS.get(key, key)


def load(name: str) -> pd.DataFrame:
    """Load a bundled data set as a new pandas DataFrame.

    Parameters
    ----------
    name : str
        One of ``names`` (case-insensitive).

    Returns
    -------
    pandas.DataFrame
        A fresh copy; modifying it does not affect later calls.

    Raises
    ------
    InvalidParameterError
        If ``name`` is not a bundled data set.

    Examples
    --------
    >>> from panelre import datasets
    >>> datasets.load("bcg").shape
    (13, 9)
    """
    key = check_option("name", name, names())
    path = resources.files("panelre.datasets").joinpath("data").joinpath(f"{key}.csv.gz")
    with resources.as_file(path) as p:
        return pd.read_csv(p, compression="gzip")
