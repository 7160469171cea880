"""Compliance of a study with a standards profile: one row per target and level unit.

:func:`evaluate` checks each target of a :class:`carecircle.plan.standards.Profile` against the coverage facts of a
study (:class:`carecircle.core.coverage.CoverageFacts`: facilities, communities, walking coverage by any facility
types) and returns the compliance table. A target is checked at each of its levels: ``overall`` (the whole
study area), ``district`` and ``subdistrict`` (communities grouped by their ``district`` / ``subdistrict``
column) and ``community``. A facility belongs to the community whose polygon contains it.

Rural units are named as such: a subdistrict whose communities are (at least half) villages (``area_type``
rural, 村) is a township, and its rows have ``level`` ``township`` (乡镇); a village's rows have ``village``
(村). A target with ``area_type`` judges only the urban or only the rural units
(:mod:`carecircle.plan._compliance_inputs`).

Every row says ``pass``, ``fail`` or ``unevaluable``. A target the inputs cannot check (no communities, no
``subdistrict`` column, no ``households``, no beds data, floor areas missing where they would decide, ...) is
``unevaluable`` with the missing input named in ``shortfall``, and never passes: when unknown values could
change the answer the row is unevaluable; when the known values already meet the target it passes.

Target kinds and their parameters: ``carecircle/profiles/README.md``.

>>> from carecircle.plan.compliance import evaluate
>>> table = evaluate(load_profile("qitaihe-2020"), facts)          # doctest: +SKIP
>>> table[["target_id", "level", "unit", "value", "status", "shortfall"]]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from carecircle.errors import InputError
from carecircle.io.facility_types import OPTIONAL_TYPES, RESIDENTIAL
from carecircle.plan._compliance_inputs import COLUMN_ZH, Context
from carecircle.plan.standards import (
    BedsTarget,
    CoLocationTarget,
    CoverageTarget,
    FacilityCountTarget,
    FloorAreaMinTarget,
    FloorAreaTarget,
    NursingShareTarget,
    PlacesTarget,
    Profile,
)

log = logging.getLogger(__name__)

#: Columns of the compliance table, in order.
COLUMNS = ("target_id", "level", "unit", "description_zh", "description_en", "target", "value", "status",
           "shortfall", "source", "value_num", "target_num")
PASS, FAIL, UNEVALUABLE = "pass", "fail", "unevaluable"
_EPS = 1e-9
#: Why a coverage target cannot be computed when its population is not given, in Chinese.
_NO_POPULATION_ZH = {"children": "未提供0—3岁婴幼儿人口；请在社区数据中加入0—3岁人口（pop_0_3）列",
                     "elderly": "未提供60岁及以上人口；请在社区数据中加入60岁及以上人口（pop_60plus）列"}


def evaluate(profile: Profile, facts, *, lang: str | None = None) -> pd.DataFrame:
    """Check every target of ``profile`` against a study's coverage ``facts``.

    Parameters
    ----------
    profile : a standards profile (:func:`carecircle.plan.standards.load_profile`).
    facts : :class:`carecircle.core.coverage.CoverageFacts` (or any object with its ``facilities``, ``communities``,
        ``walk_speed_mps``, ``network_crs`` and ``covered(types, minutes, population)``).
    lang : language of the ``unit``, ``target``, ``value`` and ``shortfall`` texts, ``zh`` or ``en``
        (default: the profile's).

    Returns
    -------
    DataFrame with :data:`COLUMNS`: one row per (target, level unit), targets in profile order, levels
    coarsest first. ``status`` is ``pass``, ``fail`` or ``unevaluable``; ``value_num`` and ``target_num`` are
    the compared numbers (shares as 0..1, areas in m² per 100 households, beds or places per 1,000), NaN
    where there is none.
    """
    ctx = Context(facts, lang or profile.lang)
    parts = []
    for target in profile.targets:
        whole = target.kind == "facility_count" and target.per != "community"  # a township's home may be in its seat
        scope, why = ctx.scope(target.area_type, whole_subdistricts=whole)
        reason = target.reason(ctx.lang) or why  # the profile's reason first: why the target is not checked
        rows = _KINDS[target.kind](target, scope)
        if reason:  # one row per level
            rows = _unevaluable(ctx, target.levels, reason, rows["target"].iloc[0], rows["target_num"].iloc[0])
        rows["level"] = ctx.level_names(rows, target.area_type)
        rows.insert(0, "target_id", target.id)
        rows["description_zh"] = target.description_zh
        rows["description_en"] = target.description_en
        rows["source"] = profile.target_source(target)
        parts.append(rows)
        counts = rows["status"].value_counts().to_dict()
        log.debug("target %s: %s", target.id, counts)
    table = pd.concat(parts, ignore_index=True)[list(COLUMNS)]
    # an unevaluable row has no value; what is known so far goes into its shortfall
    partial = (table["status"] == UNEVALUABLE) & (table["value"] != "")
    known = ctx.say(" (known so far: ", "（已知部分：") + table["value"] + ctx.say(")", "）")
    table["shortfall"] = table["shortfall"].where(~partial, table["shortfall"] + known)
    table.loc[table["status"] == UNEVALUABLE, ["value", "value_num"]] = ["", np.nan]
    table["value_num"] = table["value_num"].astype(float)
    table["target_num"] = table["target_num"].astype(float)
    log.info("checked %d targets of %s: %s", len(profile.targets), profile.id,
             ", ".join(f"{n} {s}" for s, n in table["status"].value_counts().items()))
    return table


# ---------------------------------------------------------------------------------------------- formatting

def _int(values) -> pd.Series:
    return pd.Series(values, dtype=float).map(lambda x: f"{x:,.0f}").astype(object)


def _dec(values, places: int = 1) -> pd.Series:
    return pd.Series(values, dtype=float).map(lambda x: f"{x:,.{places}f}").astype(object)


def _pct(values) -> pd.Series:
    return pd.Series(values, dtype=float).map(lambda x: f"{x * 100:.1f}%").astype(object)


def _share(share: float) -> str:
    return f"{round(share * 100, 1):g}%"


def _frame(level: str, units, *, target, value, status, shortfall, value_num=np.nan, target_num=np.nan):
    """Rows of one level: text columns as Python strings (a single string is repeated)."""
    n = len(units)

    def strings(x):
        return [x] * n if isinstance(x, str) else [str(v) for v in np.asarray(x, dtype=object)]

    def numbers(x):
        return np.full(n, float(x)) if np.isscalar(x) else np.asarray(x, dtype=float)

    return pd.DataFrame({"level": level, "unit": strings(list(units)), "target": strings(target),
                         "value": strings(value), "status": strings(status), "shortfall": strings(shortfall),
                         "value_num": numbers(value_num), "target_num": numbers(target_num)}, index=range(n))


def _unevaluable(ctx: Context, levels, reason: str, target: str, target_num=np.nan) -> pd.DataFrame:
    """One unevaluable row per level (unit ``all`` at the overall level, ``—`` at the others)."""
    return pd.concat([_frame(level, [ctx.all if level == "overall" else "—"], target=target, value="",
                             status=[UNEVALUABLE], shortfall=reason, target_num=target_num) for level in levels],
                     ignore_index=True)


def _statuses(passed, failed) -> np.ndarray:
    """``pass`` where ``passed``, else ``fail`` where ``failed``, else ``unevaluable``."""
    return np.select([np.asarray(passed, bool), np.asarray(failed, bool)], [PASS, FAIL], UNEVALUABLE)


def _texts(status: np.ndarray, fail_text: pd.Series, unevaluable_text) -> list[str]:
    fail_text = pd.Series(fail_text).reset_index(drop=True)
    unev = pd.Series(unevaluable_text, index=fail_text.index) if np.isscalar(unevaluable_text) else \
        pd.Series(unevaluable_text).reset_index(drop=True)
    return list(np.where(status == FAIL, fail_text, np.where(status == UNEVALUABLE, unev, "")))


def _per_level(ctx: Context, target, target_text: str, compute: Callable[[str], pd.DataFrame]) -> pd.DataFrame:
    """Rows of each level of ``target``: ``compute(level)`` or one unevaluable row naming the missing input."""
    parts = []
    for level in target.levels:
        reason = ctx.missing_level(level)
        parts.append(_unevaluable(ctx, [level], reason, target_text) if reason else ctx.in_order(compute(level)))
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------------------------- target kinds

def _coverage(t: CoverageTarget, ctx: Context) -> pd.DataFrame:
    speed = float(ctx.facts.walk_speed_mps)
    minutes = t.minutes if t.minutes is not None else t.distance_m / speed / 60.0
    reach = f"{minutes:g} min" if t.distance_m is None else f"{t.distance_m:,.0f} m"
    reach_zh = f"{minutes:g}分钟" if t.distance_m is None else f"{t.distance_m:,.0f}米"
    target_text = ctx.say(f"≥ {_share(t.min_share)} within {reach}", f"{reach_zh}内 ≥ {_share(t.min_share)}")
    if t.distance_m is not None:
        target_text += ctx.say(f" ({minutes:.1f} min at {speed:g} m/s)", f"（{speed:g}米/秒 {minutes:.1f}分钟）")
    who = ctx.say("elderly" if t.population == "elderly" else "children aged 0–3",
                  "名老年人" if t.population == "elderly" else "名0—3岁婴幼儿")
    try:
        cov = ctx.facts.covered(list(t.types) if t.types is not None else None, minutes, t.population)
    except InputError as e:  # the population is not given (children 0–3 without pop_0_3)
        return _unevaluable(ctx, t.levels, ctx.say(str(e).rstrip("."), _NO_POPULATION_ZH[t.population]),
                            target_text, t.min_share)
    cov = cov[["population", "covered"]].astype(float)
    cov.index = cov.index.astype(str)
    ids, reason = ctx.where_ids(getattr(t, "where", None))
    if reason:
        return _unevaluable(ctx, t.levels, reason, target_text, t.min_share)
    for keep in (ids, ctx.ids):
        if keep is not None:
            cov = cov.loc[cov.index.intersection(keep)]

    def compute(level: str) -> pd.DataFrame:
        if level == "overall":
            sums = cov.sum().to_frame(ctx.all).T
        else:
            sums = cov.groupby(ctx.unit_of(level).reindex(cov.index)).sum()
        pop, covered = sums["population"].to_numpy(), sums["covered"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            share = covered / pop
        need = np.clip(np.ceil(t.min_share * pop - covered - 1e-6), 0, None)
        status = _statuses((pop > 0) & (covered >= t.min_share * pop - 1e-6), pop > 0)
        fail = ctx.say(_int(need) + f" {who} more within {reach}", "还需 " + _int(need) + who + f"进入{reach_zh}范围")
        none = ctx.say("no " + who + " in this unit", "本单元无" + who.lstrip("名"))
        return _frame(level, sums.index, target=target_text, value=np.where(pop > 0, _pct(share), ""),
                      status=status, shortfall=_texts(status, fail, none), value_num=share,
                      target_num=t.min_share)

    return _per_level(ctx, t, target_text, compute)


def _facility_count(t: FacilityCountTarget, ctx: Context) -> pd.DataFrame:
    what = ctx.types_text(t.types)
    one, many, zh = (x.iloc[0] for x in ctx.nouns(t.per, *ctx.mix(t.per, t.area_type)))
    unit_text = ctx.say(f"≥ {t.min_count}", f"≥ {t.min_count} 个")
    if t.min_share >= 1:
        agg_text = ctx.say(f"≥ {t.min_count} in every {one}", f"每{zh} ≥ {t.min_count} 个")
    else:
        agg_text = ctx.say(f"≥ {t.min_count} in ≥ {_share(t.min_share)} of {many}",
                           f"≥ {_share(t.min_share)} 的{zh} ≥ {t.min_count} 个")
    ids, reason = ctx.where_ids(t.where)
    fac, why = ctx.select(ctx.facilities_of(t.types), t.facility_where)
    if not (reason or why) and t.types is not None and set(t.types) <= set(OPTIONAL_TYPES) \
            and len(ctx.base.facilities_of(t.types)) == 0:  # not listed: a table of care services need not
        reason = ctx.say(f"no {what} among the facilities; list them in the facilities table to check this target",
                         f"设施数据中没有{what}；请在设施表中列出后再评估")
    if reason or why:
        return _unevaluable(ctx, t.levels, reason or why, agg_text if t.per != "overall" else unit_text)
    if ids is not None:
        fac = fac[fac["community_id"].isin(ids)]

    if t.per == "overall":
        n = len(fac)
        status = _statuses([n >= t.min_count], [n < t.min_count])
        short = ctx.say(f"needs {t.min_count - n:,} more {what}", f"还需 {t.min_count - n:,} 个{what}")
        return _frame("overall", [ctx.all], target=unit_text, value=str(n), status=status,
                      shortfall=_texts(status, pd.Series([short]), ""), value_num=n, target_num=t.min_count)
    reason = ctx.missing_level(t.per)
    if reason:
        return _unevaluable(ctx, t.levels, reason, agg_text)

    com = ctx.com if ids is None else ctx.com.loc[ids]
    per_unit = ctx.unit_of(t.per).reindex(com.index)
    units = pd.Index(per_unit.dropna().unique()).sort_values()
    counts = fac["community_id"].map(per_unit).value_counts().reindex(units, fill_value=0)
    ok = counts >= t.min_count
    rural = ctx.rural_units(t.per).reindex(units).eq(True)

    def compute(level: str) -> pd.DataFrame:
        if level == t.per:
            status = _statuses(ok, ~ok)
            short = ctx.say("needs " + _int(t.min_count - counts) + f" more {what}",
                            "还需 " + _int(t.min_count - counts) + f" 个{what}")
            return _frame(level, units, target=unit_text, value=_int(counts), status=status,
                          shortfall=_texts(status, short, ""), value_num=counts.to_numpy(float),
                          target_num=t.min_count)
        parent = pd.DataFrame({"unit": per_unit, "parent": ctx.unit_of(level).reindex(com.index)})
        parent = parent.dropna().groupby("unit")["parent"].first()
        keys = parent.reindex(units).to_numpy() if level != "overall" else np.full(len(ok), ctx.all)
        grouped = pd.DataFrame({"ok": ok, "rural": rural}).groupby(keys)
        n, k = grouped.size(), grouped["ok"].sum().astype(int)
        one_en, per_en, per_zh = ctx.nouns(t.per, grouped["rural"].sum(), n, index=n.index)
        per_zh = "个" + per_zh
        share = k / n
        need = np.clip(np.ceil(t.min_share * n - k - 1e-9), 0, None).astype(int)
        status = _statuses(k >= t.min_share * n - 1e-9, k < t.min_share * n - 1e-9)
        value = ctx.say(_int(k) + " of " + _int(n) + " " + per_en + " (" + _pct(share) + ")",
                        _int(n) + per_zh + "中 " + _int(k) + " 个（" + _pct(share) + "）")
        if t.min_share >= 1:
            short = ctx.say(_int(n - k) + " of " + _int(n) + " " + per_en + f" lack {what}",
                            _int(n) + per_zh + "中 " + _int(n - k) + f" 个缺少{what}")
        else:
            short = ctx.say(_int(need) + " more " + per_en.where(need != 1, one_en) + np.where(
                need == 1, f" needs {what} (", f" need {what} (") + _int(k) + " of " + _int(n) + " have one)",
                            "还需 " + _int(need) + " " + per_zh + f"配置{what}（现有 " + _int(k) + "/" + _int(n) + "）")
        return _frame(level, n.index, target=agg_text, value=value, status=status,
                      shortfall=_texts(status, short, ""), value_num=share.to_numpy(), target_num=t.min_share)

    if len(units) == 0:
        return _unevaluable(ctx, t.levels, ctx.say(f"no {many} in the communities", f"社区数据中没有{zh}"),
                            agg_text)
    return _per_level(ctx, t, agg_text, compute)


def _floor_area(t: FloorAreaTarget, ctx: Context) -> pd.DataFrame:
    std = {"new": t.new_m2, "existing": t.existing_m2}
    parts_en = [f"≥ {v:g} m²/100 hh ({k})" for k, v in std.items() if v is not None]
    parts_zh = [f"{'新建' if k == 'new' else '既有'}每百户 ≥ {v:g} m²" for k, v in std.items() if v is not None]
    agg_text = ctx.say(", ".join(parts_en), "，".join(parts_zh))
    com = ctx.com
    if com is None:
        return _unevaluable(ctx, t.levels, ctx.missing_level("community"), agg_text)
    for column in ("households", "residential"):
        if column not in com or com[column].isna().all():
            return _unevaluable(ctx, t.levels, ctx.no_column(column), agg_text)
    residential = com["residential"].astype("string").str.strip().str.casefold().map(RESIDENTIAL).astype(object)
    standard = residential.map({k: np.nan if v is None else v for k, v in std.items()}).astype(float)
    applies = residential.isna() | standard.notna()  # no category: unevaluable; no standard: not checked
    com = com[applies.to_numpy()]
    residential, standard = residential[applies], standard[applies]
    if len(com) == 0:
        return _unevaluable(ctx, t.levels, ctx.say("no community is a residential area with a standard here",
                                                   "没有适用本标准的新建/既有小区"), agg_text)
    households = ctx.number("households", com)
    fac = ctx.facilities_of(t.types)
    area = ctx.number("floor_area_m2", fac)
    by_com = pd.DataFrame({"area": area.fillna(0.0), "unknown": area.isna()}).groupby(fac["community_id"]).sum()
    known = by_com["area"].reindex(com.index, fill_value=0.0)
    unknown = by_com["unknown"].reindex(com.index, fill_value=0).astype(int)
    required = households / 100 * standard
    missing = residential.isna() | households.isna()
    passed = ~missing & (known >= required - _EPS)
    failed = ~missing & ~passed & (unknown == 0)
    status = pd.Series(_statuses(passed, failed), index=com.index)
    # rounded once, per community: a coarser row's total is the sum of the community rows it summarises
    gap = np.ceil((required - known).where(status == FAIL, 0.0) - 1e-6).clip(lower=0.0)
    why = np.where(residential.isna(), ctx.say("new/existing residential area not given", "未注明新建/既有小区"),
                   np.where(households.isna(), ctx.say("households not given", "缺少户数"),
                            ctx.say("floor area not given for " + _int(unknown) + " facilities",
                                    _int(unknown) + " 个设施缺少建筑面积").to_numpy()))
    with np.errstate(invalid="ignore", divide="ignore"):
        per100 = (known / households * 100).where(households > 0)

    def compute(level: str) -> pd.DataFrame:
        if level == "community":
            text = np.where(residential.eq("new").to_numpy(bool), ctx.say(f"≥ {t.new_m2 or 0:g} m²/100 hh (new)",
                                                          f"新建每百户 ≥ {t.new_m2 or 0:g} m²"),
                            np.where(residential.eq("existing").to_numpy(bool),
                                     ctx.say(f"≥ {t.existing_m2 or 0:g} m²/100 hh (existing)",
                                             f"既有每百户 ≥ {t.existing_m2 or 0:g} m²"), agg_text))
            value = np.where(per100.notna(), _dec(per100.fillna(0)) + ctx.say(" m²/100 hh", " m²/百户"), "")
            short = ctx.say("needs " + _int(gap) + " m² more", "还需 " + _int(gap) + " m²")
            return _frame(level, com["label"], target=text, value=value, status=status.to_numpy(),
                          shortfall=_texts(status.to_numpy(), short, why), value_num=per100.to_numpy(),
                          target_num=standard.to_numpy())
        unit = ctx.unit_of(level).reindex(com.index)
        g = pd.DataFrame({"n": 1, "pass": status == PASS, "fail": status == FAIL, "unev": status == UNEVALUABLE,
                          "gap": gap, "rural": ctx.rural.reindex(com.index).eq(True)}
                         ).groupby(unit.to_numpy()).sum()
        _, coms, coms_zh = ctx.nouns("community", g["rural"], g["n"], index=g.index)
        st = _statuses((g["fail"] == 0) & (g["unev"] == 0), g["fail"] > 0)
        value = ctx.say(_int(g["pass"]) + " of " + _int(g["n"]) + " " + coms + " meet",
                        _int(g["n"]) + " 个" + coms_zh + "中 " + _int(g["pass"]) + " 个达标")
        fail = ctx.say(_int(g["fail"]) + " of " + _int(g["n"]) + " " + coms + " below standard; needs "
                       + _int(g["gap"]) + " m² more in total",
                       _int(g["n"]) + " 个" + coms_zh + "中 " + _int(g["fail"]) + " 个未达标，合计还需 "
                       + _int(g["gap"]) + " m²")
        fail = fail + np.where(g["unev"] > 0, ctx.say("; " + _int(g["unev"]) + " cannot be checked",
                                                       "；" + _int(g["unev"]) + " 个无法评估"), "")
        unev = ctx.say(_int(g["unev"]) + " of " + _int(g["n"]) + " " + coms + " cannot be checked "
                       "(residential, households or floor area missing)",
                       _int(g["n"]) + " 个" + coms_zh + "中 " + _int(g["unev"])
                       + " 个无法评估（缺少新建/既有、户数或建筑面积）")
        return _frame(level, g.index, target=agg_text, value=value, status=st, shortfall=_texts(st, fail, unev),
                      value_num=(g["pass"] / g["n"]).to_numpy())

    return _per_level(ctx, t, agg_text, compute)


def _per_1000(t, ctx: Context, *, supply: str, pop_column: str, minimum: float,
              noun: tuple[str, str], people: tuple[str, str]) -> pd.DataFrame:
    """Supply (``supply`` column of facilities of ``t.types``) per 1,000 of ``pop_column`` ≥ ``minimum``."""
    target_text = ctx.say(f"≥ {minimum:g} per 1,000 {people[0]}", f"每千{people[1]} ≥ {minimum:g}")
    what = ctx.types_text(t.types)
    fac = ctx.facilities_of(t.types)
    amount = ctx.number(supply, fac)
    if ctx.com is not None and pop_column in ctx.com:
        pop = ctx.number(pop_column, ctx.com)
    elif ctx.com is None and pop_column == "pop_60plus":
        pop = ctx.facts.covered(None, 0.0)["population"].astype(float)
    else:
        return _unevaluable(ctx, t.levels, ctx.no_column(pop_column), target_text, minimum)

    def compute(level: str) -> pd.DataFrame:
        fac_unit = ctx.fac_unit(level, fac.index)
        supplied = pd.DataFrame({"known": amount.fillna(0.0), "unknown": amount.isna()}).groupby(
            fac_unit.to_numpy()).sum()
        pop_unit = np.full(len(pop), ctx.all) if level == "overall" else ctx.unit_of(level).reindex(pop.index)
        rural = ctx.rural.reindex(pop.index).eq(True).to_numpy() & pop.isna().to_numpy()
        people_sum = pd.DataFrame({"pop": pop.fillna(0.0), "pop_unknown": pop.isna(), "rural_unknown": rural}
                                  ).groupby(pop_unit).sum()
        g = people_sum.join(supplied, how="left").fillna({"known": 0.0, "unknown": 0})
        _, coms, coms_zh = ctx.nouns("community", g["rural_unknown"], g["pop_unknown"], index=g.index)
        required = g["pop"] / 1000 * minimum
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = (g["known"] / g["pop"] * 1000).where(g["pop"] > 0)
        ok_pop = (g["pop"] > 0) & (g["pop_unknown"] == 0)
        passed = ok_pop & (g["known"] >= required - _EPS)
        status = _statuses(passed, ok_pop & ~passed & (g["unknown"] == 0))
        fail = ctx.say("needs " + _int(np.ceil(required - g["known"] - 1e-6)) + f" {noun[0]} more",
                       "还需 " + _int(np.ceil(required - g["known"] - 1e-6)) + f" {noun[1]}")
        why = np.where(g["pop_unknown"] > 0,
                       ctx.say(f"{pop_column} not given for " + _int(g["pop_unknown"]) + " " + coms,
                               _int(g["pop_unknown"]) + " 个" + coms_zh + f"缺少{COLUMN_ZH[pop_column]}"),
                       np.where(g["pop"] <= 0, ctx.say(f"no {people[0]} in this unit", f"本单元无{people[1]}"),
                                ctx.say(f"{supply} not given for " + _int(g["unknown"]) + f" {what}",
                                        _int(g["unknown"]) + f" 个{what}缺少{COLUMN_ZH[supply]}")))
        value = np.where(ratio.notna(), _dec(ratio.fillna(0)) + ctx.say(" per 1,000", "/千人"), "")
        return _frame(level, g.index, target=target_text, value=value, status=status,
                      shortfall=_texts(status, fail, why), value_num=ratio.to_numpy(), target_num=minimum)

    return _per_level(ctx, t, target_text, compute)


def _beds(t: BedsTarget, ctx: Context) -> pd.DataFrame:
    return _per_1000(t, ctx, supply="beds", pop_column="pop_60plus", minimum=t.min_beds,
                     noun=("beds", "张床位"), people=("elderly", "名老年人"))


def _places(t: PlacesTarget, ctx: Context) -> pd.DataFrame:
    return _per_1000(t, ctx, supply="capacity", pop_column="pop_total", minimum=t.min_places,
                     noun=("places", "个托位"), people=("residents", "常住人口"))


def _nursing(t: NursingShareTarget, ctx: Context) -> pd.DataFrame:
    target_text = ctx.say(f"≥ {_share(t.min_share)} of beds", f"≥ 床位的 {_share(t.min_share)}")
    what = ctx.types_text(t.types)
    fac, why = ctx.select(ctx.facilities_of(t.types), t.facility_where)
    if why:
        return _unevaluable(ctx, t.levels, why, target_text, t.min_share)
    beds, nursing = ctx.number("beds", fac), ctx.number("nursing_beds", fac)
    frame = pd.DataFrame({"n": 1, "beds": beds.fillna(0.0), "nursing": nursing.where(beds.notna()).fillna(0.0),
                          "beds_unknown": beds.isna(), "nursing_unknown": beds.notna() & nursing.isna()})

    def compute(level: str) -> pd.DataFrame:
        unit = ctx.fac_unit(level, fac.index)
        g = frame.groupby(unit.to_numpy()).sum()
        if level == "overall" and len(g) == 0:
            g = pd.DataFrame(0, index=[ctx.all], columns=frame.columns)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = (g["nursing"] / g["beds"]).where(g["beds"] > 0)
        certain = (g["beds_unknown"] == 0) & (g["beds"] > 0)
        passed = certain & (g["nursing"] >= t.min_share * g["beds"] - _EPS)
        status = _statuses(passed, certain & ~passed & (g["nursing_unknown"] == 0))
        need = np.ceil(t.min_share * g["beds"] - g["nursing"] - 1e-6)
        fail = ctx.say(_int(need) + " more of the " + _int(g["beds"]) + " beds must be nursing-type",
                       _int(g["beds"]) + " 张床位中还需 " + _int(need) + " 张为护理型")
        why = np.where(g["n"] == 0, ctx.say(f"no {what} in this unit", f"本单元无{what}"),
                       np.where(g["beds_unknown"] > 0,
                                ctx.say("beds not given for " + _int(g["beds_unknown"]) + f" {what}",
                                        _int(g["beds_unknown"]) + f" 个{what}缺少床位数"),
                                np.where(g["beds"] <= 0, ctx.say(f"{what} have no beds", f"{what}床位为 0"),
                                         ctx.say("nursing_beds not given for " + _int(g["nursing_unknown"])
                                                 + f" {what}",
                                                 _int(g["nursing_unknown"]) + f" 个{what}缺少护理型床位数"))))
        value = np.where(share.notna(), _pct(share.fillna(0)), "")
        return _frame(level, g.index, target=target_text, value=value, status=status,
                      shortfall=_texts(status, fail, why), value_num=share.to_numpy(), target_num=t.min_share)

    return _per_level(ctx, t, target_text, compute)


def _co_location(t: CoLocationTarget, ctx: Context) -> pd.DataFrame:
    what = ctx.types_text(t.types)
    near = ctx.types_text(t.near_types) if not t.near_all else ctx.say(" and ", "和").join(
        ctx.types_text([code]) for code in t.near_types)
    target_text = ctx.say(f"≥ {_share(t.min_share)} within {t.max_distance_m:g} m of {near}",
                          f"≥ {_share(t.min_share)} 在{near} {t.max_distance_m:g} 米内")
    fac = ctx.facilities_of(t.types)
    if len(fac) == 0:
        return _unevaluable(ctx, t.levels, ctx.say(f"no {what} among the facilities", f"设施中没有{what}"),
                            target_text, t.min_share)
    gdf = ctx.facts.facilities.reset_index(drop=True)[["geometry"]].to_crs(ctx.facts.network_crs)
    a = gdf.loc[fac.index]
    near_ok = pd.Series(True, index=fac.index)
    for group in ([[code] for code in t.near_types] if t.near_all else [t.near_types]):
        b = gdf.loc[ctx.base.facilities_of(group).index]  # a neighbour may stand in any community
        pairs = gpd.sjoin(a, b, predicate="dwithin", distance=t.max_distance_m, how="inner")
        pairs = pairs[pairs.index != pairs["index_right"]]  # a facility is not its own neighbour
        near_ok &= fac.index.isin(pairs.index)
    lacks = ctx.say(f"have no {near}", f"没有{near}") if not t.near_all else \
        ctx.say(f"do not have all of {near}", f"未同时具备{near}")

    def compute(level: str) -> pd.DataFrame:
        g = near_ok.groupby(ctx.fac_unit(level, fac.index).to_numpy()).agg(["size", "sum"])
        n, k = g["size"], g["sum"].astype(int)
        share = k / n
        status = _statuses(k >= t.min_share * n - 1e-9, k < t.min_share * n - 1e-9)
        need = np.clip(np.ceil(t.min_share * n - k - 1e-9), 0, None)
        fail = ctx.say(_int(n - k) + " of " + _int(n) + f" {what} {lacks} within {t.max_distance_m:g} m",
                       _int(n) + f" 个{what}中 " + _int(n - k) + f" 个在 {t.max_distance_m:g} 米内{lacks}")
        if t.min_share < 1:
            fail = fail + ctx.say("; needs " + _int(need) + " more", "；还需 " + _int(need) + " 个")
        value = ctx.say(_int(k) + " of " + _int(n) + " (" + _pct(share) + ")",
                        _int(k) + "/" + _int(n) + "（" + _pct(share) + "）")
        return _frame(level, g.index, target=target_text, value=value, status=status,
                      shortfall=_texts(status, fail, ""), value_num=share.to_numpy(), target_num=t.min_share)

    return _per_level(ctx, t, target_text, compute)


def _min_floor_area(t: FloorAreaMinTarget, ctx: Context) -> pd.DataFrame:
    what = ctx.types_text(t.types)
    if t.min_m2 is not None:
        limit = ctx.say(f"{t.min_m2:g} m²", f"{t.min_m2:g} 平方米")
    else:
        limit = ctx.say(f"{t.min_m2_per_bed:g} m² per bed", f"每床 {t.min_m2_per_bed:g} 平方米")
    target_text = ctx.say(f"≥ {limit}", f"≥ {limit}") + (
        "" if t.min_share >= 1 else ctx.say(f" for ≥ {_share(t.min_share)}", f"（≥ {_share(t.min_share)} 的设施）"))
    fac, why = ctx.select(ctx.facilities_of(t.types), t.facility_where)
    if why:
        return _unevaluable(ctx, t.levels, why, target_text, t.min_share)
    if len(fac) == 0:
        return _unevaluable(ctx, t.levels, ctx.say(f"no {what} among the facilities", f"设施中没有{what}"),
                            target_text, t.min_share)
    area = ctx.number("floor_area_m2", fac)
    beds = ctx.number("beds", fac)
    required = pd.Series(t.min_m2, index=fac.index, dtype=float) if t.min_m2 is not None else t.min_m2_per_bed * beds
    ok = area >= required - _EPS
    bad = area.notna() & required.notna() & ~ok
    shown = (area if t.min_m2 is not None else area / beds).where(bad)
    unit = " m²" if t.min_m2 is not None else ctx.say(" m²/bed", " m²/床")
    detail = (fac["label"].astype(str) + " " + _dec(shown.fillna(0), 0 if t.min_m2 is not None else 1).to_numpy()
              + unit).where(bad, "")
    frame = pd.DataFrame({"n": 1, "ok": ok, "bad": bad, "unknown": ~ok & ~bad, "detail": detail})

    def compute(level: str) -> pd.DataFrame:
        grouped = frame.groupby(ctx.fac_unit(level, fac.index).to_numpy())
        g = grouped[["n", "ok", "bad", "unknown"]].sum()
        names = grouped["detail"].agg(lambda s: ", ".join([x for x in s if x][:3]))
        share = g["ok"] / g["n"]
        status = _statuses(g["ok"] >= t.min_share * g["n"] - 1e-9, g["ok"] + g["unknown"] < t.min_share * g["n"] - 1e-9)
        fail = ctx.say(_int(g["bad"]) + " of " + _int(g["n"]) + f" {what} below {limit}: ",
                       _int(g["n"]) + f" 个{what}中 " + _int(g["bad"]) + f" 个小于{limit}：") + names
        why = ctx.say("floor area" + (" or beds" if t.min_m2 is None else "") + " not given for "
                      + _int(g["unknown"]) + f" {what}",
                      _int(g["unknown"]) + f" 个{what}缺少建筑面积" + ("或床位数" if t.min_m2 is None else ""))
        value = ctx.say(_int(g["ok"]) + " of " + _int(g["n"]) + " (" + _pct(share) + ")",
                        _int(g["ok"]) + "/" + _int(g["n"]) + "（" + _pct(share) + "）")
        return _frame(level, g.index, target=target_text, value=value, status=status,
                      shortfall=_texts(status, fail, why), value_num=share.to_numpy(), target_num=t.min_share)

    return _per_level(ctx, t, target_text, compute)


_KINDS: dict[str, Callable[..., pd.DataFrame]] = {
    "coverage": _coverage,
    "facility_count": _facility_count,
    "floor_area_per_100_households": _floor_area,
    "beds_per_1000_elderly": _beds,
    "places_per_1000_residents": _places,
    "nursing_bed_share": _nursing,
    "co_location": _co_location,
    "min_floor_area": _min_floor_area,
}
