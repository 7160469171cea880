"""The CLI's commands: each turns parsed flags into a study configuration, runs it, prints what a planner reads.

:mod:`carecircle.cli` parses the command line with nothing heavy imported and calls one function here.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import unicodedata
from contextlib import nullcontext
from importlib import resources
from pathlib import Path

from carecircle.batch import run_batch
from carecircle.config import COLUMN_KEYS, InputsSpec, StudyConfig, SuggestSpec, safe_name
from carecircle.core.network import check_bbox
from carecircle.defaults import ACCESS_PER, DEFAULT_LANG, EXIT_SOME_FAILED
from carecircle.errors import InputError
from carecircle.formats import fmt_covered, fmt_uncovered, person_flows
from carecircle.outputs.comparison import flip_order, share_texts, write_comparison
from carecircle.outputs.export import write_suggestion
from carecircle.outputs.files import write_new_text
from carecircle.outputs.i18n import ACCESS_TERMS, CONSOLE_LABELS, access_term, in_language
from carecircle.outputs.tables import unit_names
from carecircle.pipeline import prepare, read_suggestion_inputs, suggest
from carecircle.plan.compare import compare
from carecircle.plan.standards import list_profiles, load_profile
from carecircle.runner import run_scenario
from carecircle.scenario import load_scenarios, write_example

log = logging.getLogger("carecircle")


def run(args: argparse.Namespace) -> int:
    if args.scenarios:
        return run_scenarios(args)
    config = _config(args)
    out_dir = args.output or default_folder(config)
    replacing = _has_results(out_dir)
    with _progress(args) as progress:
        run = run_scenario(config, out_dir=out_dir, cache_dir=None if args.no_cache else args.cache_dir,
                           progress=progress)
    _report(run.study, run.written, quiet=args.quiet, replaced=replacing)
    return 0


def default_folder(config: StudyConfig, *parts: str) -> Path:
    """The default results folder: ``maps/<study>[-<parts>][-<standard>][-<lang>]``, the language only when it is
    not the default one (the profile's, else English), so runs with another method, standard or language keep
    their own folders."""
    name = [config.area_value.name(), *parts]
    profile = config.profile
    if profile is not None:
        name.append(profile.id)
    default_lang = profile.lang if profile is not None else DEFAULT_LANG
    if config.lang != default_lang:
        name.append(config.lang)
    return Path("maps") / safe_name("-".join(name))


def _has_results(folder: Path) -> bool:
    try:
        return Path(folder).is_dir() and any(Path(folder).iterdir())
    except OSError:
        return False


def suggest_sites(args: argparse.Namespace) -> int:
    config = _config(args, suggest=True)
    extra = read_suggestion_inputs(config)  # checked before the heavy work
    out_dir = args.output or default_folder(config, "suggest", config.suggest.method)
    replacing = _has_results(out_dir)
    with _progress(args) as progress:
        study = prepare(config, cache_dir=None if args.no_cache else args.cache_dir, progress=progress)
        progress("Choosing new sites")
        sug = suggest(config, study, inputs=extra, progress=progress)
        progress("Writing map and tables")
        written = write_suggestion(sug, study, out_dir, lang=config.lang, title=args.title)
    folder = next(iter(written.values())).parent
    if args.quiet:
        print(folder / "map.html")
        return 0
    L = _labels(config.lang)
    lab = f"{sug.minutes:g}"
    sol = sug.solution
    before, after = sug.before.summary["share"][lab], sug.after.summary["share"][lab]
    before_t, after_t = _pcts(before, after)
    print(L["suggest_head"].format(name=study.name, method=L.get(f"method_{sug.method}", sug.method),
                                   n=len(sug.sites), candidates=f"{sug.n_candidates:,}", m=lab, before=before_t,
                                   after=after_t))
    spec = config.suggest
    if sug.method == "set-cover":
        if not len(sug.sites) and before >= config.target - 1e-9:
            print(L["target_met"].format(target=_share_text(config.target), share=before_t, m=lab))
    elif len(sug.sites) < spec.new_sites:
        uncovered = sug.after.summary["uncovered"][lab]
        if uncovered < 0.5:
            why = L["why_all"].format(m=lab)
        elif spec.budget is not None:
            why = L["why_budget"].format(budget=f"{spec.budget:,.0f}")
        else:
            why = L["why_none"].format(uncovered=_people_up(uncovered), m=lab)
        print(L["fewer"].format(n=len(sug.sites), asked=spec.new_sites, why=why))
    access = sug.accessibility
    per = f"{ACCESS_PER:,}"
    if access is not None:
        print(L["sug_access"].format(mean=f"{access['access_mean'].iloc[0]:,.1f}", per=per,
                                     gini=f"{access['access_gini'].iloc[0]:.3f}",
                                     below=f"{access['access_below'].iloc[0]:,.0f}"))
    shares = _pcts(before, *sug.sites["share_after"]) if len(sug.sites) else []
    pmedian = "minutes_saved" in sug.sites.columns and sug.method == "p-median"
    for i, (_, row) in enumerate(sug.sites.iterrows()):
        ident = row.get("candidate_id", row.get("facility_id"))
        gain = f"{row['gain']:,.0f}"
        if pmedian:
            line = L["site_pmedian"].format(rank=int(row["rank"]), id=ident, saved=f"{row['minutes_saved']:,.0f}",
                                            gain=gain, m=lab, share=shares[i + 1])
        else:
            line = L["site"].format(rank=int(row["rank"]), id=ident, gain=gain, share=shares[i + 1])
        if access is not None:
            guess = L["estimated"] if access["site_supply_estimated"].iloc[-1] else ""
            line += L["sug_access_site"].format(supply=f"{row['access_supply']:,.0f}", guess=guess,
                                                mean=f"{row['access_mean_after']:,.1f}",
                                                gini=f"{row['access_gini_after']:.3f}",
                                                below=f"{row['access_below_after']:,.0f}")
        print(line)
    if pmedian and len(sug.sites) and (sug.sites["gain"] < 0.5).any():
        print(L["pmedian_note"])
    print(L["solver"].format(method=L.get(f"sol_{sol.method}", sol.method),
                             status=L.get(f"sol_{sol.status}", sol.status), gap=f"{sol.gap:.2%}",
                             time=f"{sol.time_s:.1f}"))
    print(L["results"].format(folder=folder, files=L["list_sep"].join(written)))
    if replacing:
        print(L["replaced"].format(folder=folder))
    return 0


def _report_compliance(study, L) -> None:
    """The standards outcome: targets counted study-wide (one overall row each), what failed, what is unknown."""
    table = getattr(study, "compliance", None)
    if table is None or not len(table):
        return
    overall = table[table["level"] == "overall"]
    counts = overall["status"].value_counts()
    print(L["compliance"].format(id=study.profile.id, total=len(overall), met=counts.get("pass", 0),
                                 fail=counts.get("fail", 0), unev=counts.get("unevaluable", 0), rows=len(table)))
    for _, row in overall[overall["status"] == "fail"].iterrows():
        print(L["not_met"].format(id=row["target_id"], value=row["value"], target=row["target"],
                                  shortfall=row["shortfall"]))
    for _, row in overall[overall["status"] == "unevaluable"].iterrows():
        print(L["unknown"].format(id=row["target_id"], shortfall=row["shortfall"]))


def run_scenarios(args: argparse.Namespace) -> int:
    """``carecircle run a.yaml b.yaml``: every file is checked before any work starts, then each is run."""
    if args.output is not None and len(args.scenarios) > 1:
        raise InputError("--output names one folder but several scenarios were given; set outputs.folder in "
                         "each scenario instead.")
    scenarios = load_scenarios(args.scenarios)
    cache = None if args.no_cache else args.cache_dir
    replacing = [_has_results(scenario.output_folder(args.output)) for scenario in scenarios]
    with _progress(args) as progress:
        runs = []
        for scenario in scenarios:
            progress(f"Scenario {scenario.label}")
            runs.append(run_scenario(scenario, out_dir=args.output, cache_dir=cache, progress=progress,
                                     quiet=args.quiet))
    for run, replaced in zip(runs, replacing, strict=True):
        _report(run.study, run.written, quiet=args.quiet, replaced=replaced)
        if run.suggestion is not None and not args.quiet:
            sug = run.suggestion
            L = _labels(run.study.lang)
            lab = f"{sug.minutes:g}"
            before, after = _pcts(sug.before.summary["share"][lab], sug.after.summary["share"][lab])
            print(L["scenario_suggest"].format(n=len(sug.sites), method=L.get(f"method_{sug.method}", sug.method),
                                               m=lab, before=before,
                                               after=after, folder=run.folder / "suggest"))
    return 0


def init(args: argparse.Namespace) -> int:
    path = write_example(args.path)
    print(f"Wrote {path}; edit it, then run: carecircle run {path}")
    return 0


def compare_scenarios(args: argparse.Namespace) -> int:
    base, plan = load_scenarios([args.base, args.plan])
    cache = None if args.no_cache else args.cache_dir
    name = f"compare-{base.label}-{plan.label}"
    if args.lang is not None and args.lang != plan.lang:
        name += f"-{args.lang}"
    out_dir = args.output or Path("maps") / safe_name(name)
    replacing = _has_results(out_dir)
    with _progress(args) as progress:
        runs = [run_scenario(s, cache_dir=cache, progress=progress, quiet=args.quiet, write=False)
                for s in (base, plan)]
        progress("Comparing")
        cmp = compare(runs[0].study, runs[1].study, base_name=base.label, plan_name=plan.label)
        lang = args.lang or runs[1].study.lang
        written = write_comparison(cmp, out_dir, lang=lang, title=args.title)
    folder = next(iter(written.values())).parent
    if args.quiet:
        print(folder / "map.html")
        return 0
    L = _labels(lang)
    print(L["compare_head"].format(base=base.label, plan=plan.label))
    for line in comparison_lines(cmp, lang=lang, distances_m=runs[1].study.distances_m):
        print(line)
    if cmp.accessibility is not None:
        a = cmp.accessibility.set_index("measure")
        acc = runs[0].study.accessibility
        print(L["cmp_access"].format(method=acc.method, supply=acc.supply_col, per=f"{acc.summary['per']:,}",
                                     mean_b=f"{a.loc['mean', 'base']:,.1f}", mean_p=f"{a.loc['mean', 'plan']:,.1f}",
                                     gini_b=f"{a.loc['gini', 'base']:.3f}", gini_p=f"{a.loc['gini', 'plan']:.3f}",
                                     below_b=f"{a.loc['share_below_level', 'base']:.1%}",
                                     below_p=f"{a.loc['share_below_level', 'plan']:.1%}"))
    print(L["results"].format(folder=folder, files=L["list_sep"].join(written)))
    if replacing:
        print(L["replaced"].format(folder=folder))
    return 0


def comparison_lines(cmp, *, lang: str, distances_m=None) -> list[str]:
    """The comparison as a planner reads it: a table per threshold (shares, change in percentage points, people),
    the communities that now meet or miss the target, and the standards targets whose status flips."""
    L = _labels(lang)
    head = cmp.headline
    rows = [list(L["cmp_cols"])]
    for i, (_, r) in enumerate(head.iterrows()):
        m = f"{r['minutes']:g}"
        within = (L["within_m"].format(m=f"{distances_m[i]:g}") if distances_m and i < len(distances_m)
                  else L["within_min"].format(m=m)).strip()
        base_t, plan_t = _pcts(r["share_base"], r["share_plan"])
        change = L["pp"].format(v=(r["share_plan"] - r["share_base"]) * 100)
        newly, lost = person_flows(r["covered_base"], r["covered_plan"], r["newly_covered"], r["no_longer_covered"])
        rows.append([within, base_t, plan_t, change,
                     f"{_people_down(r['covered_base'])} → {_people_down(r['covered_plan'])}", f"{newly:,}",
                     f"{lost:,}"])
    widths = [max(_width(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = ["  " + "  ".join(_pad(cell, widths[c], right=c > 0) for c, cell in enumerate(row)).rstrip()
             for row in rows]
    summary = cmp.summary()
    target = summary.get("threshold_for_targets")
    for key, label in (("communities_now_meeting_target", "com_now_meet"),
                       ("communities_now_below_target", "com_now_below")):
        names = summary.get(key) or []
        if names:
            lines.append(L[label].format(target="" if target is None else f"{target}", names=_join(names, L)))
    table = cmp.compliance
    if table is not None and len(table):
        flips = flip_order(table[table["changed"].astype(bool)])
        if len(flips):
            lines.append(L["flips"].format(n=len(flips)))
            units = unit_names(flips, lang, cmp.plan.coverage.communities)
            for i, row in flips.head(20).iterrows():
                unit = L["unit_overall"] if row["level"] == "overall" else units[i]
                lines.append(L["flip"].format(id=row["target_id"], unit=unit,
                                              base=L.get(f"status_{row['status_base']}", row["status_base"]),
                                              plan=L.get(f"status_{row['status_plan']}", row["status_plan"])))
            if len(flips) > 20:
                lines.append("    " + L["more"].strip() + f" {len(flips) - 20} (compliance.csv)")
        else:
            lines.append(L["no_flips"])
    return lines


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def _pad(text: str, width: int, *, right: bool) -> str:
    fill = " " * max(width - _width(text), 0)
    return fill + text if right else text + fill


def batch(args: argparse.Namespace) -> int:
    """``carecircle batch``: many regions × variations, resumable; exit code 8 when some tasks failed."""
    L = _labels(getattr(args, "lang", None))

    def cluster(text: str) -> None:
        if not args.quiet:
            print(L["batch_on"].format(where=_cluster_text(text, L)), file=sys.stderr, flush=True)

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
    tasks = L["tasks_one" if len(table) == 1 else "tasks_many"].format(n=len(table))
    print(L["batch_head"].format(tasks=tasks, regions=L["regions_one" if regions == 1 else "regions_many"].format(
        n=regions), ran=len(result.ran), skipped=len(result.skipped), failed=len(failed)))
    shares = [c for c in table.columns if c.startswith("share_") and c != "share_after_new_sites"]
    top = max(shares, key=lambda c: float(c.removeprefix("share_"))) if shares else None
    done = table[table["status"] == "done"].sort_values("rank", kind="mergesort")
    if top is not None and len(done):
        head = list(L["batch_cols"])
        head[2] = head[2].format(m=L["within_min"].format(m=top.removeprefix("share_")).strip())
        rows = [head]
        for _, row in done.head(30).iterrows():
            targets = "" if _missing(row.get("targets_met")) else L["targets_of"].format(
                met=int(row["targets_met"]), total=int(row["targets_met"]) + int(row["targets_not_met"]))
            sites = "" if _missing(row.get("new_sites")) else \
                f"{int(row['new_sites'])} → {row['share_after_new_sites']:.1%}"
            share = L["na"] if _missing(row.get(top)) else f"{row[top]:.1%}"
            rows.append([str(int(row["rank"])), f"{row['region']} / {row['variation']}", share, targets, sites])
        widths = [max(_width(r[c]) for r in rows) for c in range(len(head))]
        for r in rows:
            print("  " + "  ".join(_pad(cell, widths[c], right=c in (0, 2, 3)) for c, cell in enumerate(r)).rstrip())
        if len(done) > 30:
            print(L["batch_more"].format(n=len(done) - 30))
    for _, row in failed.iterrows():
        print(L["batch_failed"].format(region=row["region"], variation=row["variation"], error=row["error"]))
    print(L["batch_summary"].format(csv=folder / "summary.csv", xlsx=folder / "summary.xlsx",
                                    manifest=folder / "manifest.json"))
    print(L["batch_index"].format(index=folder / "index.html"))
    if len(failed):
        print(L["batch_some_failed"].format(failed=len(failed), tasks=tasks, code=EXIT_SOME_FAILED), file=sys.stderr)
    return EXIT_SOME_FAILED if len(failed) else 0


def _cluster_text(text: str, L: dict) -> str:
    """Where the batch runs, in the console's language (the cluster's parts, when the text carries them)."""
    kind = getattr(text, "kind", None)
    if kind not in ("local", "scheduler", "client"):
        return str(text)
    where = L[f"cluster_{kind}"].format(n=getattr(text, "workers", None), address=getattr(text, "address", None))
    link = getattr(text, "dashboard", None)
    return where + (L["dashboard"].format(link=link) if link else L["no_dashboard"])


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def standards(args: argparse.Namespace) -> int:
    L = _labels(args.lang)
    if args.copy:
        name, target = args.copy
        path = copy_profile(name, target)
        print(L["std_copied"].format(name=name, path=path))
        return 0
    if args.name:
        profile = load_profile(args.name)
        print(L["std_profile"].format(id=profile.id, name_zh=profile.name_zh, name_en=profile.name_en))
        for t in profile.targets:
            print(f"  {t.id:<24} {t.kind:<30} {t.description_zh if args.lang == 'zh' else t.description_en}")
        return 0
    for pid, name_zh, name_en in list_profiles():
        print(f"{pid:<16} {name_zh if args.lang == 'zh' else name_en}")
    print(L["std_use"])
    return 0


def copy_profile(name: str, target: str | Path) -> Path:
    """Copy the bundled profile ``name`` to ``target`` to edit; an existing file is never overwritten."""
    ids = [pid for pid, _, _ in list_profiles()]
    if name not in ids:
        raise InputError(f"no bundled profile {name!r}; the bundled ones are {', '.join(ids)}.")
    text = resources.files("carecircle").joinpath("profiles", f"{name}.yaml").read_text(encoding="utf-8")
    return write_new_text(target, text, exists_hint="choose another file name (it is never overwritten)")


# ------------------------------------------------------------------------------------------ console text


def _labels(lang: str | None) -> dict:
    return in_language(CONSOLE_LABELS, lang or DEFAULT_LANG)


def _join(items, L, most: int = 10) -> str:
    items = [str(i) for i in items]
    return L["list_sep"].join(items[:most]) + (L["more"] if len(items) > most else "")


def _pcts(*shares) -> list[str]:
    return share_texts(shares)


def _share_text(share: float) -> str:
    return f"{round(share * 100, 1):g}%"


def _people_down(x: float) -> str:
    """People covered, in whole persons, as the report and the workbook show them (:func:`fmt_covered`)."""
    return fmt_covered(x, {"na": ""})


def _people_up(x: float) -> str:
    """People not covered, in whole persons, rounded up as the standards' shortfalls are ("still needs 512")."""
    return fmt_uncovered(x, {"na": ""})


def _report(study, written: dict[str, Path], *, quiet: bool, replaced: bool = False) -> None:
    s = study.coverage.summary
    folder = next(iter(written.values())).parent
    if quiet:
        print(folder / "map.html")
        return
    L = _labels(getattr(study, "lang", None))
    print(L["study"].format(name=study.name, elderly=f"{s['elderly_population']:,.0f}", n=s["n_facilities"],
                            speed=f"{s['walk_speed_mps']:g}"))
    metres = study.distances_m
    shares = _pcts(*s["share"].values())
    for i, lab in enumerate(s["share"]):
        within = L["within_m"].format(m=f"{metres[i]:g}") if metres else L["within_min"].format(m=lab)
        print(L["within_line"].format(within=within, pct=shares[i], covered=_people_down(s["covered"][lab]),
                                      uncovered=_people_up(s["uncovered"][lab])))
    _report_sensitivity(study, L)
    below = s["communities_below_target"]
    if below:
        print(L["below"].format(n=len(below), what=L["community" if len(below) == 1 else "communities"],
                                target=_share_text(s["target_share"]), names=_join(below, L)))
    if s.get("off_network_points"):
        print(L["off_network"].format(n=s["off_network_points"]))
    _report_accessibility(study, L, getattr(study, "lang", None) or DEFAULT_LANG)
    _report_compliance(study, L)
    if study.note:
        print(L["note"].format(note=study.note))
    print(L["results"].format(folder=folder, files=L["list_sep"].join(written)))
    if replaced:
        print(L["replaced"].format(folder=folder))
    print(L["open_report"].format(report=folder / "report.html", map=folder / "map.html"))


def _report_sensitivity(study, L) -> None:
    table = study.sensitivity
    if table is None or not len(table):
        return
    top = table.groupby("speed_mps", sort=False).tail(1)
    within = (L["within_m"].format(m=f"{top['metres'].iloc[0]:g}") if study.distances_m
              else L["within_min"].format(m=f"{top['minutes'].max():g}")).strip()
    shares = _pcts(*top["share"])
    figures = L["list_sep"].join(
        L["sens_figure"].format(share=shares[i],
                                speed=f"{r.speed_mps:.{1 if round(r.speed_mps, 1) == r.speed_mps else 2}f}")
        for i, r in enumerate(top.itertuples()))
    print(L["sensitivity"].format(within=within, figures=figures))


def _report_accessibility(study, L, lang: str) -> None:
    access = study.accessibility
    if access is None:
        return
    a = access.summary
    per = f"{a['per']:,}"
    who = L["who_children" if a.get("population") == "children" else "who_elderly"]
    supply = a["supply_col"] if lang == "en" else access_term(ACCESS_TERMS[lang], "supply", a["supply_col"])
    print(L["access"].format(method=a["method"], supply=supply, mean=f"{a['mean']:,.1f}", per=per,
                             median=f"{a['median']:,.1f}", gini=f"{a['gini']:.2f}", who=who))
    print(L["access_below"].format(who=who, share=f"{a['share_below_level']:.1%}", n=f"{a['elderly_below_level']:,.0f}",
                                   level=f"{a['level']:,.1f}", per=per, source=L[f"level_{a['level_source']}"],
                                   none=f"{a['elderly_no_access']:,.0f}"))
    com = access.communities
    if len(com):
        short = com[com["mismatch"] == "high_need_low_access"].sort_values("access")
        if len(short):
            print(L["access_mismatch"].format(who=who, names=_join(short["community_id"].astype(str), L)))
    if a["facilities_unreached"]:
        print(L["access_unreached"].format(who=who, names=_join(a["facilities_unreached"], L)))


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
    spinner with the current step, and a bar with counts for long steps; silence when piped or ``--quiet``. With
    ``--verbose`` each step's time goes to the log ("Reading inputs … 0.4 s")."""
    if args.quiet or not sys.stderr.isatty():
        display = nullcontext(lambda *_args: None)
    else:
        display = _ProgressDisplay()
    return _Timed(display) if getattr(args, "verbose", False) else display


class _Timed:
    """Wraps a progress display: logs each step with the seconds it took when the next one starts."""

    def __init__(self, display):
        self._display = display
        self._step: str | None = None
        self._start = 0.0

    def __enter__(self):
        self._inner = self._display.__enter__()
        return self.update

    def update(self, step: str, done: int | None = None, total: int | None = None) -> None:
        if step != self._step:
            self._finish()
            self._step, self._start = step, time.perf_counter()
        self._inner(step, done, total)

    def _finish(self) -> None:
        if self._step is not None:
            log.info("%s … %.1f s", self._step, time.perf_counter() - self._start)

    def __exit__(self, *exc):
        if exc[0] is None:
            self._finish()
        return self._display.__exit__(*exc)


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
