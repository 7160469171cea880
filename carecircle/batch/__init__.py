"""Many regions and scenarios at once: batch runs on ``dask.distributed``, resumable, one failure never stops the rest.

:func:`run_batch` (the ``carecircle batch`` command) reads batch files and scenario files into tasks (a region ×
a variation: scenario, walking speed, standard; :mod:`carecircle.batch.spec`), skips those done and unchanged
(:mod:`carecircle.batch.manifest`), runs the rest one region per unit of work on a Dask cluster or serially
(:mod:`carecircle.batch.execute`), and writes the summary across regions (:mod:`carecircle.batch.summary`)::

    result = carecircle.run_batch(["districts.yaml"], "results/districts")        # a LocalCluster
    result = carecircle.run_batch(["districts.yaml"], "results/districts", client=client)  # a notebook's client
    result.summary                       # one row per region × variation
    result.failed                        # task id → its one-line error
"""

from __future__ import annotations

from carecircle.batch.manifest import MANIFEST_NAME
from carecircle.batch.run import BatchResult, run_batch
from carecircle.batch.spec import Batch, BatchTask, load_batch
from carecircle.batch.summary import SUMMARY_FILES

__all__ = ["MANIFEST_NAME", "SUMMARY_FILES", "Batch", "BatchResult", "BatchTask", "load_batch", "run_batch"]
