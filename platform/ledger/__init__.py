"""The ledger of IP-rights transactions: parties, rights, signed transactions, and an RFC 6962
transparency log anyone can verify (issue 11)."""
