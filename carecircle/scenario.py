"""Scenario files: one YAML file describes a whole study (area, inputs, walking, targets, changes, outputs).

An analyst writes what they want to know — "what if we open these two stations and close that one", "where
would five new sites go" — as a small YAML file and runs it with ``carecircle run plan.yaml``. This module reads
such files into the one :class:`~carecircle.config.StudyConfig` and checks them completely before any work
starts::

    scenarios = load_scenarios(["baseline.yaml", "plan.yaml"])   # every problem at once, with its line
    runs = [run_scenario(s, cache_dir="~/.cache/carecircle") for s in scenarios]   # carecircle.runner

Validation collects *every* problem of every file — unknown keys, wrong types, values out of range, missing
files, unknown facility ids — each with its file, line number and key path, e.g.
``plan.yaml line 7, facilities.crs: 'gcj-2' is not one of wgs84, gcj02, bd09 or an EPSG code``, and raises
them together as one :class:`~carecircle.errors.InputError`. The rules themselves live in
:mod:`carecircle.config` (the CLI and the API use them too); line numbers come from the node marks of PyYAML's
composed document. Relative paths in a scenario resolve against the folder of the scenario file.

:func:`example_scenario` returns a commented example showing every option (``carecircle/examples/scenario.yaml``);
:func:`write_example` saves it.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from carecircle.config import (
    COLUMN_KEYS,
    FACILITY_FIELDS,
    ColumnsSpec,
    FacilitiesSpec,
    InputsSpec,
    StudyConfig,
    cross_problems,
    describe_error,
    keypath,
)
from carecircle.errors import CarecircleError, InputError
from carecircle.io.default_data import default_data_dir
from carecircle.io.facility_edits import facility_points
from carecircle.io.readers import read_facilities
from carecircle.outputs.files import write_new_text
from carecircle.pipeline import FACILITY_COLUMNS, read_study_facilities, reader_args
from carecircle.runner import ScenarioRun, run_scenario

__all__ = ["COLUMN_KEYS", "FACILITY_FIELDS", "ColumnsSpec", "Scenario", "ScenarioRun", "StudyConfig",
           "example_scenario", "load_scenario", "load_scenarios", "run_scenario", "scenario_facilities",
           "write_example"]

#: A scenario is a study configuration read from a file (the name scenario files and earlier releases use).
Scenario = StudyConfig


# ------------------------------------------------------------------------------------------- loading


def load_scenario(path: str | os.PathLike) -> StudyConfig:
    """Read and check one scenario file; raise one :class:`InputError` listing every problem.

    Examples
    --------
    >>> s = load_scenario("data/scenarios/plan.yaml")  # doctest: +SKIP
    >>> s.walking.walk_speed_mps, s.thresholds_min  # doctest: +SKIP
    (1.0, [5.0, 10.0, 15.0])
    """
    return load_scenarios([path])[0]


def load_scenarios(paths: Iterable[str | os.PathLike]) -> list[StudyConfig]:
    """Read and check several scenario files; every problem of every file is reported in one InputError.

    Problems are "``file line N, key.path: what is wrong``", joined with ``"; "``. Besides the schema this
    checks that input files exist, that removed or changed facility ids are in the facility file, and that
    no two scenarios write into the same output folder. Nothing heavy runs here (no network is loaded).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no scenario files given; write one with 'carecircle init'.")
    scenarios: list[StudyConfig] = []
    problems: list[str] = []
    for path in paths:
        scenario, found = _load_one(path)
        problems += found
        if scenario is not None:
            scenarios.append(scenario)
    if not problems:
        seen: dict[Path, Path] = {}
        for s in scenarios:
            folder = s.output_folder().resolve()
            if folder in seen:
                problems.append(f"{seen[folder].name} and {s.path.name} both write into {folder}; "
                                "set a different outputs.folder or name in one of them")
            seen[folder] = s.path
    if problems:
        raise InputError("; ".join(problems))
    return scenarios


def _load_one(path: Path) -> tuple[StudyConfig | None, list[str]]:
    label = path.name
    if not path.is_file():
        return None, [f"scenario file '{path}' does not exist"]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{label}: cannot read the scenario ({exc}); save it as UTF-8 text"]
    try:
        node, data = _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        return None, [f"{label}{where}: not valid YAML: {what}"]
    except yaml.YAMLError as exc:
        return None, [f"{label}: not valid YAML: {' '.join(str(exc).split())}"]
    if node is not None and _expanded_size(node) > MAX_VALUES:
        return None, [f"{label}: the scenario expands to more than {MAX_VALUES:,} values through YAML aliases "
                      "(&name / *name); a scenario needs a few hundred at most, so write the values out or remove "
                      "the aliases"]
    problems = [f"{label} line {line}, {key}: {msg}" for line, key, msg in _duplicate_keys(node)]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        return None, [*problems, f"{label} line {line}: a scenario is a mapping of keys (name:, area:, inputs: …), "
                                 f"not a {type(data).__name__}"]
    context = {"folder": path.resolve().parent}
    cross = cross_problems(data)  # also raised by the models, at the section's key: keep these, more precise
    try:
        scenario = StudyConfig.model_validate(data, context=context)
        found = []
    except ValidationError as exc:
        scenario = None
        found = [p for p in map(describe_error, exc.errors()) if p[1] not in {msg for _, msg in cross}]
    if scenario is not None:
        scenario._path = path.resolve()
    problems += [f"{label} line {_line(node, loc)}, {keypath(loc)}: {msg}"
                 for loc, msg in [*found, *cross, *_facility_id_problems(data, context)]]
    problems = sorted(dict.fromkeys(problems), key=_line_of)  # once each, in the order of the file
    return (scenario if not problems else None), problems


def _line_of(problem: str) -> int:
    found = re.search(r" line (\d+)", problem)
    return int(found.group(1)) if found else 0


def _parse(text: str):
    """The composed node tree (for line numbers) and the constructed data, from one parse."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


#: Most values a scenario may hold once YAML aliases are expanded (a guard against "billion laughs" files,
#: which validation would otherwise walk value by value).
MAX_VALUES = 100_000


def _expanded_size(root) -> int:
    """Values in the document with every alias expanded, counted without expanding (each node once, memoised);
    a node that contains itself counts as too many."""
    size: dict[int, int] = {}
    busy: set[int] = set()

    def count(node) -> int:
        key = id(node)
        if key in size:
            return size[key]
        if key in busy:  # a recursive alias: infinite when expanded
            return MAX_VALUES + 1
        busy.add(key)
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            children = []
        total = 1
        for child in children:
            total = min(total + count(child), MAX_VALUES + 1)
        busy.discard(key)
        size[key] = total
        return total

    return count(root)


def _duplicate_keys(node, loc: tuple = (), seen_nodes: set[int] | None = None) -> list[tuple[int, str, str]]:
    """Keys given twice in one mapping; each node is visited once, however often aliases repeat it."""
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:
        return []
    seen_nodes.add(id(node))
    found = []
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else None
            if k in seen:
                found.append((key.start_mark.line + 1, keypath((*loc, k)), "key given twice (the last one wins in "
                              "YAML, which is rarely meant); keep one"))
            seen.add(k)
            found += _duplicate_keys(value, (*loc, k), seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += _duplicate_keys(item, (*loc, i), seen_nodes)
    return found


def _node_at(root, loc: Sequence):
    """The node a key path points to: the key's node for a mapping key (its line is where the key is
    written), the item for a list index; for a path that is not in the document (a missing key), the
    deepest part that is."""
    node, found = root, root
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)),
                         None)
            if match is None:
                return found
            found, node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            found = node = node.value[part]
        else:
            return found
    return found


def _line(root, loc: Sequence) -> int:
    return 1 if root is None else _node_at(root, loc).start_mark.line + 1


def _facility_id_problems(data: dict, context: dict) -> list[tuple[tuple, str]]:
    """Removed/changed ids absent from the facility file, added ids already in it (when the file is readable)."""
    section = data.get("facilities")
    if not isinstance(section, dict) or not any(section.get(k) for k in ("remove", "change", "add")):
        return []
    try:
        spec = FacilitiesSpec.model_validate(section, context=context)
        inputs = InputsSpec.model_validate(data.get("inputs") or {}, context=context)
        columns = ColumnsSpec.model_validate(data.get("columns") or {}, context=context)
    except (ValidationError, TypeError):
        return []  # reported by the full validation
    if data.get("area") is not None and inputs.facilities is None:
        return []  # reported by the full validation
    try:
        path = inputs.facilities if inputs.facilities is not None else default_data_dir() / "facilities.csv"
        existing = read_facilities(path, **reader_args({**columns.model_dump(), "crs": spec.crs}, FACILITY_COLUMNS))
    except CarecircleError as exc:
        return [(("inputs", "facilities"), str(exc).rstrip("."))]
    ids = set(existing["facility_id"].astype(str))
    name = inputs.facilities.name if inputs.facilities is not None else "the demo facilities"
    problems = []
    for i, fid in enumerate(spec.remove):
        if fid not in ids:
            problems.append((("facilities", "remove", i), f"no facility {fid!r} in {name} ({_known(ids)})"))
    for fid in spec.change:
        if fid not in ids:
            problems.append((("facilities", "change", fid), f"no facility {fid!r} in {name} ({_known(ids)})"))
    removed = set(spec.remove)
    for i, add in enumerate(spec.add):
        if add.facility_id in ids and add.facility_id not in removed:
            problems.append((("facilities", "add", i, "facility_id"),
                             f"{add.facility_id!r} is already a facility in {name}; choose a new id"))
    moved = [{"facility_id": fid, "lon": c.lon, "lat": c.lat} for fid, c in spec.change.items() if c.lon is not None]
    for key, rows in (("add", [a.model_dump() for a in spec.add]), ("change", moved)):
        if rows:
            try:  # coordinates checked as the run will read them (range, GCJ-02 outside China, ...)
                facility_points(rows, spec.crs)
            except InputError as exc:
                problems.append((("facilities", key), str(exc).rstrip(".")))
    return problems


def _known(ids: set[str], most: int = 10) -> str:
    shown = sorted(ids)
    return "known: " + ", ".join(shown[:most]) + (" …" if len(shown) > most else "")


def scenario_facilities(scenario: StudyConfig):
    """The scenario's facilities: the facility file (or the demo's) with its add / remove / change applied
    (:func:`carecircle.pipeline.read_study_facilities`)."""
    return read_study_facilities(scenario)


# ----------------------------------------------------------------------------------------------- example


def example_scenario() -> str:
    """A commented example scenario showing every option; it runs on the bundled demo as it is."""
    return resources.files("carecircle").joinpath("examples", "scenario.yaml").read_text(encoding="utf-8")


def write_example(path: str | os.PathLike) -> Path:
    """Write :func:`example_scenario` to ``path``; an existing file is never overwritten (InputError). Its header's
    commands name the file written ("Run it with: carecircle run plan.yaml")."""
    path = Path(path)
    return write_new_text(path, _example_for(path), exists_hint="choose another file name or delete it first")


def _example_for(path: Path) -> str:
    """The example scenario with the commands of its header comment naming ``path``'s file (run from its folder,
    the folder its relative paths are relative to)."""
    name = shlex.quote(path.name)
    lines = example_scenario().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            break
        lines[i] = line.replace("carecircle run scenario.yaml", f"carecircle run {name}").replace(
            "baseline.yaml scenario.yaml", f"baseline.yaml {name}")
    return "".join(lines)
