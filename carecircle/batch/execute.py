"""Running a batch's regions: one unit of work per region (its network sits in one process), serially or on Dask.

:func:`run_region` is what a worker runs: every task of one region in order, sharing the region's network (built
once, then reloaded from the network cache in milliseconds), each written by the ordinary writers
(:func:`carecircle.runner.run_scenario`), then the comparison of each variation with the region's first. A task
that fails is recorded with its one-line message and the region's other tasks go on.

:func:`run_regions` sends the regions to a ``dask.distributed`` cluster (a LocalCluster of processes by default,
an existing scheduler by address, or a client given) or runs them one after the other in this process
(``executor="serial"``); both write the same files. A worker that dies (killed, out of memory) takes its
region's tasks with it: Dask retries the region once on another worker, then the tasks are recorded as failed.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import shapely

from carecircle.batch.manifest import output_digests
from carecircle.batch.spec import BatchTask
from carecircle.core.coverage import threshold_label
from carecircle.defaults import BATCH_EXECUTORS, BATCH_WORKER_RETRIES
from carecircle.errors import CarecircleError, InputError
from carecircle.io.readers import read_polygons
from carecircle.outputs.comparison import write_comparison
from carecircle.plan.compare import compare
from carecircle.runner import ScenarioRun, run_scenario

try:
    import resource  # peak memory of the worker process (POSIX)
except ImportError:  # Windows: not recorded
    resource = None

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

#: ``callback(outcomes)`` after each region, with the outcome of each of its tasks (see :func:`run_region`).
RegionDone = Callable[[list[dict]], None]


@dataclass(frozen=True)
class RegionWork:
    """One region's unit of work: the tasks to run and, for the comparisons, every task of the region."""

    region: str
    tasks: tuple[BatchTask, ...]
    run: frozenset[str]  # ids of the tasks to run (the others are done and unchanged)
    folder: Path
    cache_dir: Path | None
    compare: bool


def run_region(work: RegionWork) -> list[dict]:
    """Run the tasks of one region; return one outcome per task run (a dict, see below), never raise.

    An outcome holds ``id``, ``status`` (``done`` or ``failed``), ``error`` (one line), ``row`` (the summary
    figures), ``outline`` (the region's outline as GeoJSON, WGS-84), ``outputs`` (file → SHA-256),
    ``comparisons`` and ``timings``; ``traceback`` too for an unexpected error.
    """
    outcomes = []
    runs: dict[str, ScenarioRun] = {}
    for task in work.tasks:
        if task.id not in work.run:
            continue
        started, t0 = datetime.now(UTC).isoformat(timespec="seconds"), time.perf_counter()
        outcome: dict[str, Any] = {"id": task.id, "region": task.region, "variation": task.variation}
        try:
            if task.config is None:
                raise InputError(task.error or "the task has no configuration")
            run = run_scenario(task.config, out_dir=work.folder / task.region / task.variation,
                               cache_dir=work.cache_dir, quiet=True)
            runs[task.id] = run
            outcome.update(status="done", error=None, row=summary_row(run), outline=outline(run),
                           outputs=output_digests(work.folder / task.region / task.variation))
        except CarecircleError as exc:
            outcome.update(status="failed", error=_one_line(str(exc)))
        except MemoryError:
            outcome.update(status="failed", error="out of memory; give the workers more memory (--memory-limit) "
                                                  "or run fewer at once (--workers)")
        except Exception as exc:  # a bug: record it and go on with the other tasks
            outcome.update(status="failed", error=f"internal error: {type(exc).__name__}: {_one_line(str(exc))}; "
                                                  "please report it with the traceback in manifest.json",
                           traceback=traceback.format_exc())
        outcome["timings"] = {"started": started, "seconds": round(time.perf_counter() - t0, 3),
                              "peak_memory_mb": _peak_memory_mb()}
        outcome["worker"] = f"{socket.gethostname()}:{os.getpid()}"
        outcomes.append(outcome)
    if work.compare:
        comparisons = _comparisons(work, runs)
        for outcome in outcomes:
            outcome["comparisons"] = comparisons
    return outcomes


def _comparisons(work: RegionWork, runs: dict[str, ScenarioRun]) -> dict[str, str]:
    """Each variation against the region's first (``<region>/compare-<variation>/``), where either side ran now;
    a side that did not run is computed again without writing. Returns folder → ``ok`` or the error."""
    ok = [t for t in work.tasks if t.config is not None]
    if len(ok) < 2:
        return {}
    base, out = ok[0], {}
    for other in ok[1:]:
        if base.id not in runs and other.id not in runs:
            continue
        if (base.id in work.run and base.id not in runs) or (other.id in work.run and other.id not in runs):
            continue  # one side failed just now
        name = f"compare-{other.variation}"
        try:
            pair = [runs.get(t.id) or run_scenario(t.config, cache_dir=work.cache_dir, quiet=True, write=False)
                    for t in (base, other)]
            cmp = compare(pair[0].study, pair[1].study, base_name=base.variation, plan_name=other.variation)
            write_comparison(cmp, work.folder / work.region / name, lang=pair[1].study.lang)
            runs.setdefault(base.id, pair[0])
            out[name] = "ok"
        except CarecircleError as exc:
            log.warning("batch: %s: no comparison with %s: %s", other.id, base.variation, exc)
            out[name] = _one_line(str(exc))
    return out


def summary_row(run: ScenarioRun) -> dict:
    """The figures of one task for the batch summary: coverage at each threshold, targets, suggested sites."""
    study = run.study
    s = study.coverage.summary
    top = threshold_label(max(study.coverage.thresholds_min))
    row: dict[str, Any] = {
        "elderly": float(s["elderly_population"]), "speed_mps": float(s["walk_speed_mps"]),
        "standard": study.profile.id if study.profile is not None else "",
        "top_min": top, "share_top": s["share"][top], "target_share": float(s["target_share"]),
        "communities_below_target": len(s["communities_below_target"]),
        "share": {k: v for k, v in s["share"].items()}, "covered": {k: float(v) for k, v in s["covered"].items()},
    }
    if study.compliance is not None and len(study.compliance):
        overall = study.compliance[study.compliance["level"] == "overall"]["status"].value_counts()
        row.update(targets_met=int(overall.get("pass", 0)), targets_not_met=int(overall.get("fail", 0)),
                   targets_unknown=int(overall.get("unevaluable", 0)))
    if run.suggestion is not None:
        sug = run.suggestion
        lab = threshold_label(sug.minutes)
        row.update(new_sites=len(sug.sites), share_after=sug.after.summary["share"][lab], sites_min=lab)
    return row


def outline(run: ScenarioRun) -> dict | None:
    """The region's outline (WGS-84 GeoJSON geometry, ~10 m precision): its boundary, else its communities'
    union, else the hull of its demand points."""
    config, cov = run.scenario, run.study.coverage
    geom = None
    if config.region is not None:
        given = config.region.boundary
        layer = given if isinstance(given, gpd.GeoDataFrame) else read_polygons(given)
        geom = shapely.union_all(layer.to_crs("EPSG:4326").geometry.values)
    elif len(cov.communities):
        geom = shapely.union_all(cov.communities.to_crs("EPSG:4326").geometry.values)
    elif len(cov.demand):
        geom = shapely.convex_hull(shapely.multipoints(cov.demand.to_crs("EPSG:4326").geometry.values))
    if geom is None or geom.is_empty:
        return None
    geom = shapely.set_precision(shapely.simplify(geom, 1e-4, preserve_topology=True), 1e-5)
    return json.loads(shapely.to_geojson(geom))


def _peak_memory_mb() -> float | None:
    """The process's peak resident memory so far, MB (Linux reports kB, macOS bytes)."""
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------------------------------------ executors


def run_regions(works: Sequence[RegionWork], *, executor: str = BATCH_EXECUTORS[0], client: Client | None = None,
                scheduler: str | None = None, workers: int | None = None, memory_limit: str | None = None,
                on_cluster: Callable[[str], None] | None = None, done: RegionDone | None = None) -> list[dict]:
    """Run every region's work and return every outcome; ``done(outcomes)`` is called after each region.

    ``executor``: ``"dask"`` (a ``dask.distributed`` client: ``client`` if given, else one connected to
    ``scheduler``, else the address in Dask's configuration ``scheduler-address``, else a new LocalCluster of
    ``workers`` processes with ``memory_limit`` each) or ``"serial"`` (in this process, in order).
    ``on_cluster(text)`` receives a description of the cluster and its dashboard address.
    """
    if executor not in BATCH_EXECUTORS:
        raise InputError(f"executor {executor!r} is not one of {', '.join(BATCH_EXECUTORS)}.")
    report = done or (lambda _outcomes: None)
    outcomes: list[dict] = []
    if executor == "serial":
        for work in works:
            found = run_region(work)
            outcomes += found
            report(found)
        return outcomes
    if not works:
        return outcomes
    # lazy: dask.distributed takes 0.2 s to import and only cluster runs need it
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    with _client(client, scheduler=scheduler, workers=workers, memory_limit=memory_limit) as (dask_client, text):
        if on_cluster is not None:
            on_cluster(text)
        futures = {dask_client.submit(run_region, work, key=f"carecircle-region-{work.region}-{os.urandom(4).hex()}",
                                      pure=False): work for work in works}
        for future in as_completed(futures):
            work = futures[future]
            try:
                found = future.result()
            except KilledWorker:
                found = _failed(work, f"the worker running region {work.region} died (killed, or out of memory: "
                                      "give workers more memory with --memory-limit or run fewer with --workers); "
                                      f"it was tried {BATCH_WORKER_RETRIES + 1} times")
            except FutureCancelledError:
                found = _failed(work, "cancelled (the cluster shut down or lost the task)")
            except Exception as exc:  # the region could not even be sent or unpickled
                found = _failed(work, f"{type(exc).__name__}: {_one_line(str(exc))}")
            outcomes += found
            report(found)
    return outcomes


def _failed(work: RegionWork, error: str) -> list[dict]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return [{"id": t.id, "region": t.region, "variation": t.variation, "status": "failed", "error": error,
             "worker_died": True, "timings": {"started": now, "seconds": None}}
            for t in work.tasks if t.id in work.run]


@contextmanager
def _client(client: Client | None, *, scheduler: str | None, workers: int | None,
            memory_limit: str | None) -> Iterator[tuple[Client, str]]:
    """A Dask client and a line describing it (the dashboard's address included)."""
    import dask  # lazy: only cluster runs need dask
    from distributed import Client, LocalCluster
    if client is not None:
        yield client, _describe(client, "the given Dask client", kind="client")
        return
    address = scheduler or dask.config.get("scheduler-address", None)
    if address:
        with Client(address) as given:
            yield given, _describe(given, f"the Dask scheduler at {address}", kind="scheduler", address=address)
        return
    n = workers or min(os.cpu_count() or 1, 8)
    # A region whose worker dies is tried once more on another worker, then reported (not three more times).
    with dask.config.set({"distributed.scheduler.allowed-failures": BATCH_WORKER_RETRIES}), \
            LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=memory_limit or "auto",
                         dashboard_address=":0", scheduler_port=0, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as local:
        yield local, _describe(local, f"a local Dask cluster of {n} worker processes", kind="local", workers=n)


class ClusterText(str):
    """The line describing the cluster (in English), with its parts for a console in another language: ``kind``
    (``"local"``, ``"scheduler"`` or ``"client"``), ``workers`` (local), ``address`` (scheduler) and
    ``dashboard`` (the dashboard's address, ``None`` when there is none)."""

    kind: str = "client"
    workers: int | None = None
    address: str | None = None
    dashboard: str | None = None


def _describe(client: Client, what: str, *, kind: str, workers: int | None = None,
              address: str | None = None) -> ClusterText:
    try:
        link = client.dashboard_link
    except Exception:  # no dashboard (bokeh missing, or the scheduler serves none)
        link = None
    text = ClusterText(f"{what}; dashboard: {link}" if link else f"{what} (no dashboard)")
    text.kind, text.workers, text.address, text.dashboard = kind, workers, address, link or None
    return text
