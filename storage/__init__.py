"""Steward's storage: SQLModel tables, async engine, migrations and query functions.

This package knows neither the core (`bot/`) nor the platforms (`adapters/`).
"""
