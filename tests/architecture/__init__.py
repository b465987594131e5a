"""Tests that check the house rules: the import graph of ARCHITECTURE.md, ruff."""
