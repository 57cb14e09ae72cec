"""times keep their microseconds on MariaDB and MySQL, as on SQLite and PostgreSQL

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Each table's time columns: (name, nullable, defaults to now).
TIME_COLUMNS = {
    "users": [("created_at", False, True)],
    "access_tokens": [("created_at", False, True), ("expires_at", True, False), ("last_used_at", True, False),
                      ("revoked_at", True, False)],
    "boards": [("created_at", False, True)],
    "login_sessions": [("created_at", False, True), ("last_used_at", False, True), ("expires_at", False, False)],
    "board_members": [("created_at", False, True)],
    "columns": [("archived_at", True, False)],
    "invitations": [("created_at", False, True), ("accepted_at", True, False), ("revoked_at", True, False)],
    "webhooks": [("created_at", False, True)],
    "cards": [("archived_at", True, False), ("created_at", False, True), ("updated_at", False, True)],
    "webhook_deliveries": [("next_attempt_at", True, False), ("created_at", False, True),
                           ("delivered_at", True, False)],
    "activities": [("created_at", False, True)],
    "attachments": [("created_at", False, True)],
    "comments": [("created_at", False, True), ("edited_at", True, False)],
}


def upgrade():
    _retype("(6)")


def downgrade():
    _retype("")


def _retype(precision: str) -> None:
    """One ALTER TABLE a table (one rebuild), every time column of it at once."""
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return
    for table, columns in TIME_COLUMNS.items():
        changes = ", ".join(
            f"MODIFY `{name}` DATETIME{precision} {'NULL' if nullable else 'NOT NULL'}"
            + (f" DEFAULT CURRENT_TIMESTAMP{precision}" if now else "")
            for name, nullable, now in columns)
        op.execute(f"ALTER TABLE `{table}` {changes}")
