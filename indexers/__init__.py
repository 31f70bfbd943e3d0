"""Vector indexes (FAISS families, shards), field filters, and durable storage (WAL + snapshots)."""
