"""Collections, the dynamic batcher, the query pipeline and the device decision."""
