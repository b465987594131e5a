"""The toy project under toy/ is data for the gate tests, not tests of this project."""

collect_ignore = ["toy"]
