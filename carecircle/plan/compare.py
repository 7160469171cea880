"""Baseline versus plan: what a scenario changes, side by side and as differences.

:func:`compare` lines two studies up — usually the same area and population with different facilities — and
:func:`carecircle.outputs.comparison.write_comparison` writes the tables, a summary and one map showing both::

    base, plan = (run_scenario(s, write=False).study for s in load_scenarios(["baseline.yaml", "plan.yaml"]))
    cmp = compare(base, plan, base_name="现状", plan_name="规划")
    cmp.headline                        # per threshold: covered persons and share in both, newly covered
    write_comparison(cmp, "maps/compare", lang="zh")

Point-level figures (who is newly covered, who loses coverage) need the two studies to place the same demand
points, which they do whenever population inputs are the same; otherwise only totals and per-community
figures are compared (``demand_matched`` is ``False``). Coverage numbers come from the studies' network
walking times; isochrones on the map only draw them.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from carecircle.core.coverage import threshold_label
from carecircle.errors import InputError
from carecircle.formats import fmt_text, is_missing

if TYPE_CHECKING:
    from carecircle.plan.results import StudyResult

log = logging.getLogger(__name__)

#: How a missing value reads in the facility-change details.
_DASH = {"na": "—"}
#: Facility fields whose change is reported.
_FACILITY_FIELDS = ("name", "type", "capacity", "beds", "nursing_beds", "floor_area_m2")
#: Per-community and per-unit figures compared (``{m}``: threshold label).
_COUNTS = ("covered_{m}", "share_{m}", "uncovered_{m}")
#: Accessibility figures compared per community / per unit, when both studies measured it.
_ACCESS_COLUMNS = ("access_per_1000", "access_gini", "access_share_below")
#: Headline accessibility figures compared (keys of ``AccessibilityResult.summary``).
ACCESS_MEASURES = ("mean", "median", "gini", "level", "share_below_level", "elderly_below_level",
                   "elderly_no_access", "supply_reached")


@dataclass(frozen=True)
class Comparison:
    """Two studies side by side.

    Attributes
    ----------
    base_name, plan_name : labels of the two studies (e.g. ``"baseline"``, ``"plan"``).
    thresholds_min : thresholds both studies measured, ascending.
    headline : one row per threshold: ``minutes``, ``elderly_base``/``_plan``, ``covered_base``/``_plan``/
        ``_change`` (persons), ``share_base``/``_plan``/``_change`` (0..1, change in points of share),
        ``newly_covered`` and ``no_longer_covered`` (persons; NaN without matched demand points).
        ``newly_covered - no_longer_covered == covered_change``.
    communities : per community (outer join on ``community_id``): ``name`` (and ``subdistrict``/``district``
        when known), then ``<col>_base``, ``<col>_plan``, ``<col>_change`` for ``elderly`` and every
        ``covered_<m>``, ``share_<m>``, ``uncovered_<m>``; ``below_target_base``/``_plan`` and
        ``target_change`` (``"now meets"``, ``"now below"`` or ``""``).
    communities_change : the same rows with only the ``_change`` columns and ``target_change``.
    rollups : ``"subdistrict"`` / ``"district"`` → the same side-by-side layout per unit (from the studies'
        ``rollups``, else summed from the communities when they name their subdistrict).
    compliance : every compliance row of both (outer join on ``target_id``, ``level``, ``unit``) with
        ``value``, ``status`` and ``shortfall`` of each and ``changed`` (status differs); ``None`` unless both
        studies checked a standard.
    compliance_flips : the rows of ``compliance`` whose status changed (``None`` as above).
    newly_covered : demand points of the plan covered there but not in the base at some threshold, with
        ``population``, ``time_min_base``/``_plan``, ``nearest_facility_base``/``_plan`` and ``newly_<m>``
        (bool per threshold); EPSG:4326.
    no_longer_covered : the reverse (points covered in the base, not in the plan), ``lost_<m>`` per threshold.
    facilities : facilities added, removed or changed: ``facility_id``, ``name``, ``type``, ``change``
        (``added``/``removed``/``changed``), ``details`` (what changed); EPSG:4326.
    demand_matched : whether both studies have the same demand points (point-level figures available).
    accessibility : one row per headline accessibility figure (:data:`ACCESS_MEASURES`): ``measure``,
        ``base``, ``plan``, ``change``; ``None`` unless both studies measured accessibility. Communities and
        roll-ups then also compare ``access_per_1000`` (and per unit ``access_gini``, ``access_share_below``).
    base, plan : the two studies (for the map).
    """

    base_name: str
    plan_name: str
    thresholds_min: tuple[float, ...]
    headline: pd.DataFrame
    communities: pd.DataFrame
    communities_change: pd.DataFrame
    rollups: dict[str, pd.DataFrame]
    compliance: pd.DataFrame | None
    compliance_flips: pd.DataFrame | None
    newly_covered: gpd.GeoDataFrame
    no_longer_covered: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    demand_matched: bool
    base: StudyResult = field(repr=False)
    plan: StudyResult = field(repr=False)
    accessibility: pd.DataFrame | None = None

    def summary(self) -> dict:
        """Headline figures as JSON-ready data (what ``summary.json`` holds)."""
        top = threshold_label(max(self.thresholds_min))
        com = self.communities
        return {
            "base": self.base_name, "plan": self.plan_name,
            "thresholds_min": list(self.thresholds_min),
            "demand_matched": self.demand_matched,
            "headline": {threshold_label(r["minutes"]): {k: _num(v) for k, v in r.items() if k != "minutes"}
                         for r in self.headline.to_dict("records")},
            "threshold_for_targets": float(max(self.thresholds_min)),
            "communities_now_meeting_target": com.loc[com["target_change"] == "now meets", "community_id"].tolist()
            if len(com) else [],
            "communities_now_below_target": com.loc[com["target_change"] == "now below", "community_id"].tolist()
            if len(com) else [],
            "communities_below_target": {
                "base": int(com["below_target_base"].fillna(False).astype(bool).sum()) if len(com) else 0,
                "plan": int(com["below_target_plan"].fillna(False).astype(bool).sum()) if len(com) else 0},
            "compliance_flips": [] if self.compliance_flips is None else [
                {k: r[k] for k in ("target_id", "level", "unit", "status_base", "status_plan")}
                for r in self.compliance_flips.to_dict("records")],
            "facilities_added": self._ids("added"),
            "facilities_removed": self._ids("removed"),
            "facilities_changed": self._ids("changed"),
            f"newly_covered_points_{top}": int(self.newly_covered[f"newly_{top}"].sum())
            if len(self.newly_covered) else 0,
            "accessibility": None if self.accessibility is None else {
                "method": self.base.accessibility.method, "supply_col": self.base.accessibility.supply_col,
                **{r["measure"]: {k: _num(r[k]) for k in ("base", "plan", "change")}
                   for r in self.accessibility.to_dict("records")}},
            "base_inputs": self.base.inputs, "plan_inputs": self.plan.inputs,
        }

    def _ids(self, change: str) -> list[str]:
        return self.facilities.loc[self.facilities["change"] == change, "facility_id"].astype(str).tolist()


def compare(base: StudyResult, plan: StudyResult, *, base_name: str = "base", plan_name: str = "plan") -> Comparison:
    """Compare two studies of the same area: coverage, communities, subdistricts, compliance and facilities.

    Parameters
    ----------
    base, plan : results of :func:`carecircle.pipeline.run_study` (or ``ScenarioRun.study``).
    base_name, plan_name : labels used in the tables' headers and on the map.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        The studies share no walking-time threshold.

    Examples
    --------
    >>> cmp = compare(run_study(), run_study(facilities="plan_facilities.csv"))  # doctest: +SKIP
    >>> cmp.headline[["minutes", "covered_change", "share_change"]]  # doctest: +SKIP
    """
    b, p = base.coverage, plan.coverage
    thresholds = tuple(sorted(set(b.thresholds_min) & set(p.thresholds_min)))
    if not thresholds:
        raise InputError(f"the studies share no walking-time threshold ({base_name}: "
                         f"{', '.join(map(threshold_label, b.thresholds_min))} min; {plan_name}: "
                         f"{', '.join(map(threshold_label, p.thresholds_min))} min); run both with the same.")
    labels = [threshold_label(t) for t in thresholds]
    matched = _same_demand(b.demand, p.demand)
    if not matched:
        log.warning("compare: the studies place different demand points; comparing totals and communities only")
    newly, lost = _point_changes(b.demand, p.demand, labels) if matched else (_empty_points(), _empty_points())

    headline = _headline(b.demand, p.demand, labels, newly, lost, matched)
    keys = [c for c in ("name", "subdistrict", "district") if c in b.communities or c in p.communities]
    communities = _side_by_side(b.communities, p.communities, "community_id", keys, ["elderly", *_ACCESS_COLUMNS],
                                labels)
    if len(communities):
        communities["target_change"] = _target_flips(communities)
    diffs = [c for c in communities.columns if c.endswith("_change") and c != "target_change"]
    change_cols = ["community_id", *keys, *diffs, "target_change"]
    communities_change = communities[[c for c in change_cols if c in communities]].copy()

    rollups = {}
    for level in ("subdistrict", "district"):
        rb, rp = _rollup(base, level, labels), _rollup(plan, level, labels)
        if rb is not None and rp is not None:
            table = _side_by_side(rb, rp, level, [], ["n_communities", "elderly", *_ACCESS_COLUMNS], labels)
            if len(table) and "below_target_base" in table:
                table["target_change"] = _target_flips(table)
            rollups[level] = table

    compliance = _compliance(getattr(base, "compliance", None), getattr(plan, "compliance", None))
    flips = compliance[compliance["changed"]].reset_index(drop=True) if compliance is not None else None
    cmp = Comparison(
        base_name=base_name, plan_name=plan_name, thresholds_min=thresholds, headline=headline,
        communities=communities, communities_change=communities_change, rollups=rollups, compliance=compliance,
        compliance_flips=flips, newly_covered=newly, no_longer_covered=lost,
        facilities=_facility_changes(_facilities(base), _facilities(plan)), demand_matched=matched,
        base=base, plan=plan, accessibility=_accessibility(base, plan, base_name, plan_name))
    top = headline.iloc[-1]
    log.info("compare: within %s min %.1f%% → %.1f%% (%+.0f persons); %d communities changed target status; "
             "%s compliance rows flipped", labels[-1], 100 * top["share_base"], 100 * top["share_plan"],
             top["covered_change"], int((communities.get("target_change", pd.Series(dtype=str)) != "").sum()),
             "no" if flips is None else len(flips))
    return cmp


# ------------------------------------------------------------------------------------------------ tables


def _same_demand(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> bool:
    if len(a) != len(b):
        return False
    xa = shapely.get_coordinates(a.geometry.values)
    xb = shapely.get_coordinates(b.geometry.values)
    return (xa.shape == xb.shape and np.allclose(xa, xb, rtol=0, atol=1e-9)
            and np.allclose(a["population"].to_numpy(dtype=float), b["population"].to_numpy(dtype=float)))


def _covered(demand: gpd.GeoDataFrame, lab: str) -> np.ndarray:
    return demand[f"covered_{lab}"].to_numpy(dtype=bool)


def _point_changes(base: gpd.GeoDataFrame, plan: gpd.GeoDataFrame, labels: list[str]):
    pop = plan["population"].to_numpy(dtype=float)
    frame = gpd.GeoDataFrame({
        "community_id": plan["community_id"].astype(str).to_numpy() if "community_id" in plan else None,
        "population": pop,
        "time_min_base": base["time_min"].to_numpy(dtype=float),
        "time_min_plan": plan["time_min"].to_numpy(dtype=float),
        "nearest_facility_base": base["nearest_facility"].to_numpy(),
        "nearest_facility_plan": plan["nearest_facility"].to_numpy(),
    }, geometry=plan.geometry.values, crs=plan.crs).to_crs("EPSG:4326")
    newly = frame.copy()
    lost = frame.copy()
    for lab in labels:
        cb, cp = _covered(base, lab), _covered(plan, lab)
        newly[f"newly_{lab}"] = cp & ~cb
        lost[f"lost_{lab}"] = cb & ~cp
    newly = newly[newly[[f"newly_{lab}" for lab in labels]].any(axis=1).to_numpy()].reset_index(drop=True)
    lost = lost[lost[[f"lost_{lab}" for lab in labels]].any(axis=1).to_numpy()].reset_index(drop=True)
    return newly, lost


def _empty_points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"community_id": [], "population": []}, geometry=[], crs="EPSG:4326")


def _headline(base, plan, labels, newly, lost, matched) -> pd.DataFrame:
    rows = []
    pb, pp = base["population"].to_numpy(dtype=float), plan["population"].to_numpy(dtype=float)
    for lab in labels:
        cb, cp = float(pb[_covered(base, lab)].sum()), float(pp[_covered(plan, lab)].sum())
        sb = cb / pb.sum() if pb.sum() > 0 else np.nan
        sp = cp / pp.sum() if pp.sum() > 0 else np.nan
        new = float(newly.loc[newly[f"newly_{lab}"].to_numpy(dtype=bool), "population"].sum()) if matched else np.nan
        gone = float(lost.loc[lost[f"lost_{lab}"].to_numpy(dtype=bool), "population"].sum()) if matched else np.nan
        rows.append({"minutes": float(lab), "elderly_base": float(pb.sum()), "elderly_plan": float(pp.sum()),
                     "covered_base": cb, "covered_plan": cp, "covered_change": cp - cb,
                     "share_base": sb, "share_plan": sp, "share_change": sp - sb,
                     "newly_covered": new, "no_longer_covered": gone})
    return pd.DataFrame(rows)


def _side_by_side(base: pd.DataFrame, plan: pd.DataFrame, key: str, label_cols: list[str], extra: list[str],
                  labels: list[str]) -> pd.DataFrame:
    """Outer join on ``key``: label columns once, then ``<col>_base``, ``<col>_plan``, ``<col>_change``."""
    if base is None or plan is None or (not len(base) and not len(plan)) or key not in base or key not in plan:
        return pd.DataFrame({key: pd.Series(dtype=str)})
    values = [c for c in [*extra, *(f.format(m=lab) for lab in labels for f in _COUNTS)]
              if c in base.columns and c in plan.columns]
    flags = [c for c in ("below_target",) if c in base.columns and c in plan.columns]

    def part(df: pd.DataFrame, suffix: str) -> pd.DataFrame:
        out = pd.DataFrame(df[[key, *values, *flags]].drop(columns="geometry", errors="ignore"))
        out[key] = out[key].astype(str)
        return out.rename(columns={c: f"{c}_{suffix}" for c in [*values, *flags]})

    names = pd.concat([pd.DataFrame(df[[key, *[c for c in label_cols if c in df]]]) for df in (plan, base)])
    names[key] = names[key].astype(str)
    names = names.drop_duplicates(key)
    both = part(base, "base").merge(part(plan, "plan"), on=key, how="outer", sort=False)
    order = pd.Index(pd.concat([base[key].astype(str), plan[key].astype(str)]).drop_duplicates())
    both = both.set_index(key).reindex(order).reset_index().rename(columns={"index": key})
    out = names.merge(both, on=key, how="right")
    cols = [key, *[c for c in label_cols if c in out]]
    for c in values:
        b = pd.to_numeric(out[f"{c}_base"], errors="coerce")
        p = pd.to_numeric(out[f"{c}_plan"], errors="coerce")
        out[f"{c}_change"] = p - b if c.startswith("share_") else p.fillna(0.0) - b.fillna(0.0)
        cols += [f"{c}_base", f"{c}_plan", f"{c}_change"]
    for c in flags:
        out[f"{c}_base"] = out[f"{c}_base"].astype("boolean")
        out[f"{c}_plan"] = out[f"{c}_plan"].astype("boolean")
        cols += [f"{c}_base", f"{c}_plan"]
    return out[cols].reset_index(drop=True)


def _accessibility(base: StudyResult, plan: StudyResult, base_name: str, plan_name: str) -> pd.DataFrame | None:
    a, b = getattr(base, "accessibility", None), getattr(plan, "accessibility", None)
    if a is None or b is None:
        return None
    if (a.method, a.supply_col) != (b.method, b.supply_col):
        raise InputError(f"the studies measure accessibility differently ({base_name}: {a.method} of {a.supply_col}; "
                         f"{plan_name}: {b.method} of {b.supply_col}); give both the same accessibility settings.")
    rows = [{"measure": m, "base": float(a.summary[m]), "plan": float(b.summary[m]),
             "change": float(b.summary[m]) - float(a.summary[m])} for m in ACCESS_MEASURES]
    return pd.DataFrame(rows)


def _target_flips(table: pd.DataFrame) -> np.ndarray:
    b = table["below_target_base"].astype("boolean")
    p = table["below_target_plan"].astype("boolean")
    return np.where((b == True) & (p == False), "now meets",  # noqa: E712 (nullable booleans)
                    np.where((b == False) & (p == True), "now below", ""))  # noqa: E712


def _rollup(study: StudyResult, level: str, labels: list[str]) -> pd.DataFrame | None:
    """The study's roll-up at ``level``, or one summed from its communities when they name that level."""
    table = (getattr(study, "rollups", None) or {}).get(level)
    if table is not None:
        return table
    com = study.coverage.communities
    if level not in com or not len(com) or com[level].isna().all():
        return None
    cols = ["elderly", *[f"{k}_{lab}" for lab in labels for k in ("covered", "uncovered")]]
    grouped = pd.DataFrame(com[[level, *cols]]).groupby(level, sort=False)
    out = grouped.sum().reset_index()
    out.insert(1, "n_communities", grouped.size().to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        for lab in labels:
            out[f"share_{lab}"] = np.where(out["elderly"] > 0, out[f"covered_{lab}"] / out["elderly"], np.nan)
    return out


def _compliance(base: pd.DataFrame | None, plan: pd.DataFrame | None) -> pd.DataFrame | None:
    if base is None or plan is None:
        return None
    keys = ["target_id", "level", "unit"]
    fixed = [c for c in ("description_zh", "description_en", "target", "source") if c in base or c in plan]
    per = [c for c in ("value", "status", "shortfall") if c in base and c in plan]
    both = pd.DataFrame(base[keys + per]).merge(pd.DataFrame(plan[keys + per]), on=keys, how="outer",
                                                suffixes=("_base", "_plan"), sort=False)
    text = pd.concat([pd.DataFrame(plan[keys + [c for c in fixed if c in plan]]),
                      pd.DataFrame(base[keys + [c for c in fixed if c in base]])]).drop_duplicates(keys)
    out = text.merge(both, on=keys, how="right")
    out["changed"] = (out["status_base"].fillna("") != out["status_plan"].fillna("")).to_numpy()
    cols = [*keys, *[c for c in ("description_zh", "description_en", "target") if c in out]]
    cols += [f"{c}_{s}" for c in per for s in ("base", "plan")] + (["source"] if "source" in out else [])
    return out[[*cols, "changed"]].reset_index(drop=True)


def _facilities(study: StudyResult) -> gpd.GeoDataFrame:
    every = getattr(study, "facilities", None)
    return every if every is not None else study.coverage.facilities


def _facility_changes(base: gpd.GeoDataFrame, plan: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    b = base.to_crs("EPSG:4326").assign(facility_id=lambda d: d["facility_id"].astype(str)).set_index("facility_id")
    p = plan.to_crs("EPSG:4326").assign(facility_id=lambda d: d["facility_id"].astype(str)).set_index("facility_id")
    rows = []
    for fid in p.index.difference(b.index, sort=False):
        rows.append((fid, p.loc[fid], "added", ""))
    for fid in b.index.difference(p.index, sort=False):
        rows.append((fid, b.loc[fid], "removed", ""))
    for fid in b.index.intersection(p.index, sort=False):
        details = []
        for col in _FACILITY_FIELDS:
            vb, vp = b.loc[fid].get(col), p.loc[fid].get(col)
            if not _same(vb, vp):
                details.append(f"{col} {fmt_text(vb, _DASH)} → {fmt_text(vp, _DASH)}")
        moved = b.loc[fid].geometry.distance(p.loc[fid].geometry)
        if moved > 1e-7:  # degrees: about 1 cm
            details.append(f"moved {_metres(b.loc[fid].geometry, p.loc[fid].geometry):.0f} m")
        if details:
            rows.append((fid, p.loc[fid], "changed", "; ".join(details)))
    data = {"facility_id": [r[0] for r in rows], "name": [r[1].get("name") for r in rows],
            "type": [r[1].get("type") for r in rows], "change": [r[2] for r in rows],
            "details": [r[3] for r in rows]}
    return gpd.GeoDataFrame(data, geometry=[r[1].geometry for r in rows], crs="EPSG:4326")


def _same(a: Any, b: Any) -> bool:
    if is_missing(a) and is_missing(b):
        return True
    if is_missing(a) or is_missing(b):
        return False
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _metres(a, b) -> float:
    pts = gpd.GeoSeries([a, b], crs="EPSG:4326")
    pts = pts.to_crs(pts.estimate_utm_crs())
    return float(pts.iloc[0].distance(pts.iloc[1]))


def _num(v: Any):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
