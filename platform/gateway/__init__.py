"""The international gateway: WIPO ST.96 (and other formats) in and out, signed exchange
packages with partner offices (issue 11)."""
