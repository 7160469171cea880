"""What a batch runs: regions × variations, read from batch files and scenario files, each task a checked study.

A **batch file** lists regions and the variations to cross them with::

    name: liaoning-districts                 # optional: the index page's title
    defaults:                                # scenario keys every region starts from (optional)
      thresholds_min: [5, 10, 15]
      outputs: {isochrones: false}
    regions:
      - name: heping                         # names the region's folder
        network: liaoning.osm.pbf            # shorthands: network, place, boundary, buffer_m,
        boundary: heping.geojson             #   facilities, communities, demand, standard
        facilities: heping_facilities.csv
        communities: heping_communities.geojson
      - name: demo                           # no area: the bundled demo
    variations:                              # every region × every scenario × speed × standard
      scenarios:
        - name: baseline
        - name: more-sites
          suggest: {new_sites: 5}
      speeds: [slow, typical]                # presets or m/s
      standards: [gb50180-2018]

Any other key of a region (``area``, ``inputs``, ``walking``, ``region``, ...) is a scenario key
(:class:`~carecircle.config.StudyConfig`); a variation's keys are merged over the region's (mappings key by key,
lists replaced). Paths are relative to the batch file. A **scenario file** given instead is one task; scenario
files on the same area (and boundary) form one region, so its network is built once.

Problems with the batch file itself stop the batch before any work; a region whose configuration is wrong
(a missing file, a bad value) becomes a failed task with its one-line message and the others run.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from carecircle.config import StudyConfig, safe_name
from carecircle.defaults import SPEED_PRESETS_MPS, check_walk_speed
from carecircle.errors import CarecircleError, InputError
from carecircle.scenario import load_scenario

#: Keys of a batch file.
BATCH_KEYS = ("name", "defaults", "regions", "variations")
#: Keys of ``variations``.
VARIATION_KEYS = ("scenarios", "speeds", "standards")
#: Shorthand keys of a region → their scenario key path.
SHORTHANDS = {
    "network": ("area", "network"), "place": ("area", "place"), "boundary": ("region", "boundary"),
    "buffer_m": ("region", "buffer_m"), "facilities": ("inputs", "facilities"),
    "communities": ("inputs", "communities"), "demand": ("inputs", "demand"), "standard": ("standard",),
}
#: The variation name of a task without variations.
DEFAULT_VARIATION = "study"


@dataclass(frozen=True)
class BatchTask:
    """One study of a batch: a region under one variation.

    Attributes
    ----------
    region, variation : names (folder-safe) of the region and the variation; the task writes into
        ``<batch folder>/<region>/<variation>/``.
    config : the checked study, or ``None`` when its configuration is wrong (then ``error`` says why).
    error : the one-line problem of a task that cannot run.
    source : the batch or scenario file the task comes from (``None`` from Python).
    data : the task's scenario keys, for the manifest's record of options (``None`` for a scenario file).
    """

    region: str
    variation: str
    config: StudyConfig | None
    error: str | None = None
    source: Path | None = None
    data: dict | None = field(default=None, compare=False, repr=False)

    @property
    def id(self) -> str:
        return f"{self.region}/{self.variation}"


@dataclass(frozen=True)
class Batch:
    """The regions of a batch, each with its tasks in order (the first is the base of comparisons)."""

    name: str | None
    regions: dict[str, tuple[BatchTask, ...]]

    @property
    def tasks(self) -> list[BatchTask]:
        return [t for tasks in self.regions.values() for t in tasks]


def load_batch(sources: Sequence[str | os.PathLike], *, speeds: Sequence[str | float] | None = None,
               standards: Sequence[str] | None = None) -> Batch:
    """The tasks of batch files and scenario files (see the module's description).

    ``speeds`` and ``standards`` (the CLI's ``--speeds`` and ``--standards``) are crossed with every task, on
    top of a batch file's own variations. Raises :class:`InputError` for problems of the files themselves
    (not YAML, unknown keys, two regions of one name); a region's own problems become failed tasks.
    """
    paths = [Path(p) for p in sources]
    if not paths:
        raise InputError("no batch or scenario files given; list the regions in a batch file (see `carecircle "
                         "batch --help`) or give scenario files.")
    extra = _cli_variations(speeds, standards)
    regions: dict[str, list[BatchTask]] = {}
    names: list[str | None] = []
    grouped: dict[str, str] = {}  # a scenario file's area key → its region name
    problems: list[str] = []
    for path in paths:
        data = _read_yaml(path)
        if isinstance(data, dict) and "regions" in data:
            try:
                name, found = _batch_file(path, data, extra)
            except InputError as exc:
                problems.append(str(exc).rstrip("."))
                continue
            names.append(name)
            for region, tasks in found.items():
                if region in regions:
                    problems.append(f"{path.name}: region {region!r} is given twice (also in an earlier file); "
                                    "give each region its own name")
                    continue
                regions[region] = tasks
        else:
            region, tasks = _scenario_file(path, extra)
            region = grouped.setdefault(region, _free_name(region, regions))
            regions.setdefault(region, [])
            for task in tasks:
                task = BatchTask(region, task.variation, task.config, task.error, task.source, task.data)
                if any(t.variation == task.variation for t in regions[region]):
                    problems.append(f"{path.name}: region {region!r} already has a task {task.variation!r}; give "
                                    "the scenario another name")
                    continue
                regions[region].append(task)
    if problems:
        raise InputError("; ".join(problems) + ".")
    given = [n for n in names if n]
    return Batch(name=given[0] if len(given) == 1 else None, regions={k: tuple(v) for k, v in regions.items()})


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise InputError(f"batch file '{path}' does not exist.")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name}: cannot read it ({exc}); save it as UTF-8 text.") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{path.name}: not valid YAML: {' '.join(str(exc).split())}.") from exc


def _cli_variations(speeds, standards) -> list[tuple[str, dict]]:
    """(name, scenario keys) of each combination of ``--speeds`` × ``--standards`` (one empty one without)."""
    out = [("", {})]
    if speeds:
        out = [(_join(n, _speed_label(s)), _merge(d, _speed_keys(s))) for n, d in out for s in speeds]
    if standards:
        out = [(_join(n, safe_name(str(s))), _merge(d, {"standard": str(s)})) for n, d in out for s in standards]
    return out


def _batch_file(path: Path, data: dict, extra: list[tuple[str, dict]]) -> tuple[str | None, dict]:
    label = path.name
    unknown = [k for k in data if k not in BATCH_KEYS]
    if unknown:
        raise InputError(f"{label}: unknown key {unknown[0]!r} (a batch file has {', '.join(BATCH_KEYS)})")
    regions = data.get("regions")
    if not isinstance(regions, list) or not regions:
        raise InputError(f"{label}: regions needs a list of regions (lines starting with '- name: ...')")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InputError(f"{label}: defaults needs a mapping of scenario keys")
    variations = _variations(label, data.get("variations") or {})
    variations = [(_join(n, m), _merge(d, e)) for n, d in variations for m, e in extra]
    folder = path.resolve().parent
    found: dict[str, list[BatchTask]] = {}
    for i, region in enumerate(regions):
        if not isinstance(region, dict):
            raise InputError(f"{label}: regions[{i}] needs a mapping of keys (name:, network:, ...)")
        region = dict(region)
        raw = region.pop("name", None)
        name = safe_name(str(raw)) if raw is not None else ""
        if not name:
            raise InputError(f"{label}: regions[{i}] needs a name with a letter or digit (it names its folder)")
        if name in found:
            raise InputError(f"{label}: two regions are named {name!r}; give each its own name")
        keys = _merge(defaults, _expand(region))
        tasks = []
        for variation, overlay in variations:
            task_data = _merge(keys, overlay)
            task_data.setdefault("name", _join(name, variation) if variation else name)
            variation = variation or DEFAULT_VARIATION
            try:
                config = StudyConfig.build(task_data, folder=folder)
                error = None
            except CarecircleError as exc:
                config, error = None, f"{label}, region {name}: {exc}"
            tasks.append(BatchTask(name, variation, config, error, path.resolve(), task_data))
        found[name] = tasks
    name = data.get("name")
    return (str(name) if name is not None else None), found


def _variations(label: str, spec: Any) -> list[tuple[str, dict]]:
    if not isinstance(spec, dict):
        raise InputError(f"{label}: variations needs a mapping (scenarios:, speeds:, standards:)")
    unknown = [k for k in spec if k not in VARIATION_KEYS]
    if unknown:
        raise InputError(f"{label}: variations has an unknown key {unknown[0]!r} (known: {', '.join(VARIATION_KEYS)})")
    out = [("", {})]
    scenarios = spec.get("scenarios")
    if scenarios:
        if not isinstance(scenarios, list) or not all(isinstance(s, dict) for s in scenarios):
            raise InputError(f"{label}: variations.scenarios needs a list of mappings, each with a name")
        named = []
        for i, s in enumerate(scenarios):
            s = dict(s)
            name = safe_name(str(s.pop("name", "")))
            if not name:
                raise InputError(f"{label}: variations.scenarios[{i}] needs a name with a letter or digit")
            named.append((name, s))
        if len({n for n, _ in named}) != len(named):
            raise InputError(f"{label}: variations.scenarios repeat a name; give each its own")
        out = named
    for key, keys_of, label_of in (("speeds", _speed_keys, _speed_label),
                                   ("standards", lambda s: {"standard": str(s)}, lambda s: safe_name(str(s)))):
        values = spec.get(key)
        if values is None:
            continue
        if not isinstance(values, list) or not values:
            raise InputError(f"{label}: variations.{key} needs a list")
        try:
            out = [(_join(n, label_of(v)), _merge(d, keys_of(v))) for n, d in out for v in values]
        except ValueError as exc:
            raise InputError(f"{label}: variations.{key}: {exc}") from None
    return out


def _speed_keys(value: str | float) -> dict:
    if isinstance(value, str) and value in SPEED_PRESETS_MPS:
        return {"walking": {"preset": value, "speed_mps": None}}
    try:
        speed = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is neither m/s nor a preset ({', '.join(SPEED_PRESETS_MPS)})") from None
    return {"walking": {"speed_mps": check_walk_speed(speed), "preset": None}}


def _speed_label(value: str | float) -> str:
    if isinstance(value, str) and value in SPEED_PRESETS_MPS:
        return value
    try:
        return f"{float(value):g}mps"
    except (TypeError, ValueError):
        return safe_name(str(value))  # refused by _speed_keys


def _scenario_file(path: Path, extra: list[tuple[str, dict]]) -> tuple[str, list[BatchTask]]:
    """A scenario file's region key (its area and boundary) and its tasks (one per ``--speeds``/``--standards``)."""
    label = path.stem
    try:
        scenario = load_scenario(path)
    except CarecircleError as exc:
        return safe_name(label) or "scenario", [BatchTask("", safe_name(label) or "scenario", None, str(exc),
                                                         path.resolve())]
    region_key = json.dumps([scenario.area.model_dump(mode="json") if scenario.area is not None else None,
                             str(scenario.region.boundary) if scenario.region is not None else None])
    region = scenario.area_value.name() + (
        "-" + safe_name(Path(str(scenario.region.boundary)).stem) if scenario.region is not None else "")
    tasks = []
    for name, overlay in extra:
        variation = _join(safe_name(scenario.label) or "scenario", name)
        config, error = scenario, None
        if overlay:
            try:
                data = _merge(_dump(scenario), overlay)
                data["name"] = scenario.label
                config = StudyConfig.build(data, folder=path.resolve().parent)
            except CarecircleError as exc:
                config, error = None, f"{path.name}: {exc}"
        tasks.append(BatchTask("", variation, config, error, path.resolve()))
    return f"{region}\n{region_key}", tasks


def _dump(config: StudyConfig) -> dict:
    """A configuration as scenario keys (paths already resolved), to build a variation of it."""
    return config.model_dump(exclude_none=True)


def _free_name(key: str, taken: dict) -> str:
    name = key.split("\n")[0] or "region"
    out, k = name, 2
    while out in taken:
        out, k = f"{name}-{k}", k + 1
    return out


def _expand(region: dict) -> dict:
    """A region's shorthand keys as scenario keys."""
    out: dict[str, Any] = {}
    for key, value in region.items():
        path = SHORTHANDS.get(key)
        if path is None:
            out = _merge(out, {key: value})
            continue
        nested: Any = value
        for part in reversed(path):
            nested = {part: nested}
        out = _merge(out, nested)
    return out


def _merge(base: dict, over: dict) -> dict:
    """``over`` merged into a copy of ``base``: mappings key by key, anything else replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _join(*parts: str) -> str:
    return "_".join(p for p in parts if p)
