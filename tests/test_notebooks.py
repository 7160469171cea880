"""The notebooks in ``notebooks/``: committed without outputs, and executed end to end on the demo data.

Each notebook runs in a fresh ``python3`` kernel (ipykernel) through nbclient, from a copy in a temporary
working folder, with ``TMPDIR`` pointing at another temporary folder: nothing is written into the repository.
The comparison notebook finds the repository's scenario files through ``CARECIRCLE_SCENARIOS``, which the test
sets (an installed carecircle does not ship ``data/scenarios``).
"""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCENARIOS = ROOT / "data" / "scenarios"
TIMEOUT_S = 180  # per cell; a whole notebook takes about 15 s


def _run(name: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[nbformat.NotebookNode, Path, Path]:
    """Execute ``notebooks/<name>`` in a temporary working folder; return it executed, the folder and TMPDIR."""
    work = tmp_path_factory.mktemp("work")
    tmp = tmp_path_factory.mktemp("tmp")
    shutil.copy(ROOT / "notebooks" / name, work / name)
    nb = nbformat.read(work / name, as_version=4)
    client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    # The kernel's environment: start_kernel keywords pass through execute().
    client.execute(env={**os.environ, "CARECIRCLE_SCENARIOS": str(SCENARIOS), "TMPDIR": str(tmp)})
    return nb, work, tmp


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    return _run("01_walkthrough.ipynb", tmp_path_factory)


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    return _run("02_scenario_comparison.ipynb", tmp_path_factory)


def _tagged(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def _text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _html(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs
                   if o.output_type in ("execute_result", "display_data"))


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    return [f"{o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == "code"
            for o in c.outputs if o.output_type == "error"]


# --- committed state -----------------------------------------------------------------------------------------


def test_both_notebooks_are_there():
    assert {"01_walkthrough.ipynb", "02_scenario_comparison.ipynb"} <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} hold outputs or execution counts; clear them before "
                       "committing (Jupyter: Edit > Clear Outputs of All Cells, then save).")
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


# --- the walkthrough -----------------------------------------------------------------------------------------


def test_walkthrough_runs_without_errors_and_writes_nothing_beside_it(walkthrough):
    nb, work, _ = walkthrough
    assert _errors(nb) == []
    assert sorted(p.name for p in work.iterdir()) == ["01_walkthrough.ipynb"]


def test_walkthrough_prints_the_headline_shares(walkthrough):
    text = _text(_tagged(walkthrough[0], "headline"))
    for minutes in (5, 10, 15):
        assert re.search(rf"^{minutes}-minute share: \d{{1,3}}\.\d%", text, flags=re.MULTILINE), text
    assert "Elderly (60+) in the study area: 11,127" in text


def test_walkthrough_shows_the_interactive_map_inline(walkthrough):
    page = _html(_tagged(walkthrough[0], "map"))
    assert "<iframe" in page
    doc = html.unescape(page)
    assert "L.map(" in doc and "Uncovered" in doc


def test_walkthrough_writes_report_and_static_map_to_a_temporary_folder(walkthrough):
    nb, _, tmp = walkthrough
    assert "Report: " in _text(_tagged(nb, "report"))
    reports = list(tmp.glob("carecircle-walkthrough-*/report.html"))
    assert len(reports) == 1
    page = reports[0].read_text(encoding="utf-8")
    for section in ("headline", "compliance", "by-type", "map", "suggestion", "communities", "method"):
        assert f'<section id="{section}">' in page
    assert (reports[0].parent / "map.png").read_bytes().startswith(b"\x89PNG")
    images = [o for o in nb.cells[-1].outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1


# --- the scenario comparison ---------------------------------------------------------------------------------


def test_comparison_runs_without_errors_and_writes_nothing_beside_it(comparison):
    nb, work, _ = comparison
    assert _errors(nb) == []
    assert sorted(p.name for p in work.iterdir()) == ["02_scenario_comparison.ipynb"]
    assert str(SCENARIOS) in _text(nb.cells[1])


def test_comparison_shows_the_headline_table(comparison):
    page = _html(_tagged(comparison[0], "headline"))
    for column in ("share_base", "share_plan", "share_change", "newly_covered", "no_longer_covered"):
        assert f">{column}</th>" in page
    assert "pp</td>" in page  # changes of share in percentage points


def test_comparison_lists_the_flipped_compliance_rows(comparison):
    cell = _tagged(comparison[0], "flips")
    found = re.search(r"^(\d+) of (\d+) compliance rows change status", _text(cell), flags=re.MULTILINE)
    assert found and int(found[1]) > 0
    assert "subdistrict_centre" in _html(cell)  # the plan's new centre for the South Subdistrict


def test_comparison_shows_the_comparison_map_inline(comparison):
    page = _html(_tagged(comparison[0], "map"))
    assert "<iframe" in page and "L.map(" in html.unescape(page)
