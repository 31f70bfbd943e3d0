"""SIGKILL a process in the middle of upserting; every acknowledged write must survive once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ipsim.indexers.store import CollectionStore, StoreOptions

DIM = 16

# Two threads upsert multi-unit documents (and overwrite older ones) and print each id
# only after upsert() returned. Small snapshot_every, so kills also land mid-snapshot.
WRITER = textwrap.dedent(
    """
    import sys, threading
    import numpy as np
    from pathlib import Path
    from ipsim.indexers.store import CollectionStore, Record, StoreOptions

    DIM = {dim}
    store = CollectionStore.open(Path(sys.argv[1]), StoreOptions(snapshot_every=40))
    out = threading.Lock()

    def vectors(i):
        rng = np.random.default_rng(i)
        return rng.standard_normal((1 + i % 3, DIM)).astype(np.float32)

    def write(t):
        i = t
        while True:
            doc = Record(f"d{{i}}", vectors(i), [(0, 1)] * (1 + i % 3), {{"i": i}}, {{"t": t}})
            again = Record(f"d{{i // 2}}", vectors(i // 2), [(0, 1)] * (1 + (i // 2) % 3),
                           {{"i": i // 2}}, {{"t": t}})
            store.upsert([doc, again] if i % 2 == 0 else [doc])
            with out:
                print(f"d{{i}}", flush=True)
            i += 2

    for t in range(2):
        threading.Thread(target=write, args=(t,), daemon=True).start()
    threading.Event().wait()
    """
).format(dim=DIM)


def expected_vectors(i: int) -> np.ndarray:
    rng = np.random.default_rng(i)
    return rng.standard_normal((1 + i % 3, DIM)).astype(np.float32)


@pytest.mark.parametrize("kill_after", [25, 120, 300])
def test_sigkill_mid_write_loses_no_acknowledged_id(tmp_path: Path, kill_after: int) -> None:
    path = tmp_path / "c"
    CollectionStore.create(
        path,
        dim=DIM,
        metric="l2",
        index_type="flat",
        index_params={},
        shards=1,
        meta={},
    ).close()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    child = subprocess.Popen(
        [sys.executable, str(script), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acknowledged: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            acknowledged.append(line.strip())
            if len(acknowledged) >= kill_after:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        rest, errors = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, errors
    # Lines already in the pipe were acknowledged too.
    acknowledged += rest.split()
    assert len(acknowledged) >= kill_after

    store = CollectionStore.open(path, StoreOptions(group_commit_ms=0))
    try:
        ids = list(store.ids())
        assert len(ids) == len(set(ids)) == len(store)
        assert set(acknowledged) <= set(ids)
        for doc_id in acknowledged:
            got = store.get(doc_id)
            assert got is not None
            i = int(doc_id[1:])
            assert got.fields == {"i": i}
            np.testing.assert_array_equal(got.vectors, expected_vectors(i))
        # Each document is found once, through its own units, and by no stale unit.
        for doc_id in acknowledged[:: max(1, len(acknowledged) // 20)]:
            i = int(doc_id[1:])
            hits = store.search(expected_vectors(i), 3)
            for hits_of_unit in hits:
                assert hits_of_unit[0].id == doc_id and hits_of_unit[0].score == 0.0
                assert len({h.id for h in hits_of_unit}) == len(hits_of_unit)
        everything = store.search(np.zeros(DIM, np.float32), len(store))[0]
        assert sorted(h.id for h in everything) == sorted(ids)
    finally:
        store.close()
