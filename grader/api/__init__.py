"""The JSON API (FastAPI routers): submissions, results, releases, regrades and grade exports."""
