"""ipsim: similarity search for intellectual-property objects.

The repository root is this package; its folders are the rooms of the system:
``models`` (encoders), ``indexers`` (vector indexes and durable storage), ``engine``
(collections, batching, the query pipeline), ``server`` (HTTP + gRPC), ``clients``
(SDK + CLI) and ``platform`` (filing, BI, gateway, ledger).
"""

__version__ = "0.1.0"
