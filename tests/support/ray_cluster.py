"""A real local Ray cluster for the tests: a head and one worker node, one CPU each, in a
temporary folder, with this process connected to it (namespace ``ipsim``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def local_cluster(temp: Path) -> Iterator[Any]:
    """Start the cluster, connect, yield it (a ``ray.cluster_utils.Cluster``); tear down after."""
    import ray
    from ray.cluster_utils import Cluster

    started = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "temp_dir": str(temp), "include_dashboard": False},
    )
    started.add_node(num_cpus=1)
    started.wait_for_nodes()
    ray.init(address=started.address, namespace="ipsim", log_to_driver=False)
    try:
        yield started
    finally:
        ray.shutdown()
        started.shutdown()
