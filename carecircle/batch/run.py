"""A whole batch: tasks read, unchanged ones skipped, the rest run (on Dask or serially), manifest and summary kept."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from carecircle.batch.execute import RegionWork, run_regions
from carecircle.batch.manifest import fingerprint, is_current, load_manifest, save_manifest
from carecircle.batch.spec import DEFAULT_VARIATION, Batch, BatchTask, load_batch
from carecircle.batch.summary import summary_table, write_summary
from carecircle.config import StudyConfig, safe_name
from carecircle.core.network import Progress
from carecircle.defaults import BATCH_EXECUTORS
from carecircle.errors import InputError, OutputError
from carecircle.version import __version__

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchResult:
    """What :func:`run_batch` did.

    Attributes
    ----------
    folder : the batch folder: ``<region>/<variation>/`` per task, ``<region>/compare-<variation>/`` per
        comparison, ``summary.csv``, ``summary.xlsx``, ``index.html`` and ``manifest.json``.
    summary : one row per region × variation (see :func:`carecircle.batch.summary.summary_table`).
    manifest : the manifest as written (``tasks``: task id → inputs, options, status, outputs, timings, ...).
    ran, skipped : ids of the tasks run now, and of those skipped as done and unchanged.
    failed : task id → its one-line error, for the tasks that failed now.
    written : the summary files, name → path.
    cluster : the cluster used and its dashboard address (``None`` when serial or nothing ran).
    """

    folder: Path
    summary: pd.DataFrame
    manifest: dict
    ran: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: dict[str, str]
    written: dict[str, Path]
    cluster: str | None

    @property
    def ok(self) -> bool:
        """Every task of the batch is done."""
        return bool(len(self.summary)) and bool((self.summary["status"] == "done").all())


def run_batch(
    sources: Sequence[str | os.PathLike] | Mapping[str, StudyConfig | Sequence[StudyConfig]] | Batch,
    output: str | os.PathLike,
    *,
    executor: str = BATCH_EXECUTORS[0],
    client: Client | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    memory_limit: str | None = None,
    speeds: Sequence[str | float] | None = None,
    standards: Sequence[str] | None = None,
    cache_dir: str | os.PathLike | None = None,
    rerun: bool = False,
    compare: bool = True,
    title: str | None = None,
    progress: Progress | None = None,
    on_cluster: Callable[[str], None] | None = None,
) -> BatchResult:
    """Run many regions × variations, each region's tasks in one process, and keep a resumable manifest.

    Parameters
    ----------
    sources : batch files and scenario files (see :mod:`carecircle.batch.spec`), or from Python a mapping of
        region name → one :class:`~carecircle.config.StudyConfig` or a list of them (its variations, named by
        their ``name``), or a :class:`~carecircle.batch.spec.Batch`.
    output : the batch folder; every task writes ``<region>/<variation>/`` in it.
    executor : ``"dask"`` (default) or ``"serial"`` (in this process, same files byte for byte).
    client : an existing ``dask.distributed`` client (a notebook's); else ``scheduler`` (``tcp://host:8786``),
        else Dask's configured ``scheduler-address``, else a LocalCluster of ``workers`` processes (default:
        the cores, at most 8) with ``memory_limit`` each (``"4GB"``; default: the machine's memory shared).
    speeds, standards : crossed with every task (walking presets or m/s; profile ids or files).
    cache_dir : network cache folder shared by the workers (``None``: each worker keeps its own for its life).
    rerun : run every task, even those done and unchanged.
    compare : write each region's variations compared with its first (``<region>/compare-<variation>/``).
    title : heading of ``index.html``.
    progress : callback ``progress(text, done, total)`` after each region.
    on_cluster : callback receiving the cluster's description and dashboard address.

    Returns
    -------
    BatchResult

    Examples
    --------
    >>> from distributed import Client  # doctest: +SKIP
    >>> result = run_batch(["districts.yaml"], "results/districts", client=Client())  # doctest: +SKIP
    >>> result.summary[["region", "variation", "rank", "share_15"]]  # doctest: +SKIP
    """
    batch = _as_batch(sources, speeds=speeds, standards=standards)
    folder = Path(output).expanduser()
    if folder.resolve() == Path.cwd().resolve():
        raise InputError("--output is the working folder; give the batch a folder of its own, e.g. --output "
                         "results/batch.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the batch folder ({exc.strerror or exc}); choose another with "
                          "--output.") from exc
    manifest = load_manifest(folder)
    entries: dict[str, dict] = manifest["tasks"]
    tasks = batch.tasks
    prints = {t.id: fingerprint(t) for t in tasks}
    todo = {t.id for t in tasks
            if rerun or not is_current(entries.get(t.id), prints[t.id], folder / t.region / t.variation)}
    skipped = tuple(t.id for t in tasks if t.id not in todo)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else None
    works = [RegionWork(region, tuple(ts), frozenset(t.id for t in ts if t.id in todo), folder, cache, compare)
             for region, ts in batch.regions.items() if any(t.id in todo for t in ts)]
    by_id = {t.id: t for t in tasks}
    step = progress or (lambda *_args: None)
    total, counts = len(todo), {"done": 0, "failed": 0}
    started = datetime.now(UTC).isoformat(timespec="seconds")
    if skipped:
        log.info("batch: %d of %d tasks done and unchanged, skipped", len(skipped), len(tasks))
    step(f"{total} tasks to run ({len(skipped)} unchanged, skipped)", 0, total)
    failed: dict[str, str] = {}

    def region_done(outcomes: list[dict]) -> None:
        for outcome in outcomes:
            task = by_id[outcome["id"]]
            entries[task.id] = {**outcome, **prints[task.id], "source": str(task.source) if task.source else None}
            counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
            if outcome["status"] != "done":
                failed[task.id] = outcome.get("error") or "failed"
        manifest.update(carecircle_version=__version__)
        save_manifest(folder, manifest)
        finished = counts["done"] + counts["failed"]
        step(f"{finished} of {total} tasks ({counts['failed']} failed)", finished, total)

    cluster: list[str] = []

    def cluster_info(text: str) -> None:
        cluster.append(text)
        if on_cluster is not None:
            on_cluster(text)

    run_regions(works, executor=executor, client=client, scheduler=scheduler, workers=workers,
                memory_limit=memory_limit, on_cluster=cluster_info, done=region_done)
    manifest["last_run"] = {"started": started, "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                            "executor": executor, "ran": len(todo), "skipped": len(skipped), "failed": len(failed)}
    manifest["carecircle_version"] = __version__
    save_manifest(folder, manifest)
    table = summary_table(tasks, entries)
    outlines = {}
    for t in tasks:
        shape = (entries.get(t.id) or {}).get("outline")
        if shape and t.region not in outlines:
            outlines[t.region] = shape
    written = write_summary(folder, table, outlines, title=title or batch.name)
    log.info("batch: %d tasks run (%d failed), %d skipped; summary in %s", len(todo), len(failed), len(skipped),
             folder)
    return BatchResult(folder=folder, summary=table, manifest=manifest, ran=tuple(t.id for t in tasks if t.id in todo),
                       skipped=skipped, failed=failed, written=written, cluster=cluster[0] if cluster else None)


def _as_batch(sources: Any, *, speeds, standards) -> Batch:
    if isinstance(sources, Batch):
        return sources
    if isinstance(sources, Mapping):
        if speeds or standards:
            raise InputError("speeds and standards cross the tasks of batch and scenario files; from Python, build "
                             "each variation's StudyConfig instead.")
        regions = {}
        for name, configs in sources.items():
            region = safe_name(str(name))
            if not region or region in regions:
                raise InputError(f"region name {name!r} is empty or repeated; give each region its own name.")
            configs = [configs] if isinstance(configs, StudyConfig) else list(configs)
            tasks, seen = [], set()
            for i, config in enumerate(configs):
                if not isinstance(config, StudyConfig):
                    raise InputError(f"region {name!r}: item {i} is not a StudyConfig.")
                variation = safe_name(config.name or "") if len(configs) > 1 else DEFAULT_VARIATION
                if not variation or variation in seen:
                    raise InputError(f"region {name!r}: give each variation its own name (StudyConfig name).")
                seen.add(variation)
                tasks.append(BatchTask(region, variation, config))
            regions[region] = tuple(tasks)
        return Batch(name=None, regions=regions)
    if isinstance(sources, str | os.PathLike):
        sources = [sources]
    return load_batch(list(sources), speeds=speeds, standards=standards)
