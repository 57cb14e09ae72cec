"""look and feel: each user's colour scheme, each board's colour

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("theme", sa.String(10), server_default="system", nullable=False))
    with op.batch_alter_table("boards") as batch:
        batch.add_column(sa.Column("color", sa.String(20), server_default="blue", nullable=False))


def downgrade():
    with op.batch_alter_table("boards") as batch:
        batch.drop_column("color")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("theme")
