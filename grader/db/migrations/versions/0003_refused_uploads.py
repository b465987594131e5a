"""Refused uploads: a zip refused as too large or by intake counts toward the student's rate limit."""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('refused_uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('refused_uploads', schema=None) as batch_op:
        batch_op.create_index('ix_refused_uploads_user_assignment_at',
                              ['user_id', 'assignment_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('refused_uploads', schema=None) as batch_op:
        batch_op.drop_index('ix_refused_uploads_user_assignment_at')
    op.drop_table('refused_uploads')
