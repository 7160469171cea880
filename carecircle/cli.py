"""Command line: ``carecircle run`` composes the pipeline and writes the results.

Each :class:`~carecircle.errors.CarecircleError` becomes one line on stderr and the exit code of its class
(:data:`carecircle.errors.EXIT_CODES`); the traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

from carecircle.config import (
    COLUMN_KEYS,
    InputsSpec,
    StudyConfig,
    SuggestSpec,
    WalkingSpec,
    check_max_snap_m,
    check_minutes,
    check_share,
    check_walk_speed,
    safe_name,
)
from carecircle.core.network import check_bbox
from carecircle.core.travel import SPEED_PRESETS_MPS
from carecircle.errors import EXIT_CODES, CarecircleError, InputError, exit_code
from carecircle.outputs.comparison import write_comparison
from carecircle.outputs.export import write_suggestion
from carecircle.pipeline import prepare, read_suggestion_inputs, suggest
from carecircle.plan.compare import compare
from carecircle.plan.standards import list_profiles, load_profile
from carecircle.runner import run_scenario
from carecircle.scenario import load_scenarios, write_example
from carecircle.version import __version__

log = logging.getLogger("carecircle")

INTERNAL_ERROR = 70


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _setup_logging(args)
    try:
        return args.func(args)
    except CarecircleError as exc:
        if args.debug:
            raise
        print(f"carecircle: error: {exc}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        print("carecircle: interrupted; no results were written.", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line, keep the traceback for --debug
        if args.debug:
            raise
        print(f"carecircle: internal error: {type(exc).__name__}: {exc}; rerun with --debug and report it.",
              file=sys.stderr)
        return INTERNAL_ERROR


# ------------------------------------------------------------------------------------------------- run


def _run(args: argparse.Namespace) -> int:
    if args.scenarios:
        return _run_scenarios(args)
    config = _config(args)
    with _progress(args) as progress:
        run = run_scenario(config, out_dir=args.output or Path("maps") / config.area_value.name(),
                           cache_dir=None if args.no_cache else args.cache_dir, progress=progress)
    _report(run.study, run.written, quiet=args.quiet)
    return 0


def _suggest(args: argparse.Namespace) -> int:
    config = _config(args, suggest=True)
    extra = read_suggestion_inputs(config)  # checked before the heavy work
    with _progress(args) as progress:
        study = prepare(config, cache_dir=None if args.no_cache else args.cache_dir, progress=progress)
        progress("Choosing new sites")
        sug = suggest(config, study, inputs=extra, progress=progress)
        progress("Writing map and tables")
        written = write_suggestion(sug, study, args.output or Path("maps") / f"{config.area_value.name()}-suggest",
                                   lang=config.lang, title=args.title)
    folder = next(iter(written.values())).parent
    if args.quiet:
        print(folder / "map.html")
        return 0
    lab = f"{sug.minutes:g}"
    sol = sug.solution
    print(f"Study '{study.name}': {sug.method}, {len(sug.sites)} new sites from {sug.n_candidates} candidates; "
          f"within {lab} min {sug.before.summary['share'][lab]:.1%} → {sug.after.summary['share'][lab]:.1%}")
    for _, row in sug.sites.iterrows():
        print(f"  {int(row['rank']):>3}. {row.get('candidate_id', row.get('facility_id'))}  +{row['gain']:,.0f} "
              f"elderly  → {row['share_after']:.1%}")
    print(f"  solver: {sol.method}, {sol.status}, gap {sol.gap:.2%}, {sol.time_s:.1f} s")
    print(f"Results in {folder}/: " + ", ".join(written))
    return 0


def _report_compliance(study) -> None:
    """One line per standards outcome: counts of overall rows, failing targets, and what could not be checked."""
    table = getattr(study, "compliance", None)
    if table is None or not len(table):
        return
    overall = table[table["level"] == "overall"]
    counts = overall["status"].value_counts()
    print(f"  Standard {study.profile.id}: targets met {counts.get('pass', 0)}, not met {counts.get('fail', 0)}, "
          f"not checkable with these inputs {counts.get('unevaluable', 0)} (compliance.csv)")
    for _, row in overall[overall["status"] == "fail"].iterrows():
        print(f"    not met  {row['target_id']}: {row['value']} vs {row['target']}; {row['shortfall']}")
    for _, row in overall[overall["status"] == "unevaluable"].iterrows():
        print(f"    unknown  {row['target_id']}: {row['shortfall']}")


#: Options of `run` that still apply with scenario files; every other one belongs in the scenario.
_SCENARIO_CLI_KEYS = {"scenarios", "command", "func", "output", "cache_dir", "no_cache", "quiet", "verbose", "debug"}


def _run_scenarios(args: argparse.Namespace) -> int:
    """``carecircle run a.yaml b.yaml``: every file is checked before any work starts, then each is run."""
    defaults = vars(_parser().parse_args(["run"]))
    ignored = [k for k, v in vars(args).items()
               if k in defaults and k not in _SCENARIO_CLI_KEYS and v != defaults[k]]
    if ignored:
        flags = ", ".join("--" + k.replace("_", "-") for k in sorted(ignored))
        raise InputError(f"{flags} cannot be combined with scenario files; set them in the scenario instead "
                         "(see `carecircle init`), or run without scenario files.")
    if args.output is not None and len(args.scenarios) > 1:
        raise InputError("--output names one folder but several scenarios were given; set outputs.folder in "
                         "each scenario instead.")
    scenarios = load_scenarios(args.scenarios)
    cache = None if args.no_cache else args.cache_dir
    with _progress(args) as progress:
        runs = []
        for scenario in scenarios:
            progress(f"Scenario {scenario.label}")
            runs.append(run_scenario(scenario, out_dir=args.output, cache_dir=cache, progress=progress,
                                     quiet=args.quiet))
    for run in runs:
        _report(run.study, run.written, quiet=args.quiet)
        if run.suggestion is not None and not args.quiet:
            sug = run.suggestion
            lab = f"{sug.minutes:g}"
            print(f"  suggested {len(sug.sites)} new sites ({sug.method}): within {lab} min "
                  f"{sug.before.summary['share'][lab]:.1%} → {sug.after.summary['share'][lab]:.1%}, "
                  f"in {run.folder / 'suggest'}/")
    return 0


def _init(args: argparse.Namespace) -> int:
    path = write_example(args.path)
    print(f"Wrote {path}; edit it, then run: carecircle run {path}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    base, plan = load_scenarios([args.base, args.plan])
    cache = None if args.no_cache else args.cache_dir
    with _progress(args) as progress:
        runs = [run_scenario(s, cache_dir=cache, progress=progress, quiet=args.quiet, write=False)
                for s in (base, plan)]
        progress("Comparing")
        cmp = compare(runs[0].study, runs[1].study, base_name=base.label, plan_name=plan.label)
        out_dir = args.output or Path("maps") / safe_name(f"compare-{base.label}-{plan.label}")
        lang = args.lang or runs[1].study.lang
        written = write_comparison(cmp, out_dir, lang=lang, title=args.title)
    folder = next(iter(written.values())).parent
    if args.quiet:
        print(folder / "map.html")
        return 0
    print(f"Comparing '{base.label}' (base) with '{plan.label}' (plan):")
    for _, row in cmp.headline.iterrows():
        print("  " + "  ".join(f"{k}={_fmt_cell(k, v)}" for k, v in row.items()))
    print(f"Results in {folder}/: " + ", ".join(written))
    return 0


def _standards(args: argparse.Namespace) -> int:
    if args.name:
        profile = load_profile(args.name)
        print(f"{profile.id}: {profile.name_zh} / {profile.name_en}")
        for t in profile.targets:
            print(f"  {t.id:<24} {t.kind:<30} {t.description_zh if args.lang == 'zh' else t.description_en}")
        return 0
    for pid, name_zh, name_en in list_profiles():
        print(f"{pid:<16} {name_zh if args.lang == 'zh' else name_en}")
    print("Use one with --standard NAME; copy a file from carecircle/profiles/ to write your own.")
    return 0


def _fmt_cell(key: str, value) -> str:
    if isinstance(value, float) and "share" in str(key):
        return f"{value:+.1%}" if "change" in str(key) or "diff" in str(key) else f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.0f}"
    return str(value)


def _report(study, written: dict[str, Path], *, quiet: bool) -> None:
    s = study.coverage.summary
    folder = next(iter(written.values())).parent
    if quiet:
        print(folder / "map.html")
        return
    print(f"Study '{study.name}': {s['elderly_population']:,.0f} elderly people, {s['n_facilities']} facilities, "
          f"walking {s['walk_speed_mps']:g} m/s")
    for lab, share in s["share"].items():
        pct = "n/a" if share is None else f"{share:6.1%}"
        print(f"  within {lab:>4} min: {pct}  ({s['covered'][lab]:,.0f} covered, {s['uncovered'][lab]:,.0f} not)")
    below = s["communities_below_target"]
    if below:
        what = "community" if len(below) == 1 else "communities"
        print(f"  {len(below)} {what} below the {s['target_share']:.0%} target: {', '.join(below[:10])}"
              + (" …" if len(below) > 10 else ""))
    if s.get("off_network_points"):
        print(f"  {s['off_network_points']} demand points lie too far from the network and count as not covered")
    _report_compliance(study)
    if study.note:
        print(f"  Note: {study.note}")
    print(f"Results in {folder}/: " + ", ".join(written))
    print(f"Open the report: {folder / 'report.html'}  (map alone: {folder / 'map.html'})")


# ----------------------------------------------------------------------------------------------- parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carecircle",
        description="Plan the 15-minute elder-care circle (15分钟养老服务圈) on the OpenStreetMap walking network.",
    )
    parser.add_argument("--version", action="version", version=f"carecircle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="measure walking coverage and write the map and tables",
        description="Measure who can walk to elder care within 5, 10 and 15 minutes and write map.html, "
        "summary.json and tables. With no options it analyses the bundled demo area offline.",
        epilog="Exit codes: " + ", ".join(f"{code} {cls.__name__}" for cls, code in EXIT_CODES.items())
        + f", 2 usage, {INTERNAL_ERROR} internal error.",
    )
    run.set_defaults(func=_run)
    run.add_argument("scenarios", nargs="*", type=Path, metavar="SCENARIO.yaml",
                     help="scenario files to run (see `carecircle init`); without them the options below apply")
    calc = _add_study_args(run)
    calc.add_argument("--no-isochrones", action="store_true", help="skip isochrone polygons (faster)")
    calc.add_argument("--merged-isochrones-only", action="store_true",
                      help="draw only the merged isochrones, not one per facility")

    _add_output_args(run)

    suggest = sub.add_parser(
        "suggest",
        help="suggest where new facilities close the coverage gaps",
        description="Choose new facility sites, existing facilities kept: the best N for coverage (mclp), the "
        "fewest to reach a target (set-cover) or the N with least walking time (p-median); writes sites.csv, "
        "curve.csv, communities.csv, summary.json and map.html.",
    )
    suggest.set_defaults(func=_suggest, no_isochrones=True, merged_isochrones_only=True)
    calc = _add_study_args(suggest)
    calc.add_argument("--method", choices=("mclp", "set-cover", "p-median"),
                      help=f"what to optimise (default: {_default(SuggestSpec, 'method')})")
    calc.add_argument("--new-sites", type=int, metavar="N",
                      help=f"sites to add (mclp, p-median; default: {_default(SuggestSpec, 'new_sites')})")
    calc.add_argument("--candidates", type=Path, metavar="FILE",
                      help="candidate sites (points); default: a grid of network points inside the communities")
    calc.add_argument("--spacing-m", type=float, metavar="M",
                      help=f"spacing of generated candidates (default: {_default(SuggestSpec, 'spacing_m'):g})")
    calc.add_argument("--cost-col", metavar="COL", help="candidate cost column (with --budget)")
    calc.add_argument("--budget", type=float, metavar="AMOUNT", help="total budget for new sites (mclp)")
    calc.add_argument("--site-capacity-col", metavar="COL", help="candidate column: elderly a new site can serve")
    calc.add_argument("--time-limit-s", type=float, metavar="S",
                      help=f"solver time limit, seconds (default: {_default(SuggestSpec, 'time_limit_s'):g})")
    calc.add_argument("--exclude", type=Path, metavar="FILE", help="polygons where no new site may go")
    _add_output_args(suggest)

    init = sub.add_parser("init", help="write a commented example scenario to start from",
                          description="Write a commented example scenario (YAML) that runs on the bundled demo.")
    init.set_defaults(func=_init, quiet=False, verbose=False, debug=False)
    init.add_argument("path", nargs="?", type=Path, default=Path("scenario.yaml"),
                      help="where to write it (default: %(default)s; an existing file is never overwritten)")
    init.add_argument("--debug", action="store_true", help="show tracebacks")

    std = sub.add_parser("standards", help="list the bundled standards profiles, or the targets of one",
                         description="List the bundled standards profiles (--standard NAME), or one profile's targets.")
    std.set_defaults(func=_standards, quiet=False, verbose=False)
    std.add_argument("name", nargs="?", help="a profile id or YAML file to show")
    std.add_argument("--lang", choices=("en", "zh"), default="en", help="names in English or Chinese")
    std.add_argument("--debug", action="store_true", help="show tracebacks")

    comp = sub.add_parser("compare", help="compare a baseline scenario with a plan",
                          description="Run two scenarios and write side-by-side and difference tables (per "
                          "community, subdistrict, compliance rows that flip) and a map of what changes.")
    comp.set_defaults(func=_compare)
    comp.add_argument("base", type=Path, metavar="BASE.yaml", help="the baseline scenario")
    comp.add_argument("plan", type=Path, metavar="PLAN.yaml", help="the plan scenario")
    comp.add_argument("--cache-dir", type=Path, default=_default_cache_dir(), metavar="DIR",
                      help="where built networks are cached (default: %(default)s)")
    comp.add_argument("--no-cache", action="store_true", help="neither read nor write the network cache")
    _add_output_args(comp)
    return parser


def _add_study_args(parser: argparse.ArgumentParser):
    """Options shared by ``run`` and ``suggest``: study area, inputs, column names, analysis."""

    area = parser.add_argument_group("study area (default: the bundled central-Helsinki demo, offline)")
    where = area.add_mutually_exclusive_group()
    where.add_argument("--network", type=Path, metavar="FILE",
                       help="local OSM file: .osm.pbf, .osm, .osm.bz2 or osmnx .graphml")
    where.add_argument("--place", metavar="NAME", help="place name to download, e.g. '和平区, 沈阳市, 辽宁省' (online)")
    where.add_argument("--bbox", metavar="W,S,E,N", help="bounding box in degrees to download (online)")
    where.add_argument("--polygon", type=Path, metavar="FILE", help="study-area polygon file to download (online)")
    area.add_argument("--cache-dir", type=Path, default=_default_cache_dir(), metavar="DIR",
                      help="where built networks are cached (default: %(default)s)")
    area.add_argument("--no-cache", action="store_true", help="neither read nor write the network cache")

    data = parser.add_argument_group("inputs")
    data.add_argument("--facilities", type=Path, metavar="FILE",
                      help="facility points: CSV with lon/lat, GeoJSON, GeoPackage or Shapefile")
    data.add_argument("--communities", type=Path, metavar="FILE",
                      help="community polygons with elderly population (GeoJSON, GeoPackage, Shapefile)")
    data.add_argument("--demand", type=Path, metavar="FILE",
                      help="demand points with a population column, instead of placing it inside communities")
    data.add_argument("--buildings", type=Path, metavar="FILE",
                      help="building footprints for placing population (default: those in the OSM file)")
    data.add_argument("--demand-method", choices=("buildings", "nodes", "centroid"),
                      help=f"how community population is placed inside it (default: "
                      f"{_default(InputsSpec, 'demand_method')})")
    data.add_argument("--subdistricts", type=Path, metavar="FILE",
                      help="subdistrict (街道) polygons with a name column; communities are assigned by location")
    data.add_argument("--crs", metavar="CRS",
                      help="coordinates of facility/candidate/demand files: wgs84, gcj02 (Amap, Tencent), bd09 "
                      "(Baidu) or an EPSG code (default: wgs84)")

    cols = parser.add_argument_group("column names")
    for flag, default, what in (
        ("--facility-id-col", "facility_id", "facility id"), ("--name-col", "name", "facility name"),
        ("--type-col", "type", "facility type, in Chinese or English"),
        ("--capacity-col", "capacity", "places (childcare places for childcare)"),
        ("--beds-col", "beds", "care beds"), ("--nursing-beds-col", "nursing_beds", "nursing-type beds"),
        ("--area-col", "floor_area_m2", "floor area in m²"),
        ("--lon-col", None, "CSV longitude (default: lon/lng/longitude/x)"),
        ("--lat-col", None, "CSV latitude (default: lat/latitude/y)"),
        ("--community-id-col", "community_id", "community id"), ("--community-name-col", "name", "community name"),
        ("--elderly-col", "pop_60plus", "population aged 60+"), ("--pop-col", "pop_total", "total population"),
        ("--households-col", "households", "households"),
        ("--subdistrict-col", "subdistrict", "subdistrict (街道) of each community"),
        ("--district-col", "district", "district (区/县) of each community"),
        ("--residential-col", "residential", "new or existing residential area (新建/既有)"),
        ("--children-col", "pop_0_3", "children aged 0-3 (childcare circle)"),
        ("--population-col", "population", "demand-point population"),
        ("--demand-community-col", "community_id", "community of each demand point"),
    ):
        cols.add_argument(flag, metavar="COL",
                          help=f"{what}" + (f" (default: {default})" if default else ""))

    calc = parser.add_argument_group("analysis")
    calc.add_argument("--standard", metavar="NAME|FILE",
                      help="standards profile to check, e.g. qitaihe-2020, gb50180-2018, or a YAML file "
                      "(list them with `carecircle standards`)")
    calc.add_argument("--minutes", type=_minutes, default=None, metavar="M,M,M",
                      help="walking-time thresholds in minutes (default: the profile's, else 5,10,15)")
    calc.add_argument("--speed", type=_speed, metavar="M/S",
                      help="walking speed in m/s or a preset: " + ", ".join(
                          f"{k}={v}" for k, v in SPEED_PRESETS_MPS.items()) + " (default: typical)")
    calc.add_argument("--target", type=_share, default=None, metavar="SHARE",
                      help="coverage share each community should reach at the largest threshold "
                      "(default: the profile's, else 0.9)")
    calc.add_argument("--max-snap-m", type=_positive, metavar="M",
                      help="largest allowed distance from a point to the network, metres (default: "
                      f"{_default(WalkingSpec, 'max_snap_m'):g})")
    return calc


def _add_output_args(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("output")
    out.add_argument("--output", type=Path, metavar="DIR", help="results folder (default: maps/<study>/)")
    out.add_argument("--lang", choices=("en", "zh"), default=None,
                     help="labels of the map and table headers (default: the profile's, else en)")
    out.add_argument("--title", help="map title")
    out.add_argument("--quiet", action="store_true", help="no progress; print only the map path")
    out.add_argument("--verbose", action="store_true", help="log every step")
    out.add_argument("--debug", action="store_true", help="show tracebacks")


def _default(model, key: str):
    """A configuration default, for help texts (stated once, in :mod:`carecircle.config`)."""
    return model.model_fields[key].default


def _checked(check, value, text: str):
    try:
        return check(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _minutes(text: str) -> tuple[float, ...]:
    try:
        values = [float(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of minutes such as 5,10,15") from exc
    return tuple(_checked(check_minutes, values, text))


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of metres") from exc
    return _checked(check_max_snap_m, value, text)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share such as 0.9") from exc
    return _checked(check_share, value, text)


def _speed(text: str) -> float:
    if text in SPEED_PRESETS_MPS:
        return SPEED_PRESETS_MPS[text]
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither m/s nor a preset ({', '.join(SPEED_PRESETS_MPS)})") from exc
    return _checked(check_walk_speed, value, text)


def _bbox(text: str | None):
    if text is None:
        return None
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4:
        raise InputError(f"--bbox {text!r} needs four numbers: west,south,east,north in degrees.")
    return list(check_bbox(parts))


#: The configuration's key paths as the CLI's flags, for messages.
CLI_NAMES = {
    "area": "--network/--place/--bbox/--polygon", "area.network": "--network", "area.place": "--place",
    "area.bbox": "--bbox", "area.polygon": "--polygon", "walking.speed_mps": "--speed",
    "walking.max_snap_m": "--max-snap-m", "thresholds_min": "--minutes", "target_share": "--target",
    "standard": "--standard", "outputs.lang": "--lang", "facilities.crs": "--crs",
    **{f"inputs.{k}": "--" + k.replace("_", "-") for k in InputsSpec.model_fields},
    **{f"columns.{k}": "--" + k.replace("_", "-") for k in COLUMN_KEYS},
    **{f"suggest.{k}": "--" + k.replace("_", "-") for k in SuggestSpec.model_fields},
    "suggest.capacity_col": "--site-capacity-col",
}


def _config(args: argparse.Namespace, *, suggest: bool = False) -> StudyConfig:
    """The study configuration of ``run``/``suggest`` flags; an option left out takes the configuration's default."""
    area = {"network": args.network, "place": args.place, "bbox": _bbox(args.bbox), "polygon": args.polygon}
    data = {
        "area": area if any(v is not None for v in area.values()) else None,
        "inputs": {k: getattr(args, k) for k in InputsSpec.model_fields},
        "columns": {k: getattr(args, k) for k in COLUMN_KEYS},
        "facilities": {"crs": args.crs},
        "walking": {"speed_mps": args.speed, "max_snap_m": args.max_snap_m},
        "thresholds_min": list(args.minutes) if args.minutes else None,
        "target_share": args.target,
        "standard": args.standard,
        "outputs": {"lang": args.lang, "title": args.title, "isochrones": not args.no_isochrones,
                    "per_facility_isochrones": not args.merged_isochrones_only},
    }
    if suggest:
        data["suggest"] = {k: getattr(args, k) for k in ("method", "new_sites", "candidates", "spacing_m",
                                                         "cost_col", "budget", "site_capacity_col", "time_limit_s",
                                                         "exclude")}
    return StudyConfig.build(data, names=CLI_NAMES)


def _default_cache_dir() -> Path:
    from platformdirs import user_cache_dir  # lazy: only when used (faster start)

    return Path(user_cache_dir("carecircle"))


# ------------------------------------------------------------------------------------ logging, progress


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.WARNING
    if getattr(args, "verbose", False):
        level = logging.INFO
    if getattr(args, "quiet", False):
        level = logging.ERROR
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_carecircle", False):
            root.removeHandler(h)
    if sys.stderr.isatty():
        from rich.logging import RichHandler  # lazy: only when used (faster start)

        handler: logging.Handler = RichHandler(show_path=False, show_time=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("carecircle: %(levelname)s: %(message)s"))
    handler._carecircle = True
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, level))
    for name in ("carecircle", "pyrosm", "osmnx"):
        logging.getLogger(name).setLevel(level)


def _progress(args: argparse.Namespace):
    """A context yielding a progress callback (see :data:`carecircle.core.network.Progress`): on a terminal, a rich
    spinner with the current step, and a bar with counts for long steps; silence when piped or ``--quiet``."""
    if args.quiet or not sys.stderr.isatty():
        return nullcontext(lambda *_args: None)
    return _ProgressDisplay()


class _ProgressDisplay:
    def __init__(self, console=None):
        from rich.console import Console  # lazy: only when used (faster start)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=console or Console(stderr=True), transient=True)
        self._task = None

    def __enter__(self):
        self._bar.__enter__()
        self._task = self._bar.add_task("Starting", total=None)
        return self.update

    def update(self, step: str, done: int | None = None, total: int | None = None) -> None:
        self._bar.update(self._task, description=step, completed=done or 0, total=total)

    def __exit__(self, *exc):
        return self._bar.__exit__(*exc)


if __name__ == "__main__":
    sys.exit(main())
