"""Prometheus instruments the engine updates; the server only exposes the registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BATCH_SIZE = Histogram(
    "ipsim_batch_size",
    "Units encoded per batch",
    ["model"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
BATCH_SECONDS = Histogram("ipsim_batch_seconds", "Time to encode one batch", ["model"])
QUEUE_DEPTH = Gauge("ipsim_queue_depth", "Units waiting in a batcher queue", ["model"])
REJECTED = Counter("ipsim_rejected_total", "Requests refused because a queue was full", ["model"])
INDEX_SIZE = Gauge("ipsim_index_documents", "Documents per collection", ["collection"])
SEARCH_SECONDS = Histogram(
    "ipsim_search_seconds", "Engine time per search (encode + index)", ["collection"]
)
