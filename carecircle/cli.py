"""Command line: the parser, logging and one line per error; the commands are in :mod:`carecircle.commands`.

The parser is built from :mod:`carecircle.defaults` alone, so ``carecircle --help`` starts without geopandas,
scipy or folium; the commands load once one runs. Each :class:`~carecircle.errors.CarecircleError` becomes one
line on stderr and the exit code of its class (:data:`carecircle.errors.EXIT_CODES`); the traceback is shown only
with ``--debug``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from carecircle.defaults import (
    ACCESS_METHODS,
    ACCESS_PER,
    BATCH_EXECUTORS,
    DEFAULT_BAND_WEIGHTS,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_NEW_SITES,
    DEFAULT_SPACING_M,
    DEFAULT_SUPPLY_COL,
    DEFAULT_TIME_LIMIT_S,
    DEMAND_METHODS,
    EXIT_SOME_FAILED,
    LANGS,
    SPEED_PRESETS_MPS,
    SUGGEST_METHODS,
    check_max_snap_m,
    check_minutes,
    check_share,
    check_walk_speed,
)
from carecircle.errors import EXIT_CODES, CarecircleError, InputError, exit_code
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
        if args.command == "run" and args.scenarios:
            _refuse_options_scenarios_ignore(args, parser)
        from carecircle import commands  # lazy: geopandas, scipy and folium load only once a command runs

        return getattr(commands, args.func)(args)
    except CarecircleError as exc:
        if args.debug:
            raise
        print(f"carecircle: error: {exc}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        print("carecircle: interrupted; no results were written.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `carecircle run | head`: the reader stopped listening; the results are written
        sys.stdout = open(os.devnull, "w")  # Python flushes stdout at exit: let that flush go nowhere
        return 141
    except Exception as exc:  # a bug: say so in one line, keep the traceback for --debug
        if args.debug:
            raise
        print(f"carecircle: internal error: {type(exc).__name__}: {exc}; rerun with --debug and report it.",
              file=sys.stderr)
        return INTERNAL_ERROR


#: Options of `run` that still apply with scenario files; every other one belongs in the scenario.
_SCENARIO_CLI_KEYS = {"scenarios", "command", "func", "output", "cache_dir", "no_cache", "quiet", "verbose", "debug"}


def _refuse_options_scenarios_ignore(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    defaults = vars(parser.parse_args(["run"]))
    ignored = [k for k, v in vars(args).items()
               if k in defaults and k not in _SCENARIO_CLI_KEYS and v != defaults[k]]
    if ignored:
        flags = ", ".join("--" + k.replace("_", "-") for k in sorted(ignored))
        raise InputError(f"{flags} cannot be combined with scenario files; set them in the scenario instead "
                         "(see `carecircle init`), or run without scenario files.")


# ----------------------------------------------------------------------------------------------- parser


def _parser() -> argparse.ArgumentParser:
    """The command line's parser: built from :mod:`carecircle.defaults` only, so ``--help`` is quick."""
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
        epilog=_exit_codes(),
    )
    run.set_defaults(func="run")
    run.add_argument("scenarios", nargs="*", type=Path, metavar="SCENARIO.yaml",
                     help="scenario files to run (see `carecircle init`); without them the options below apply")
    calc = _add_study_args(run)
    calc.add_argument("--no-isochrones", action="store_true", help="skip isochrone polygons (faster)")
    calc.add_argument("--merged-isochrones-only", action="store_true",
                      help="draw only the merged isochrones, not one per facility")
    _add_access_args(run)

    _add_output_args(run, "maps/<study>[-<standard>][-<lang>]/ (the language only when not the profile's, else en; "
                     "an existing folder's results are replaced, and the console says so)")

    suggest = sub.add_parser(
        "suggest",
        help="suggest where new facilities close the coverage gaps",
        description="Choose new facility sites, existing facilities kept: the best N for coverage (mclp), the "
        "fewest to reach a target (set-cover) or the N with least walking time (p-median); writes report.html, "
        "map.html, map.png, sites.csv, curve.csv, communities.csv and summary.json.",
        epilog=_exit_codes(),
    )
    # The existing facilities' merged walking areas are drawn under the new sites' on the maps.
    suggest.set_defaults(func="suggest_sites", no_isochrones=False, merged_isochrones_only=True)
    calc = _add_study_args(suggest)
    calc.add_argument("--method", choices=SUGGEST_METHODS,
                      help=f"what to optimise (default: {SUGGEST_METHODS[0]})")
    calc.add_argument("--new-sites", type=int, metavar="N",
                      help=f"sites to add (mclp, p-median; default: {DEFAULT_NEW_SITES}); fewer come back, with "
                      "the reason, when no further candidate adds coverage")
    calc.add_argument("--candidates", type=Path, metavar="FILE",
                      help="candidate sites (points); default: a grid of network points inside the communities")
    calc.add_argument("--spacing-m", type=float, metavar="M",
                      help=f"spacing of generated candidates (default: {DEFAULT_SPACING_M:g})")
    calc.add_argument("--cost-col", metavar="COL", help="candidate cost column (with --budget)")
    calc.add_argument("--budget", type=float, metavar="AMOUNT", help="total budget for new sites (mclp)")
    calc.add_argument("--site-capacity-col", metavar="COL", help="candidate column: elderly a new site can serve")
    calc.add_argument("--time-limit-s", type=float, metavar="S",
                      help=f"solver time limit, seconds (default: {DEFAULT_TIME_LIMIT_S:g})")
    calc.add_argument("--exclude", type=Path, metavar="FILE", help="polygons where no new site may go")
    _add_access_args(suggest)
    _add_output_args(suggest, "maps/<study>-suggest-<method>[-<standard>][-<lang>]/, e.g. "
                     "maps/helsinki-suggest-mclp/ (an existing folder's results are replaced, and the console says so)")

    init = sub.add_parser("init", help="write a commented example scenario to start from",
                          description="Write a commented example scenario (YAML) that runs on the bundled demo.")
    init.set_defaults(func="init", quiet=False, verbose=False, debug=False)
    init.add_argument("path", nargs="?", type=Path, default=Path("scenario.yaml"),
                      help="where to write it (default: %(default)s; an existing file is never overwritten)")
    init.add_argument("--debug", action="store_true", help="show tracebacks")

    std = sub.add_parser("standards", help="list the bundled standards profiles, or the targets of one",
                         description="List the bundled standards profiles (--standard NAME), or one profile's targets; "
                         "--copy writes a bundled profile to a file of yours to edit (e.g. for your city's plan).",
                         epilog="Example: carecircle standards --copy qiqihar-2025 my-city.yaml, edit it, then "
                         "carecircle run --standard my-city.yaml")
    std.set_defaults(func="standards", quiet=False, verbose=False)
    std.add_argument("name", nargs="?", help="a profile id or YAML file to show")
    std.add_argument("--copy", nargs=2, metavar=("NAME", "FILE"),
                     help="copy the bundled profile NAME to FILE to edit (an existing FILE is never overwritten)")
    std.add_argument("--lang", choices=LANGS, default="en", help="names in English or Chinese")
    std.add_argument("--debug", action="store_true", help="show tracebacks")

    comp = sub.add_parser("compare", help="compare a baseline scenario with a plan",
                          description="Run two scenarios and write report.html, map.html and map.png (what "
                          "changes: communities coloured by the change in coverage, newly covered elderly, added "
                          "and removed facilities), summary.json and side-by-side and difference tables (per "
                          "community, subdistrict, compliance rows that flip); the console shows coverage per "
                          "threshold (changes in percentage points) and the targets that flip.",
                          epilog=_exit_codes())
    comp.set_defaults(func="compare_scenarios")
    comp.add_argument("base", type=Path, metavar="BASE.yaml", help="the baseline scenario")
    comp.add_argument("plan", type=Path, metavar="PLAN.yaml", help="the plan scenario")
    comp.add_argument("--cache-dir", type=Path, default=_default_cache_dir(), metavar="DIR",
                      help="where built networks are cached (default: %(default)s)")
    comp.add_argument("--no-cache", action="store_true", help="neither read nor write the network cache")
    _add_output_args(comp, "maps/compare-<base>-<plan>[-<lang>]/ (the language only when --lang differs from the "
                     "plan's; an existing folder's results are replaced, and the console says so)")

    batch = sub.add_parser(
        "batch",
        help="run many regions × scenarios at once on Dask (resumable; one failure never stops the rest)",
        description="Run every region of batch files (regions × scenarios × speeds × standards) and every scenario "
        "file, one region per unit of work on a dask.distributed cluster (a local one by default) or serially. Each "
        "task writes DIR/<region>/<variation>/ (and DIR/<region>/compare-<variation>/ against the region's first); "
        "DIR/summary.csv, summary.xlsx and index.html rank them; DIR/manifest.json records each task's input "
        "hashes, options, status, outputs and timings, so a rerun skips what is done and unchanged.",
        epilog=f"Exit codes: 0 every task done, {EXIT_SOME_FAILED} some tasks failed (the others finished; see "
        "summary.csv or index.html); the batch could not start: " + _exit_codes(head=False),
    )
    batch.set_defaults(func="batch")
    batch.add_argument("sources", nargs="+", type=Path, metavar="FILE.yaml",
                       help="batch files (with regions: and variations:) and/or scenario files")
    batch.add_argument("--output", type=Path, required=True, metavar="DIR", help="the batch folder")
    run_on = batch.add_argument_group("where it runs")
    run_on.add_argument("--executor", choices=BATCH_EXECUTORS, default=BATCH_EXECUTORS[0],
                        help="dask: a dask.distributed cluster; serial: one region after another in this process, "
                        "for debugging (same files) (default: %(default)s)")
    run_on.add_argument("--workers", type=_count, metavar="N",
                        help="worker processes of the local cluster (default: the cores, at most 8)")
    run_on.add_argument("--memory-limit", metavar="SIZE",
                        help="memory per worker of the local cluster, e.g. 4GB (default: the machine's, shared)")
    run_on.add_argument("--scheduler", metavar="ADDRESS",
                        help="an existing Dask scheduler, e.g. tcp://host:8786 (default: Dask's configured "
                        "scheduler-address, else a local cluster)")
    vary = batch.add_argument_group("variations crossed with every task")
    vary.add_argument("--speeds", type=_speeds, metavar="S,S", help="walking speeds: presets or m/s, e.g. slow,typical")
    vary.add_argument("--standards", type=_names, metavar="NAME,NAME", help="standards profiles, e.g. "
                      "gb50180-2018,qitaihe-2020")
    batch.add_argument("--rerun", action="store_true", help="run every task, even those done and unchanged")
    batch.add_argument("--no-compare", action="store_true",
                       help="do not compare each region's variations with its first")
    batch.add_argument("--cache-dir", type=Path, default=_default_cache_dir(), metavar="DIR",
                       help="where built networks are cached, shared by the workers (default: %(default)s)")
    batch.add_argument("--no-cache", action="store_true", help="neither read nor write the network cache")
    batch.add_argument("--title", help="heading of index.html")
    batch.add_argument("--lang", choices=LANGS, default=None,
                       help="language of the console summary (default: en; each task's outputs keep its scenario's)")
    batch.add_argument("--quiet", action="store_true", help="no progress; print only the index page's path")
    batch.add_argument("--verbose", action="store_true", help="log every step")
    batch.add_argument("--debug", action="store_true", help="show tracebacks")
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
    data.add_argument("--demand-method", choices=DEMAND_METHODS,
                      help=f"how community population is placed inside it (default: "
                      f"{DEMAND_METHODS[0]})")
    data.add_argument("--subdistricts", type=Path, metavar="FILE",
                      help="subdistrict (街道) polygons with a name column; communities are assigned by location")
    data.add_argument("--population-raster", type=Path, nargs="+", metavar="TIF",
                      help="place the elderly from population rasters (GeoTIFF; every band of every file summed, e.g. "
                      "WorldPop's 60+ bands) by exact partial-pixel shares of the communities")
    data.add_argument("--no-raster-scale", dest="raster_scale", action="store_false",
                      help="keep the raster's numbers instead of scaling them to the communities' 60+ totals")
    data.add_argument("--type-map", type=Path, metavar="FILE",
                      help="your facility type names mapped to carecircle's: a two-column table name,type (CSV or "
                      "Excel), looked up before the built-in names")
    data.add_argument("--sheet", metavar="NAME", help="the sheet of Excel inputs to read (name or number from 0; "
                      "default: the first)")
    data.add_argument("--facilities-sheet", metavar="NAME", help="the facilities workbook's sheet (overrides --sheet)")
    data.add_argument("--demand-sheet", metavar="NAME", help="the demand workbook's sheet (overrides --sheet)")
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
    limits = calc.add_mutually_exclusive_group()
    limits.add_argument("--minutes", type=_minutes, default=None, metavar="M,M,M",
                        help="walking-time thresholds in minutes (default: the profile's, else 5,10,15)")
    limits.add_argument("--distance", type=_metres, default=None, metavar="M,M,M",
                        help="walking-distance thresholds in metres instead, as GB 50180 writes the life circles, "
                        "e.g. 300,500,1000 (minutes = metres / 60 / speed; every label says metres)")
    calc.add_argument("--speed", type=_speed_list, metavar="M/S[,M/S]",
                      help="walking speed in m/s or a preset: " + ", ".join(
                          f"{k}={v}" for k, v in SPEED_PRESETS_MPS.items()) + " (default: typical). Several "
                      "(0.8,1.0,1.2 or slow,typical,brisk; `run` only) also write the coverage at each speed "
                      "(sensitivity.csv, a chart in the report); the maps and tables use the first speed")
    calc.add_argument("--target", type=_share, default=None, metavar="SHARE",
                      help="coverage share each community should reach at the largest threshold "
                      "(default: the profile's, else 0.9)")
    calc.add_argument("--walk-model", choices=("plain", "older"), default=None,
                      help="plain: every street at the walking speed (default); older: stairs, waits at crossings "
                      "of major roads, closed gates (see the README)")
    calc.add_argument("--avoid-steps", action="store_true", help="stairs are impassable (wheelchairs, walkers)")
    calc.add_argument("--dem", type=Path, metavar="TIF",
                      help="a digital elevation model (GeoTIFF): uphill slower, gently downhill faster (Tobler)")
    calc.add_argument("--max-snap-m", type=_positive, metavar="M",
                      help="largest allowed distance from a point to the network, metres (default: "
                      f"{DEFAULT_MAX_SNAP_M:g})")
    return calc


def _add_access_args(parser: argparse.ArgumentParser) -> None:
    acc = parser.add_argument_group(
        "capacity-aware accessibility (two-step floating catchment area)",
        f"Supply each elderly person can reach, shared with everyone else who reaches the same facilities, per "
        f"{ACCESS_PER:,} elderly; with Gini, Lorenz curve and need/supply mismatch per community.")
    acc.add_argument("--accessibility", choices=ACCESS_METHODS, metavar="METHOD",
                     help=f"{', '.join(ACCESS_METHODS)}: enhanced (stepwise weights per threshold band), Gaussian or "
                     "classic 2SFCA (off unless given or --supply-col is given)")
    acc.add_argument("--access-population", choices=("elderly", "children"), default=None,
                     help="whose accessibility: the elderly to elder-care facilities (default) or children 0–3 to "
                     "childcare (一老一小; needs the communities' 0–3 population)")
    acc.add_argument("--supply-col", metavar="COL",
                     help=f"facility column counted as supply: capacity, beds, nursing_beds, floor_area_m2 … "
                     f"(default: {DEFAULT_SUPPLY_COL})")
    acc.add_argument("--catchment-min", type=float, metavar="MIN",
                     help="one catchment for every facility, minutes (default: each type's threshold, "
                     "at most the largest)")
    acc.add_argument("--band-weights", type=_numbers, metavar="W,W,W",
                     help="enhanced 2SFCA weights, one per threshold band (default: "
                     f"{','.join(f'{w:g}' for w in DEFAULT_BAND_WEIGHTS)})")
    acc.add_argument("--access-level", type=float, metavar="N",
                     help=f"judge scores against N per {ACCESS_PER:,} elderly (default: the profile's beds target "
                     "with --supply-col beds, else the study-wide average)")


def _add_output_args(parser: argparse.ArgumentParser, default_folder: str) -> None:
    out = parser.add_argument_group("output")
    out.add_argument("--output", type=Path, metavar="DIR", help=f"results folder (default: {default_folder})")
    out.add_argument("--lang", choices=LANGS, default=None,
                     help="language of the console summary, map, report and table headers (default: the profile's, "
                     "else en)")
    out.add_argument("--title", help="map title")
    out.add_argument("--quiet", action="store_true", help="no progress; print only the map path")
    out.add_argument("--verbose", action="store_true", help="log every step with its time")
    out.add_argument("--debug", action="store_true", help="show tracebacks")


#: What each exit code means, for the help texts (the codes themselves are :data:`carecircle.errors.EXIT_CODES`).
_EXIT_MEANINGS = {"SnapError": "snap error (points too far from the walking network)",
                  "InputError": "input error (a file, column or value to fix)",
                  "NetworkError": "network error (the walking network could not be read or downloaded)",
                  "OutputError": "output error (the results could not be written)",
                  "CarecircleError": "other error"}


def _exit_codes(*, head: bool = True) -> str:
    codes = sorted((code, _EXIT_MEANINGS.get(cls.__name__, cls.__name__)) for cls, code in EXIT_CODES.items())
    codes += [(2, "usage error (the options)"), (INTERNAL_ERROR, "internal error (a bug; rerun with --debug)")]
    parts = (["0 done"] if head else []) + [f"{code} {what}" for code, what in sorted(codes)]
    return ("Exit codes: " if head else "") + "; ".join(parts) + "."


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


def _numbers(text: str) -> list[float]:
    try:
        return [float(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of numbers such as 1,0.68,0.22") from exc


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


def _speed_list(text: str) -> tuple[float, ...]:
    values = tuple(_speed(part) for part in text.replace(" ", "").split(",") if part)
    if not values:
        raise argparse.ArgumentTypeError("give a speed, e.g. 1.0 or typical, or several, e.g. 0.8,1.0,1.2")
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"speeds repeat: {text}")
    return values


def _metres(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(t) for t in text.replace(" ", "").split(",") if t)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of metres such as 300,500,1000") from exc
    if not values or any(not v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: give distances above 0 metres, e.g. 300,500,1000")
    return values


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} workers cannot run anything; give 1 or more")
    return value


def _speeds(text: str) -> list[str | float]:
    out: list[str | float] = []
    for part in (t for t in text.replace(" ", "").split(",") if t):
        value = _speed(part)
        out.append(part if part in SPEED_PRESETS_MPS else value)
    if not out:
        raise argparse.ArgumentTypeError("give at least one speed, e.g. slow,typical or 0.8,1.0")
    return out


def _names(text: str) -> list[str]:
    out = [t.strip() for t in text.split(",") if t.strip()]
    if not out:
        raise argparse.ArgumentTypeError("give at least one name")
    return out


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
    handler.addFilter(_own_info)
    root.setLevel(min(root.level or logging.WARNING, level))
    logging.getLogger("carecircle").setLevel(level)
    for name in _THIRD_PARTY_LOGGERS:  # their internals are not the planner's business: warnings only
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


#: Libraries whose INFO/DEBUG lines --verbose does not show.
_THIRD_PARTY_LOGGERS = ("pyrosm", "osmnx", "fiona", "pyogrio", "rasterio", "matplotlib", "PIL", "urllib3",
                        "requests", "shapely", "numba", "distributed", "dask", "asyncio", "highspy", "pulp", "h5py")


def _own_info(record: logging.LogRecord) -> bool:
    """Show carecircle's own lines at every level, other libraries' from WARNING up."""
    return record.name == "carecircle" or record.name.startswith("carecircle.") or record.levelno >= logging.WARNING


if __name__ == "__main__":
    sys.exit(main())
