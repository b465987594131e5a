"""Gate runs (the release gate in the background), regrade batches, and a submission's replay seed."""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.create_table('gate_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.Enum('running', 'passed', 'refused', 'error', name='gate_status',
                                native_enum=False, length=20), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_by', sa.Integer(), nullable=True),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('report_text', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('autograder_path', sa.Text(), nullable=False),
    sa.Column('starter_path', sa.Text(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['started_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['assignment_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('gate_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gate_runs_assignment_name'), ['assignment_name'], unique=False)
        # One running gate per assignment: the database refuses a second one, whatever races the API.
        batch_op.create_index('uq_gate_runs_one_running', ['assignment_name'], unique=True,
                              sqlite_where=_RUNNING, postgresql_where=_RUNNING)

    op.create_table('regrade_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('regrade', 'replay', name='batch_kind', native_enum=False, length=20),
              nullable=False),
    sa.Column('submission_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('regrade_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regrade_batches_assignment_id'), ['assignment_id'], unique=False)

    # A nullable column: SQLite adds it in place (no table copy), existing rows read NULL (a random seed).
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replay_seed', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('replay_seed')

    with op.batch_alter_table('regrade_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regrade_batches_assignment_id'))

    op.drop_table('regrade_batches')
    with op.batch_alter_table('gate_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_gate_runs_one_running')
        batch_op.drop_index(batch_op.f('ix_gate_runs_assignment_name'))

    op.drop_table('gate_runs')
