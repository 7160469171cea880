"""The console's and the comparison report's labels in English and Chinese (re-exported by
:mod:`carecircle.outputs.i18n`, where every other label lives)."""

from __future__ import annotations

from typing import Any

CONSOLE_LABELS: dict[str, dict[str, Any]] = {
    "en": {
        "list_sep": ", ", "more": " …",
        "study": "Study '{name}': {elderly} elderly people, {n} facilities, walking {speed} m/s",
        "within_min": "{m:>4} min", "within_m": "{m:>5} m",
        "within_line": "  within {within}: {pct:>6}  ({covered} covered, {uncovered} not)",
        "sensitivity": "  coverage within {within} (largest threshold; at each speed): {figures}",
        "sens_figure": "{share} at {speed} m/s",
        "below": "  {n} {what} below the {target} target: {names}",
        "community": "community", "communities": "communities",
        "off_network": "  {n} demand points lie too far from the network and count as not covered",
        "access": "  Accessibility ({method}, supply: {supply}): {mean} per {per} {who} on average, median "
                  "{median}; Gini {gini}",
        "access_below": "    {share} of the {who} ({n}) reach less than {level} per {per} ({source}); {none} "
                        "reach none",
        "who_elderly": "elderly", "who_children": "children aged 0–3",
        "level_target": "the standard's target", "level_given": "the given level",
        "level_mean": "the study-wide average",
        "access_mismatch": "    many {who}, little supply: {names}",
        "access_unreached": "    no {who} within the catchment of: {names}",
        "compliance": "  Standard {id}: of {total} targets (study-wide), {met} met, {fail} not met, {unev} not "
                      "checkable with these inputs; compliance.csv has {rows} rows (each target per subdistrict, "
                      "community …)",
        "not_met": "    not met  {id}: {value} vs {target}; {shortfall}",
        "unknown": "    unknown  {id}: {shortfall}",
        "note": "  Note: {note}",
        "results": "Results in {folder}/: {files}",
        "replaced": "  (the earlier results in {folder}/ were replaced; give --output DIR to keep both)",
        "open_report": "Open the report: {report}  (map alone: {map})",
        # suggest
        "method_mclp": "mclp (most elderly covered by N sites)", "method_set-cover": "set-cover (fewest sites to the "
        "target)", "method_p-median": "p-median (least total walking time)",
        "suggest_head": "Study '{name}': {method}, {n} new sites from {candidates} candidates; within {m} min "
                        "{before} → {after}",
        "target_met": "  the target {target} is already met: {share} within {m} min; no new site needed",
        "fewer": "  {n} of the {asked} sites asked for: {why}",
        "why_all": "every elderly person is now within {m} min",
        "why_none": "no other candidate adds coverage (the {uncovered} elderly still not covered are beyond {m} min "
                    "of every candidate; add candidates with --candidates or a smaller --spacing-m)",
        "why_budget": "the budget ({budget}) allows no more, or no other candidate adds coverage",
        "site": "  {rank:>3}. {id}  +{gain} elderly  → {share}",
        "site_pmedian": "  {rank:>3}. {id}  saves {saved} person-minutes of walking; +{gain} elderly newly within "
                        "{m} min → {share}",
        "pmedian_note": "  p-median chooses the sites that cut total walking time most: a site with +0 newly covered "
                        "brings elderly already covered closer",
        "sug_access": "  accessibility before new sites: average {mean} per {per} elderly, Gini {gini}, {below} "
                      "elderly below the level",
        "sug_access_site": ";  supply {supply}{guess}: average {mean}, Gini {gini}, {below} below the level",
        "estimated": " (a typical facility's, estimated)",
        "solver": "  solver: {method}, {status}, gap {gap}, {time} s",
        "scenario_suggest": "  suggested {n} new sites ({method}): within {m} min {before} → {after}, in {folder}/",
        # compare
        "compare_head": "Comparing '{base}' (base) with '{plan}' (plan):",
        "cmp_cols": ("threshold", "base", "plan", "change", "covered base → plan", "newly covered",
                     "no longer covered"),
        "pp": "{v:+.1f} pp",
        "flips": "  Targets that flip ({n}):",
        "flip": "    {id} ({unit}): {base} → {plan}",
        "no_flips": "  No standards target changes status.",
        "com_now_meet": "  Communities now meeting the {target} target: {names}",
        "com_now_below": "  Communities now below the {target} target: {names}",
        "cmp_access": "  accessibility ({method}, {supply}): average {mean_b} → {mean_p} per {per} elderly; Gini "
                      "{gini_b} → {gini_p}; below the level {below_b} → {below_p}",
        "status_pass": "met", "status_fail": "not met", "status_unevaluable": "not checkable",
        "unit_overall": "study-wide",
        # batch
        "batch_on": "Running on {where}", "cluster_local": "a local Dask cluster of {n} worker processes",
        "cluster_scheduler": "the Dask scheduler at {address}", "cluster_client": "the given Dask client",
        "dashboard": "; dashboard: {link}", "no_dashboard": " (no dashboard)",
        "tasks_one": "{n} task", "tasks_many": "{n} tasks", "regions_one": "{n} region", "regions_many": "{n} regions",
        "batch_head": "Batch of {tasks} in {regions}: {ran} run now, {skipped} skipped (done and unchanged), "
                      "{failed} failed",
        "batch_cols": ("rank", "region / variation", "within {m}", "targets met", "new sites"),
        "targets_of": "{met} of {total}", "na": "n/a",
        "batch_more": "  … {n} more in summary.csv",
        "batch_failed": "  failed  {region} / {variation}: {error}",
        "batch_summary": "Summary: {csv}, {xlsx}; manifest: {manifest}",
        "batch_index": "Open the index: {index}",
        "batch_some_failed": "{failed} of {tasks} failed (exit code {code}); fix them and run the same command again: "
                             "only the failed and changed tasks run.",
        # standards
        "std_profile": "{id}: {name_zh} / {name_en}",
        "std_copied": "Copied the profile {name} to {path}; edit it (its targets, sources, thresholds), then use it "
                      "with --standard {path} (or `standard: {path}` in a scenario).",
        "std_use": "Use one with --standard NAME. To write your own, copy one out and edit it: carecircle standards "
                   "--copy qiqihar-2025 my-city.yaml, then --standard my-city.yaml.",
    },
    "zh": {
        "list_sep": "、", "more": "…",
        "study": "研究区“{name}”：60岁及以上老年人 {elderly} 人，养老服务设施 {n} 处，步行速度 {speed} 米/秒",
        "within_min": "{m}分钟", "within_m": "{m}米",
        "within_line": "  步行{within:>6}内：{pct:>6}（覆盖 {covered} 人，未覆盖 {uncovered} 人）",
        "sensitivity": "  {within}内覆盖率（最大阈值，各步行速度）：{figures}",
        "sens_figure": "{speed}米/秒 {share}",
        "below": "  {n} 个{what}未达到 {target} 的覆盖目标：{names}",
        "community": "社区", "communities": "社区",
        "off_network": "  {n} 个需求点距路网过远，计为未覆盖",
        "access": "  可达性（{method}，供给：{supply}）：平均每{per}名{who} {mean}，中位数 {median}；基尼系数 {gini}",
        "access_below": "    {share} 的{who}（{n} 人）可达供给低于每{per}人 {level}（{source}）；"
                        "{none} 人无可达供给",
        "who_elderly": "老年人", "who_children": "0–3岁婴幼儿",
        "level_target": "标准目标", "level_given": "给定水平", "level_mean": "全域平均水平",
        "access_mismatch": "    {who}多而供给少：{names}",
        "access_unreached": "    服务范围内没有{who}的设施：{names}",
        "compliance": "  标准 {id}：{total} 项指标（全域）中达标 {met} 项、未达标 {fail} 项、"
                      "现有数据无法评估 {unev} 项；compliance.csv 按指标逐级（全域、街道、社区……）列出，共 {rows} 行",
        "not_met": "    未达标  {id}：现状 {value}，目标 {target}；{shortfall}",
        "unknown": "    无法评估  {id}：{shortfall}",
        "note": "  说明：{note}",
        "results": "结果保存在 {folder}/：{files}",
        "replaced": "  （已覆盖 {folder}/ 中此前的结果；如需保留，请用 --output DIR 另存）",
        "open_report": "打开报告：{report}（仅地图：{map}）",
        "method_mclp": "最大覆盖模型（MCLP，N 处站点覆盖最多老年人）",
        "method_set-cover": "集合覆盖模型（以最少站点达到目标）",
        "method_p-median": "P-中位模型（总步行时间最短）",
        "suggest_head": "研究区“{name}”：{method}，从 {candidates} 个候选点中选出 {n} 处新址；{m}分钟内覆盖率 "
                        "{before} → {after}",
        "target_met": "  已达到 {target} 的目标：{m}分钟内覆盖率为 {share}，无需新增站点",
        "fewer": "  仅选出 {n} 处（要求 {asked} 处）：{why}",
        "why_all": "全部老年人已在{m}分钟步行范围内",
        "why_none": "其余候选点都不能增加覆盖（仍未覆盖的 {uncovered} 名老年人距所有候选点均超过{m}分钟；"
                    "可用 --candidates 补充候选点或减小 --spacing-m）",
        "why_budget": "预算（{budget}）不足以再建，或其余候选点都不能增加覆盖",
        "site": "  {rank:>3}. {id}  新增覆盖 {gain} 名老年人  → {share}",
        "site_pmedian": "  {rank:>3}. {id}  减少步行 {saved} 人·分钟；{m}分钟内新增覆盖 {gain} 名老年人 → {share}",
        "pmedian_note": "  P-中位模型选择使总步行时间减少最多的站点：新增覆盖为 0 的站点缩短了已覆盖老年人的步行时间",
        "sug_access": "  新增站点前的可达性：平均每{per}名老年人 {mean}，基尼系数 {gini}，低于水平的老年人 {below} 人",
        "sug_access_site": "；供给 {supply}{guess}：平均 {mean}，基尼系数 {gini}，低于水平 {below} 人",
        "estimated": "（按典型设施估计）",
        "solver": "  求解：{method}，{status}，间隙 {gap}，用时 {time} 秒",
        "scenario_suggest": "  建议新增 {n} 处站点（{method}）：{m}分钟内覆盖率 {before} → {after}，见 {folder}/",
        "compare_head": "比较“{base}”（现状）与“{plan}”（规划）：",
        "cmp_cols": ("步行时间", "现状", "规划", "变化", "覆盖人数 现状 → 规划", "新增覆盖", "失去覆盖"),
        "pp": "{v:+.1f} 个百分点",
        "flips": "  评估结果变化的指标（{n} 项）：",
        "flip": "    {id}（{unit}）：{base} → {plan}",
        "no_flips": "  各项标准指标的评估结果均无变化。",
        "com_now_meet": "  新达到 {target} 目标的社区：{names}",
        "com_now_below": "  新低于 {target} 目标的社区：{names}",
        "cmp_access": "  可达性（{method}，{supply}）：平均每{per}名老年人 {mean_b} → {mean_p}；基尼系数 {gini_b} → "
                      "{gini_p}；低于水平 {below_b} → {below_p}",
        "status_pass": "达标", "status_fail": "未达标", "status_unevaluable": "无法评估", "unit_overall": "全域",
        "sol_exact": "精确求解", "sol_greedy+swap": "贪心+交换", "sol_greedy": "贪心", "sol_optimal": "最优",
        "sol_feasible": "可行解", "sol_time_limit": "达到时间上限",
        "batch_on": "运行于{where}", "cluster_local": "本机 Dask 集群（{n} 个工作进程）",
        "cluster_scheduler": "Dask 调度器 {address}", "cluster_client": "给定的 Dask 客户端",
        "dashboard": "；监控面板：{link}", "no_dashboard": "（无监控面板）",
        "tasks_one": "{n} 项任务", "tasks_many": "{n} 项任务",
        "regions_one": "{n} 个区域", "regions_many": "{n} 个区域",
        "batch_head": "批量运行 {tasks}，涉及 {regions}：本次运行 {ran} 项，跳过 {skipped} 项（已完成且无变化），"
                      "失败 {failed} 项",
        "batch_cols": ("排名", "区域 / 方案", "{m}内覆盖率", "达标指标", "新增站点"),
        "targets_of": "{met}/{total} 项", "na": "无数据",
        "batch_more": "  …另有 {n} 项，见 summary.csv",
        "batch_failed": "  失败  {region} / {variation}：{error}",
        "batch_summary": "汇总表：{csv}、{xlsx}；运行清单：{manifest}",
        "batch_index": "打开索引页：{index}",
        "batch_some_failed": "{tasks}中有 {failed} 项失败（退出码 {code}）；修正后重新运行同一命令即可，"
                             "只会重跑失败和有变化的任务。",
        "std_profile": "{id}：{name_zh}",
        "std_copied": "已将标准配置 {name} 复制到 {path}；编辑其中的指标、依据和阈值后，用 --standard {path} 选用"
                      "（或在情景文件中写 `standard: {path}`）。",
        "std_use": "用 --standard 名称 选用其一。编写本地标准：先复制一份再编辑，例如 carecircle standards "
                   "--copy qiqihar-2025 my-city.yaml，然后用 --standard my-city.yaml。",
    },
}

#: The comparison's report.html (:mod:`carecircle.outputs.comparison`); the headline table's columns are
#: CONSOLE_LABELS' ``cmp_cols``, its change unit CONSOLE_LABELS' ``pp``.


COMPARISON_REPORT_LABELS: dict[str, dict[str, str]] = {
    "en": {"title": "Comparison: {base} (base) and {plan} (plan)", "coverage": "Walking coverage of the elderly",
           "flips": "Standards targets that flip", "no_flips": "No standards target changes status.",
           "target": "Target", "unit": "Unit", "base": "{base}", "plan": "{plan}", "description": "What it asks",
           "communities": "Communities and the {target} target", "now_meet": "Now meeting it", "colon": ": ",
           "now_below": "Now below it", "none": "none", "facilities": "Facilities added, removed or changed",
           "facility": "Facility", "name": "Name", "change": "Change", "details": "Details",
           "map": "Map of what changes", "open_map": "Open the map alone (map.html)",
           "files": "Tables (headline.csv, communities.csv, compliance.csv …) and the static map (map.png) are in "
                    "this folder.",
           "added": "added", "removed": "removed", "changed": "changed"},
    "zh": {"title": "方案比较：{base}（现状）与{plan}（规划）", "coverage": "老年人步行覆盖",
           "flips": "评估结果变化的指标", "no_flips": "各项标准指标的评估结果均无变化。",
           "target": "指标", "unit": "单元", "base": "{base}", "plan": "{plan}", "description": "指标内容",
           "communities": "社区与{target}覆盖目标", "now_meet": "新达标", "now_below": "新不达标", "colon": "：",
           "none": "无", "facilities": "新增、撤除或调整的设施", "facility": "设施", "name": "名称", "change": "变化",
           "details": "变化内容", "map": "变化地图", "open_map": "单独打开地图（map.html）",
           "files": "明细表（headline.csv、communities.csv、compliance.csv 等）与静态地图（map.png）均在本文件夹中。",
           "added": "新增", "removed": "撤除", "changed": "调整"},
}


# --- the comparison tables in Chinese (the study tables' own headers: carecircle.outputs.tables) ---------------

#: Suffixes of the comparison columns ``<column>_base`` / ``_plan`` / ``_change``.
