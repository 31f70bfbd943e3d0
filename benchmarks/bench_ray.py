"""Ray fan-out overhead: a Ray-sharded flat index against the in-process ShardedIndex.

Both hold the same N x D unit vectors in S flat shards; each batch size is searched
``--reps`` times (k=10) and the median latency is reported, with the Ray/in-process
ratio. The cluster is a real local one (a head and a worker raylet, started here), so
the difference is Ray's cost: task submission, (de)serialising queries and answers, and
the object store; on one machine the shards also compete for the same cores.

    .venv/bin/python -m benchmarks.bench_ray [--quick] [--n N] [--shards 3] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Sequence

import numpy as np
import ray
from ray.cluster_utils import Cluster

from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.indexers.base import VectorIndex
from ipsim.indexers.flat import FlatIndex
from ipsim.indexers.ray_shards import ArraySource, RayShardedIndex
from ipsim.indexers.shards import ShardedIndex

BATCHES = (1, 16, 256)
K = 10


def _median_ms(index: VectorIndex, queries: np.ndarray, reps: int) -> float:
    index.search(queries, K)  # warm up
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        index.search(queries, K)
        times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--n", type=int, help="vectors (default 100,000; --quick 20,000)")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--reps", type=int, help="searches per batch size (default 20)")
    args = parser.parse_args(argv)
    n = args.n or (20_000 if args.quick else 100_000)
    reps = args.reps or (5 if args.quick else 20)

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, args.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.arange(n, dtype=np.int64)

    def sharded() -> ShardedIndex:
        index = ShardedIndex([FlatIndex(args.dim, "ip") for _ in range(args.shards)])
        index.add(labels, vectors)
        return index

    report = Report(
        "bench_ray: Ray-sharded flat search vs the in-process ShardedIndex",
        {
            "index": f"{n:,} x {args.dim} unit vectors, flat, {args.shards} shards, k={K}",
            "cluster": "a real local Ray cluster started here: head + worker raylet, 1 CPU each",
            "threads": f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}",
            "timing": f"median of {reps} searches per batch size",
        },
    )
    report.configure(args)
    report.print_header()
    local = sharded()
    table = Table("Search latency", ["batch", "in-process ms", "Ray ms", "Ray / in-process"])
    with tempfile.TemporaryDirectory(prefix="ipsim-ray-") as temp:
        cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "temp_dir": temp, "include_dashboard": False},
        )
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        remote = RayShardedIndex.place(sharded(), ArraySource(FlatIndex(args.dim, "ip")))
        try:
            for batch in BATCHES:
                queries = vectors[rng.integers(0, n, batch)]
                same = (local.search(queries, K).labels == remote.search(queries, K).labels).all()
                assert same, "the Ray-sharded answer differs from the in-process one"
                here = _median_ms(local, queries, reps)
                there = _median_ms(remote, queries, reps)
                table.add(batch, here, there, there / here)
        finally:
            remote.close()
            ray.shutdown()
            cluster.shutdown()  # type: ignore[no-untyped-call]
    report.tables.append(table)
    report.notes.append("Answers (labels) of the two paths were equal for every batch size.")
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
