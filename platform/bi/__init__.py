"""Business intelligence and patent analytics: the WIPO technology fields, trends, anomalies,
live indicators and ad-hoc reports over an embedded analytical store (issue 10)."""
