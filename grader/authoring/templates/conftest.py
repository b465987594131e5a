"""Gives the public tests their fixtures (``student``, ``seed``, ``rng``); you don't need to change it."""

pytest_plugins = ["grader.harness.plugin"]
