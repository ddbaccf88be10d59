"""The wiring: the `steward` command, start-up, the demo, the adapter registry and the scheduler's wiring.

The only package that imports `adapters/`: the core (`bot/`) meets platforms only through the
`Adapter` protocol, and the scheduling engine (`rituals/`) only through the core.
"""
