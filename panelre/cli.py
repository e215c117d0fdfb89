"""The ``panelre`` command line.

Examples::

    panelre select grunfeld "inv ~ value + capital" --entity firm --time year
    panelre fit data.csv "y ~ x1 + x2" --entity id --time t --model fixed_effects --cov cluster
    panelre mixed sleepstudy "Reaction ~ Days + (Days | Subject)"
    panelre meta bcg --measure RR --ai tpos --bi tneg --ci cpos --di cneg --method REML
    panelre datasets
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from panelre._validation import closest_names
from panelre.exceptions import PanelreError

__all__ = ["main", "read_data"]

FORMATS = ("text", "markdown", "latex", "html", "json")
MODELS = (
    "pooled_ols",
    "between",
    "fixed_effects",
    "first_difference",
    "random_effects",
    "correlated_random_effects",
    "hausman_taylor",
)


def read_data(source: str) -> pd.DataFrame:
    """Read a CSV, Parquet, Stata .dta or Excel file, or load a bundled data set by name."""
    from panelre import datasets

    path = Path(source)
    readers: dict[str, Callable[[Path], pd.DataFrame]] = {
        ".csv": pd.read_csv,
        ".parquet": pd.read_parquet,
        ".pq": pd.read_parquet,
        ".dta": pd.read_stata,
        ".xlsx": pd.read_excel,
        ".xls": pd.read_excel,
    }
    if path.suffix.lower() in readers:
        if not path.exists():
            raise FileNotFoundError(f"No such file: {source}")
        return readers[path.suffix.lower()](path)
    if source.lower() in datasets.names():
        return datasets.load(source)
    raise PanelreError(
        f"DATA must be a .csv, .parquet, .dta or .xlsx file or a bundled data set "
        f"({', '.join(datasets.names())}). Got {source!r}."
    )


def _render(obj: Any, fmt: str) -> str:
    summary = getattr(obj, "summary", obj)
    if fmt == "json":
        if hasattr(obj, "to_dict"):
            return json.dumps(obj.to_dict(), indent=2, default=_json_default)
        frame = obj.to_frame() if hasattr(obj, "to_frame") else pd.DataFrame()
        return json.dumps({"coefficients": json.loads(frame.to_json(orient="index"))}, indent=2)
    if fmt == "markdown":
        return summary.as_markdown()
    if fmt == "latex":
        return summary.as_latex()
    if fmt == "html":
        return summary._repr_html_()
    return str(summary)


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
        print(f"written to {output}", file=sys.stderr)
    else:
        print(text)


def _cluster_columns(text: str) -> str | list[str]:
    """'firm' -> 'firm'; 'firm,year' -> ['firm', 'year'] (two-way clustering)."""
    columns = [c.strip() for c in text.split(",") if c.strip()]
    return columns[0] if len(columns) == 1 else columns


def _cmd_fit(args: argparse.Namespace) -> str:
    import panelre as pr

    data = read_data(args.data)
    options: dict[str, Any] = {"entity": args.entity, "time": args.time, "cov": args.cov}
    if args.effects:
        options["effects"] = args.effects
    if args.method:
        options["method"] = args.method
    if args.cluster:
        options["cluster"] = _cluster_columns(args.cluster)
    if args.small_sample:
        options["small_sample"] = True
    if args.endogenous:
        options["endogenous"] = args.endogenous
    if args.iv_method:
        options["iv_method"] = args.iv_method
    if args.weights:
        options["weights"] = args.weights
        options["weight_type"] = args.weight_type
    estimator = getattr(pr, args.model)
    res = estimator(args.formula, data, **options)
    if args.plot:
        from panelre import plots

        plots.coefficient_plot({args.model: res}).savefig(args.plot, dpi=120, bbox_inches="tight")
    return _render(res, args.format)


def _gmm_spec(items: list[str]) -> dict[str, tuple[int, int | None]]:
    """'log(emp):2:' -> {'log(emp)': (2, None)}; 'n:2:4' -> {'n': (2, 4)}."""
    spec: dict[str, tuple[int, int | None]] = {}
    for item in items:
        expr, sep, lags = item.rpartition(":")
        expr, _, first = expr.rpartition(":") if sep else ("", "", "")
        if not sep or not expr or not first.isdigit() or (lags and not lags.isdigit()):
            raise PanelreError(
                f"--gmm takes EXPR:FIRST:LAST with LAST empty for all lags, e.g. "
                f"'log(emp):2:' or 'n:2:4'. Got {item!r}."
            )
        spec[expr] = (int(first), int(lags) if lags else None)
    return spec


def _cmd_gmm(args: argparse.Namespace) -> str:
    import panelre as pr

    res = pr.gmm(
        args.formula,
        read_data(args.data),
        entity=args.entity,
        time=args.time,
        gmm=_gmm_spec(args.gmm),
        iv=args.iv or (),
        transformation=args.transformation,
        steps=args.steps,
        collapse=args.collapse,
        effects=args.effects,
        cov=args.cov,
    )
    return _render(res, args.format)


def _cmd_select(args: argparse.Namespace) -> str:
    import panelre as pr

    cluster = _cluster_columns(args.cluster) if args.cluster else None
    sel = pr.select(
        args.formula,
        read_data(args.data),
        entity=args.entity,
        time=args.time,
        alpha=args.alpha,
        cov=args.cov,
        cluster=cluster,
    )
    if args.plot:
        from panelre import plots

        plots.coefficient_plot(dict(sel.models)).savefig(args.plot, dpi=120, bbox_inches="tight")
    if args.format == "json":
        return json.dumps(sel.to_dict(), indent=2, default=_json_default)
    if args.format == "text":
        return str(sel)
    return sel.report() + "\n\n" + _render(sel.table, args.format)


def _cmd_mixed(args: argparse.Namespace) -> str:
    from panelre.mixed import mixed

    res = mixed(
        args.formula,
        read_data(args.data),
        reml=not args.ml,
        groups=args.groups,
        re_formula=args.re_formula,
        weights=args.weights,
    )
    if args.plot:
        res.plot_random_effects().savefig(args.plot, dpi=120, bbox_inches="tight")
    return _render(res, args.format)


def _cmd_meta(args: argparse.Namespace) -> str:
    from panelre.meta import effect_size, meta_analysis

    data = read_data(args.data)
    if args.measure:
        es = effect_size(args.measure, ai=args.ai, bi=args.bi, ci=args.ci, di=args.di, data=data)
        yi, vi = es["yi"], es["vi"]
    elif args.yi and args.vi:
        yi, vi = data[args.yi], data[args.vi]
    else:
        raise PanelreError(
            "meta needs either --measure with --ai --bi --ci --di, or --yi and --vi."
        )
    weights = None
    if args.weights is not None:
        if args.weights not in data.columns:
            hint = closest_names(args.weights, [str(c) for c in data.columns])
            raise PanelreError(f"The weights column {args.weights!r} is not in the data{hint}.")
        weights = data[args.weights]
    labels = None
    if args.labels is not None:
        if args.labels not in data.columns:
            hint = closest_names(args.labels, [str(c) for c in data.columns])
            raise PanelreError(f"The labels column {args.labels!r} is not in the data{hint}.")
        labels = data[args.labels].astype(str).to_numpy()
    res = meta_analysis(yi, vi, method=args.method, test=args.test, weights=weights, labels=labels)
    transform = np.exp if args.transform == "exp" else None
    if args.plot:
        res.forest_plot(transform=transform).savefig(args.plot, dpi=120, bbox_inches="tight")
    text = _render(res, args.format)
    if transform is not None and args.format == "text":
        text += "\n\n" + _back_transformed(res)
    return text


def _back_transformed(res: Any) -> str:
    """The pooled estimate and its intervals on the exp scale (ratios from log ratios)."""
    rows = [("estimate", res.estimate, *res.ci)]
    pi = getattr(res, "pi", None)
    if pi is not None:
        rows.append(("prediction interval", np.nan, *pi))
    lines = ["Back-transformed (exp): estimate [95% CI]"]
    for name, est, lo, hi in rows:
        value = "" if np.isnan(est) else f"{np.exp(est):.4f} "
        lines.append(f"  {name:<20} {value}[{np.exp(lo):.4f}, {np.exp(hi):.4f}]")
    return "\n".join(lines)


def _cmd_datasets(args: argparse.Namespace) -> str:
    from panelre import datasets

    if args.name:
        df = datasets.load(args.name)
        shape = f"{df.shape[0]} rows x {df.shape[1]} columns"
        return f"{datasets.describe(args.name)}\n\n{shape}\n{df.head()}"
    return "\n".join(f"{n:<12} {datasets.describe(n)[:80]}..." for n in datasets.names())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panelre",
        description="Panel-data econometrics and random-effects models.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--format", choices=FORMATS, type=str.lower, default="text", help="output format"
        )
        p.add_argument("--output", help="write the table to this file instead of stdout")

    fit = sub.add_parser(
        "fit",
        help="fit a panel estimator and print its summary",
        epilog='example: panelre fit grunfeld "inv ~ value + capital" '
        "--entity firm --time year --model random_effects",
    )
    fit.add_argument("data", help="CSV/Parquet/.dta/.xlsx file or bundled data set name")
    fit.add_argument("formula", help='e.g. "y ~ x1 + x2"')
    fit.add_argument("--entity", required=True)
    fit.add_argument("--time")
    fit.add_argument("--model", choices=MODELS, type=str.lower, default="fixed_effects")
    fit.add_argument("--effects", help="entity | time | twoway")
    fit.add_argument("--method", help="random-effects method, e.g. swamy-arora")
    fit.add_argument(
        "--cov", default="unadjusted", help="unadjusted | robust | cluster | driscoll-kraay"
    )
    fit.add_argument(
        "--cluster", help="cluster column (default: entity); two columns 'a,b' for two-way"
    )
    fit.add_argument("--small-sample", action="store_true", help="Stata's small-sample factors")
    fit.add_argument("--endogenous", nargs="*", help="Hausman–Taylor endogenous regressors")
    fit.add_argument(
        "--iv-method",
        choices=["g2sls", "ec2sls"],
        type=str.lower,
        help="random effects with instruments ([x ~ z] in the formula): G2SLS or EC2SLS",
    )
    fit.add_argument("--weights", metavar="COL", help="column of observation weights")
    fit.add_argument(
        "--weight-type",
        choices=["analytic", "frequency"],
        type=str.lower,
        default="analytic",
        help="analytic (Stata aweight, R lm weights) or frequency (Stata fweight)",
    )
    fit.add_argument("--plot", help="save a coefficient plot to this image file")
    common(fit)
    fit.set_defaults(func=_cmd_fit)

    sel = sub.add_parser(
        "select",
        help="choose pooled / FE / RE / CRE and explain why",
        epilog='example: panelre select grunfeld "inv ~ value + capital" --entity firm --time year',
    )
    sel.add_argument("data")
    sel.add_argument("formula")
    sel.add_argument("--entity", required=True)
    sel.add_argument("--time")
    sel.add_argument("--alpha", type=float, default=0.05)
    sel.add_argument(
        "--cov", help="covariance of every model in the table (default: the recommended one)"
    )
    sel.add_argument("--cluster", help="with --cov cluster: the cluster column(s), 'a' or 'a,b'")
    sel.add_argument("--plot", help="save a coefficient plot of the models to this image file")
    common(sel)
    sel.set_defaults(func=_cmd_select)

    mix = sub.add_parser(
        "mixed",
        help="fit a linear mixed model (lme4 syntax)",
        epilog='example: panelre mixed sleepstudy "Reaction ~ Days + (Days | Subject)"',
    )
    mix.add_argument("data")
    mix.add_argument("formula")
    mix.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    mix.add_argument(
        "--groups", metavar="COL", help="grouping column for a formula without random terms"
    )
    mix.add_argument("--re-formula", help="with --groups: the random part, e.g. '~Time'")
    mix.add_argument("--weights", metavar="COL", help="column of prior weights (lme4 weights=)")
    mix.add_argument("--plot", help="save a caterpillar plot of the random effects to this file")
    common(mix)
    mix.set_defaults(func=_cmd_mixed)

    meta = sub.add_parser(
        "meta",
        help="random-effects meta-analysis",
        epilog="example: panelre meta bcg --measure RR --ai tpos --bi tneg --ci cpos --di cneg",
    )
    meta.add_argument("data")
    meta.add_argument("--measure")
    for col in ("ai", "bi", "ci", "di", "yi", "vi"):
        meta.add_argument(f"--{col}")
    meta.add_argument("--method", default="REML")
    meta.add_argument("--test", default="z", type=str.lower, choices=["z", "hksj", "knha"])
    meta.add_argument("--weights", metavar="COL", help="column of user weights (metafor weights=)")
    meta.add_argument("--labels", metavar="COL", help="column of study labels")
    meta.add_argument(
        "--transform",
        choices=["none", "exp"],
        type=str.lower,
        default="none",
        help="exp: back-transform log ratios in the forest plot and the text output",
    )
    meta.add_argument("--plot", help="save a forest plot to this image file")
    common(meta)
    meta.set_defaults(func=_cmd_meta)

    dyn = sub.add_parser(
        "gmm",
        help="dynamic panel GMM (Arellano-Bond difference / Blundell-Bond system)",
        epilog='example: panelre gmm empluk "log(emp) ~ lag(log(emp), 1:2) + log(wage)" '
        "--entity firm --time year --gmm 'log(emp):2:' --effects twoway",
    )
    dyn.add_argument("data")
    dyn.add_argument("formula", help="with lag(x, k) / lag(x, a:b) terms")
    dyn.add_argument("--entity", required=True)
    dyn.add_argument("--time", required=True)
    dyn.add_argument(
        "--gmm",
        nargs="+",
        required=True,
        metavar="EXPR:FIRST:LAST",
        help="GMM-style instruments, e.g. 'log(emp):2:' (lags 2 and beyond)",
    )
    dyn.add_argument("--iv", nargs="*", help="further standard instruments (expressions)")
    dyn.add_argument(
        "--transformation", default="difference", type=str.lower, help="difference | system"
    )
    dyn.add_argument("--steps", type=int, choices=[1, 2], default=2)
    dyn.add_argument("--collapse", action="store_true", help="one instrument column per lag")
    dyn.add_argument("--effects", default="entity", type=str.lower, help="entity | twoway")
    dyn.add_argument("--cov", default="robust", type=str.lower, help="robust | unadjusted")
    common(dyn)
    dyn.set_defaults(func=_cmd_gmm)

    ds = sub.add_parser("datasets", help="list the bundled data sets, or describe one")
    ds.add_argument("name", nargs="?")
    ds.set_defaults(func=_cmd_datasets, format="text", output=None)
    return parser


def _report_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Each distinct warning once on stderr, as one line ("panelre: warning: ...")."""
    seen: set[str] = set()
    for item in caught:
        if not issubclass(item.category, UserWarning):
            continue  # deprecation and runtime noise from dependencies
        text = " ".join(str(item.message).split())
        if text not in seen:
            seen.add(text)
            print(f"panelre: warning: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``panelre`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            text = args.func(args)
        _report_warnings(caught)
        _emit(text, args.output)
    except BrokenPipeError:  # e.g. piped into `head`
        return 0
    except (PanelreError, FileNotFoundError, ImportError, KeyError, ValueError) as exc:
        _report_warnings(caught)  # what happened before the error, e.g. dropped rows
        print(f"panelre: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
