"""The batch summary: one row per region × variation (coverage at each threshold, targets met, suggested sites),
written as ``summary.csv`` and ``summary.xlsx``, and the index page linking every task's report."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from carecircle.batch.spec import BatchTask
from carecircle.outputs.batch_index import render_batch_index
from carecircle.outputs.files import write_atomically
from carecircle.outputs.tables import guard_formulas

#: Files a batch writes beside the task folders (besides ``manifest.json``).
SUMMARY_FILES = ("index.html", "summary.csv", "summary.xlsx")


def summary_table(tasks: Sequence[BatchTask], entries: dict[str, dict]) -> pd.DataFrame:
    """One row per task, in the batch's order: status, rank by coverage at the largest threshold (done tasks; ties
    broken by the shorter thresholds),
    elderly, speed, standard, ``share_<m>``/``covered_<m>`` per threshold, targets, suggested sites, error."""
    rows = []
    minutes: set[str] = set()
    for task in tasks:
        entry = entries.get(task.id) or {}
        figures = entry.get("row") or {} if entry.get("status") == "done" else {}
        minutes |= set((figures.get("share") or {}).keys())
        rows.append((task, entry, figures))
    labels = sorted(minutes, key=float)
    out = []
    for task, entry, f in rows:
        row = {"region": task.region, "variation": task.variation, "status": entry.get("status", "not run"),
               "rank": None, "elderly": f.get("elderly"), "speed_mps": f.get("speed_mps"),
               "standard": f.get("standard")}
        for lab in labels:
            row[f"share_{lab}"] = (f.get("share") or {}).get(lab)
        for lab in labels:
            row[f"covered_{lab}"] = (f.get("covered") or {}).get(lab)
        row.update({
            "top_min": f.get("top_min"), "share_top": f.get("share_top"), "target_share": f.get("target_share"),
            "communities_below_target": f.get("communities_below_target"),
            "targets_met": f.get("targets_met"), "targets_not_met": f.get("targets_not_met"),
            "targets_unknown": f.get("targets_unknown"), "new_sites": f.get("new_sites"),
            "share_after_new_sites": f.get("share_after"),
            "report": f"{task.region}/{task.variation}/report.html" if entry.get("status") == "done" else None,
            "error": entry.get("error"),
        })
        out.append(row)
    table = pd.DataFrame(out)
    if len(table):
        done = table[(table["status"] == "done") & table["share_top"].notna()]
        lower = [f"share_{lab}" for lab in reversed(labels)]  # ties broken by the shorter walks
        order = done.sort_values(["share_top", *lower, "region", "variation"],
                                 ascending=[False] * (1 + len(lower)) + [True, True], kind="mergesort").index
        table["rank"] = pd.Series(range(1, len(order) + 1), index=order, dtype="Int64")
        table = table.drop(columns=["top_min", "share_top"])
    return table


def write_summary(folder: Path, table: pd.DataFrame, outlines: dict[str, dict], *,
                  title: str | None) -> dict[str, Path]:
    """``summary.csv``, ``summary.xlsx`` and ``index.html`` in ``folder``, each replaced atomically."""
    floats = table.select_dtypes("float").columns
    rounded = table.assign(**{c: table[c].round(4) for c in floats})
    safe = guard_formulas(rounded)
    csv = safe.to_csv(index=False, lineterminator="\n").encode("utf-8-sig")
    written = {"summary.csv": write_atomically(folder / "summary.csv", lambda fh: fh.write(csv), what="the summary")}

    def xlsx(fh) -> None:
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            safe.to_excel(writer, sheet_name="Summary", index=False)
            sheet = writer.sheets["Summary"]
            sheet.freeze_panes = "C2"
        fh.write(buffer.getvalue())

    written["summary.xlsx"] = write_atomically(folder / "summary.xlsx", xlsx, what="the summary workbook")
    page = render_batch_index(table, outlines, title=title, link=lambda path: quote(path)).encode("utf-8")
    written["index.html"] = write_atomically(folder / "index.html", lambda fh: fh.write(page), what="the index page")
    return written
