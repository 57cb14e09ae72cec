"""activity indexes by id: the newest activity is the board's version

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("activities") as batch_op:
        batch_op.drop_index("ix_activities_board_created")
        batch_op.drop_index("ix_activities_card_created")
        batch_op.create_index("ix_activities_board_id_id", ["board_id", "id"])
        batch_op.create_index("ix_activities_card_id_id", ["card_id", "id"])


def downgrade():
    with op.batch_alter_table("activities") as batch_op:
        batch_op.drop_index("ix_activities_card_id_id")
        batch_op.drop_index("ix_activities_board_id_id")
        batch_op.create_index("ix_activities_card_created", ["card_id", "created_at"])
        batch_op.create_index("ix_activities_board_created", ["board_id", "created_at"])
