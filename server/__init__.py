"""The HTTP (FastAPI) and gRPC front doors and the `ipsim serve` process."""
