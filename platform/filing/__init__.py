"""Online filing: applications and their status, fees, correspondence, the patent-attorney
register and the automated preliminary novelty assessment (issue 9)."""
