"""order keys compare byte by byte on MariaDB and MySQL

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KEY_COLUMNS = (("columns", "position"), ("cards", "position"), ("checklist_items", "position"))


def upgrade():
    # SQLite compares bytes and PostgreSQL's collations sort these keys alike; MariaDB's default
    # utf8mb4 collation ignores case and accents.
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return
    for table, column in KEY_COLUMNS:
        op.alter_column(table, column, existing_nullable=False, existing_type=sa.String(64),
                        type_=mysql.VARCHAR(64, charset="utf8mb4", collation="utf8mb4_bin"))


def downgrade():
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return
    for table, column in KEY_COLUMNS:
        op.alter_column(table, column, existing_nullable=False, type_=sa.String(64),
                        existing_type=mysql.VARCHAR(64, charset="utf8mb4", collation="utf8mb4_bin"))
