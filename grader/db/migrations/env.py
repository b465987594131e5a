"""Alembic's environment: runs migrations on the connection ``grader.db.migrate`` hands over."""

from alembic import context

from grader.db.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
