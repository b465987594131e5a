"""Similarity checks: a run per check (its progress and lease) and the pairs it flagged."""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'similarity_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='similarity_status',
                                    native_enum=False, length=20), nullable=False),
        sa.Column('threshold', sa.Float(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('stage', sa.String(length=40), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('submissions', sa.Integer(), nullable=False),
        sa.Column('archived', sa.Integer(), nullable=False),
        sa.Column('pairs_compared', sa.Integer(), nullable=False),
        sa.Column('archive_files', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('lease_token', sa.String(length=64), nullable=True),
        sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('worker', sa.String(length=200), nullable=False),
        sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['version_id'], ['assignment_versions.id']),
        sa.ForeignKeyConstraint(['created_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_similarity_runs_assignment_id', 'similarity_runs', ['assignment_id'])
    op.create_index('ix_similarity_runs_status', 'similarity_runs', ['status'])
    op.create_table(
        'similarity_pairs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('a_submission_id', sa.Integer(), nullable=False),
        sa.Column('b_submission_id', sa.Integer(), nullable=True),
        sa.Column('b_name', sa.String(length=300), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('score_ab', sa.Float(), nullable=False),
        sa.Column('score_ba', sa.Float(), nullable=False),
        sa.Column('files', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['similarity_runs.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['a_submission_id'], ['submissions.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['b_submission_id'], ['submissions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_similarity_pairs_run_id', 'similarity_pairs', ['run_id'])
    op.create_index('ix_similarity_pairs_score', 'similarity_pairs', ['score'])


def downgrade() -> None:
    op.drop_table('similarity_pairs')
    op.drop_table('similarity_runs')
