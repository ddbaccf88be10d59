"""Contributions, kudos and reputation: the ledger's meaning (weights, decay, topics, levels) and its reads."""
