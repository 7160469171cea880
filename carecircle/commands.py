"""The CLI's commands: each turns parsed flags into a study configuration, runs it, prints what a planner reads.

:mod:`carecircle.cli` parses the command line with nothing heavy imported and calls one function here.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path

from carecircle.batch import run_batch
from carecircle.config import COLUMN_KEYS, InputsSpec, StudyConfig, SuggestSpec, safe_name
from carecircle.core.network import check_bbox
from carecircle.defaults import EXIT_SOME_FAILED
from carecircle.errors import InputError
from carecircle.outputs.comparison import write_comparison
from carecircle.outputs.export import write_suggestion
from carecircle.pipeline import prepare, read_suggestion_inputs, suggest
from carecircle.plan.compare import compare
from carecircle.plan.standards import list_profiles, load_profile
from carecircle.runner import run_scenario
from carecircle.scenario import load_scenarios, write_example


def run(args: argparse.Namespace) -> int:
    if args.scenarios:
        return run_scenarios(args)
    config = _config(args)
    with _progress(args) as progress:
        run = run_scenario(config, out_dir=args.output or Path("maps") / config.area_value.name(),
                           cache_dir=None if args.no_cache else args.cache_dir, progress=progress)
    _report(run.study, run.written, quiet=args.quiet)
    return 0


def suggest_sites(args: argparse.Namespace) -> int:
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
    access = sug.accessibility
    if access is not None:
        print(f"  accessibility before new sites: average {access['access_mean'].iloc[0]:,.1f} per 1,000 elderly, "
              f"Gini {access['access_gini'].iloc[0]:.3f}, {access['access_below'].iloc[0]:,.0f} elderly below the "
              "level")
    for _, row in sug.sites.iterrows():
        line = (f"  {int(row['rank']):>3}. {row.get('candidate_id', row.get('facility_id'))}  +{row['gain']:,.0f} "
                f"elderly  → {row['share_after']:.1%}")
        if access is not None:
            guess = " (a typical facility's, estimated)" if access["site_supply_estimated"].iloc[-1] else ""
            line += (f";  supply {row['access_supply']:,.0f}{guess}: average {row['access_mean_after']:,.1f}, Gini "
                     f"{row['access_gini_after']:.3f}, {row['access_below_after']:,.0f} below the level")
        print(line)
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


def run_scenarios(args: argparse.Namespace) -> int:
    """``carecircle run a.yaml b.yaml``: every file is checked before any work starts, then each is run."""
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


def init(args: argparse.Namespace) -> int:
    path = write_example(args.path)
    print(f"Wrote {path}; edit it, then run: carecircle run {path}")
    return 0


def compare_scenarios(args: argparse.Namespace) -> int:
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
    if cmp.accessibility is not None:
        a = cmp.accessibility.set_index("measure")
        per = f"per {runs[0].study.accessibility.summary['per']:,} elderly"
        print(f"  accessibility ({runs[0].study.accessibility.method}, {runs[0].study.accessibility.supply_col}): "
              f"average {a.loc['mean', 'base']:,.1f} → {a.loc['mean', 'plan']:,.1f} {per}; Gini "
              f"{a.loc['gini', 'base']:.3f} → {a.loc['gini', 'plan']:.3f}; below the level "
              f"{a.loc['share_below_level', 'base']:.1%} → {a.loc['share_below_level', 'plan']:.1%}")
    print(f"Results in {folder}/: " + ", ".join(written))
    return 0


def batch(args: argparse.Namespace) -> int:
    """``carecircle batch``: many regions × variations, resumable; exit code 8 when some tasks failed."""

    def cluster(text: str) -> None:
        if not args.quiet:
            print(f"Running on {text}", file=sys.stderr, flush=True)

    with _progress(args) as progress:
        result = run_batch(args.sources, args.output, executor=args.executor, scheduler=args.scheduler,
                           workers=args.workers, memory_limit=args.memory_limit, speeds=args.speeds,
                           standards=args.standards, cache_dir=None if args.no_cache else args.cache_dir,
                           rerun=args.rerun, compare=not args.no_compare, title=args.title, progress=progress,
                           on_cluster=cluster)
    table = result.summary
    failed = table[table["status"] == "failed"]
    folder = result.folder
    if args.quiet:
        print(folder / "index.html")
        return EXIT_SOME_FAILED if len(failed) else 0
    regions = table["region"].nunique()
    tasks = f"{len(table)} task{'s' if len(table) != 1 else ''}"
    print(f"Batch of {tasks} in {regions} region{'s' if regions != 1 else ''}: {len(result.ran)} run now, "
          f"{len(result.skipped)} skipped (done and unchanged), {len(failed)} failed")
    shares = [c for c in table.columns if c.startswith("share_") and c != "share_after_new_sites"]
    top = max(shares, key=lambda c: float(c.removeprefix("share_"))) if shares else None
    done = table[table["status"] == "done"].sort_values("rank", kind="mergesort")
    if top is not None and len(done):
        print(f"  {'rank':>4}  {'region / variation':<36} within {top.removeprefix('share_')} min  targets met  "
              "new sites")
        for _, row in done.head(30).iterrows():
            name = f"{row['region']} / {row['variation']}"
            targets = "" if _missing(row.get("targets_met")) else \
                f"{int(row['targets_met'])} of {int(row['targets_met']) + int(row['targets_not_met'])}"
            sites = "" if _missing(row.get("new_sites")) else \
                f"{int(row['new_sites'])} → {row['share_after_new_sites']:.1%}"
            share = "n/a" if _missing(row.get(top)) else f"{row[top]:.1%}"
            print(f"  {int(row['rank']):>4}  {name:<36} {share:>13}  {targets:>11}  {sites}")
        if len(done) > 30:
            print(f"  … {len(done) - 30} more in summary.csv")
    for _, row in failed.iterrows():
        print(f"  failed  {row['region']} / {row['variation']}: {row['error']}")
    print(f"Summary: {folder / 'summary.csv'}, {folder / 'summary.xlsx'}; manifest: {folder / 'manifest.json'}")
    print(f"Open the index: {folder / 'index.html'}")
    if len(failed):
        print(f"{len(failed)} of {tasks} failed (exit code {EXIT_SOME_FAILED}); fix them and run the same "
              "command again: only the failed and changed tasks run.", file=sys.stderr)
    return EXIT_SOME_FAILED if len(failed) else 0


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def standards(args: argparse.Namespace) -> int:
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
    metres = study.distances_m
    for i, (lab, share) in enumerate(s["share"].items()):
        pct = "n/a" if share is None else f"{share:6.1%}"
        within = f"{metres[i]:>5g} m" if metres else f"{lab:>4} min"
        print(f"  within {within}: {pct}  ({s['covered'][lab]:,.0f} covered, {s['uncovered'][lab]:,.0f} not)")
    _report_sensitivity(study)
    below = s["communities_below_target"]
    if below:
        what = "community" if len(below) == 1 else "communities"
        print(f"  {len(below)} {what} below the {s['target_share']:.0%} target: {', '.join(below[:10])}"
              + (" …" if len(below) > 10 else ""))
    if s.get("off_network_points"):
        print(f"  {s['off_network_points']} demand points lie too far from the network and count as not covered")
    _report_accessibility(study)
    _report_compliance(study)
    if study.note:
        print(f"  Note: {study.note}")
    print(f"Results in {folder}/: " + ", ".join(written))
    print(f"Open the report: {folder / 'report.html'}  (map alone: {folder / 'map.html'})")


def _report_sensitivity(study) -> None:
    table = study.sensitivity
    if table is None or not len(table):
        return
    top = table.groupby("speed_mps", sort=False).tail(1)
    within = f"{top['metres'].iloc[0]:g} m" if study.distances_m else f"{top['minutes'].max():g} min"
    figures = ", ".join(f"{r.share:.1%} at {r.speed_mps:.{1 if round(r.speed_mps, 1) == r.speed_mps else 2}f} m/s"
                        for r in top.itertuples())
    print(f"  coverage within {within} (largest threshold; at each speed): {figures}")


def _report_accessibility(study) -> None:
    access = study.accessibility
    if access is None:
        return
    a = access.summary
    who = "children aged 0–3" if a.get("population") == "children" else "elderly"
    level = {"target": "the standard's target", "given": "the given level",
             "mean": "the study-wide average"}[a["level_source"]]
    print(f"  Accessibility ({a['method']}, supply: {a['supply_col']}): {a['mean']:,.1f} per {a['per']:,} {who} on "
          f"average, median {a['median']:,.1f}; Gini {a['gini']:.2f}")
    print(f"    {a['share_below_level']:.1%} of the {who} ({a['elderly_below_level']:,.0f}) reach less than "
          f"{a['level']:,.1f} per {a['per']:,} ({level}); {a['elderly_no_access']:,.0f} reach none")
    com = access.communities
    if len(com):
        short = com[com["mismatch"] == "high_need_low_access"].sort_values("access")
        if len(short):
            print(f"    many {who}, little supply: {', '.join(short['community_id'].astype(str).head(10))}"
                  + (" …" if len(short) > 10 else ""))
    if a["facilities_unreached"]:
        print(f"    no {who} within the catchment of: {', '.join(a['facilities_unreached'][:10])}")


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
    "walking.max_snap_m": "--max-snap-m",
    "walking.model": "--walk-model", "walking.dem": "--dem", "thresholds_min": "--minutes", "target_share": "--target",
    "distances_m": "--distance", "walking.sensitivity_speeds": "--speed",
    "standard": "--standard", "outputs.lang": "--lang", "facilities.crs": "--crs",
    **{f"inputs.{k}": "--" + k.replace("_", "-") for k in InputsSpec.model_fields},
    **{f"columns.{k}": "--" + k.replace("_", "-") for k in COLUMN_KEYS},
    **{f"suggest.{k}": "--" + k.replace("_", "-") for k in SuggestSpec.model_fields},
    "suggest.capacity_col": "--site-capacity-col",
    "accessibility.method": "--accessibility", "accessibility.supply_col": "--supply-col",
    "accessibility.catchment_min": "--catchment-min", "accessibility.band_weights": "--band-weights",
    "accessibility.level": "--access-level",
}


def _config(args: argparse.Namespace, *, suggest: bool = False) -> StudyConfig:
    """The study configuration of ``run``/``suggest`` flags; an option left out takes the configuration's default."""
    area = {"network": args.network, "place": args.place, "bbox": _bbox(args.bbox), "polygon": args.polygon}
    speeds = tuple(args.speed or ())
    if suggest and len(speeds) > 1:
        raise InputError(f"--speed {','.join(f'{v:g}' for v in speeds)}: `suggest` chooses sites at one walking "
                         "speed; give one (several speeds are for `run`).")
    data = {
        "area": area if any(v is not None for v in area.values()) else None,
        "inputs": {k: getattr(args, k) for k in InputsSpec.model_fields},
        "columns": {k: getattr(args, k) for k in COLUMN_KEYS},
        "facilities": {"crs": args.crs},
        "walking": {"speed_mps": speeds[0] if speeds else None, "max_snap_m": args.max_snap_m,
                    "model": args.walk_model, "avoid_steps": args.avoid_steps, "dem": args.dem,
                    "sensitivity_speeds": list(speeds) if len(speeds) > 1 else None},
        "thresholds_min": list(args.minutes) if args.minutes else None,
        "distances_m": list(args.distance) if args.distance else None,
        "target_share": args.target,
        "standard": args.standard,
        "outputs": {"lang": args.lang, "title": args.title, "isochrones": not args.no_isochrones,
                    "per_facility_isochrones": not args.merged_isochrones_only},
    }
    access = {key: getattr(args, flag, None) for key, flag in (
        ("method", "accessibility"), ("population", "access_population"), ("supply_col", "supply_col"),
        ("catchment_min", "catchment_min"),
        ("band_weights", "band_weights"), ("level", "access_level"))}
    if any(v is not None for v in access.values()):
        data["accessibility"] = access
    if suggest:
        data["suggest"] = {k: getattr(args, k) for k in ("method", "new_sites", "candidates", "spacing_m",
                                                         "cost_col", "budget", "site_capacity_col", "time_limit_s",
                                                         "exclude")}
    return StudyConfig.build(data, names=CLI_NAMES)


# ------------------------------------------------------------------------------------------------- progress


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
