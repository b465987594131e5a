"""Authoring: the assignment format, the solution-marker grammar, stub generation, the release gate."""
