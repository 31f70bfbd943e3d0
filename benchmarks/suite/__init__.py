"""pytest-benchmark suite of the hot paths (``make bench``); not collected by ``make test``."""
