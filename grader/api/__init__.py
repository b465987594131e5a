"""The HTTP API (FastAPI): submissions, results, releases, regrades and grade exports, JSON errors throughout."""
