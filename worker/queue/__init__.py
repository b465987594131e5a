"""The transport: how a submission id reaches ``grade_submission`` (Celery on Redis, or an in-process
pool)."""
