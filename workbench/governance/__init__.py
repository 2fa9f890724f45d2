"""Who may do what, consent per use, the hash-chained audit trail, erasure and equity monitoring."""
