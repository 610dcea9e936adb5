"""wrong-password attempts shared by every instance

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unlock_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("share_id", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_unlock_failures_share_client", "unlock_failures", ["share_id", "client"])
    op.create_index("ix_unlock_failures_at", "unlock_failures", ["at"])
    # A client's recent failures on every share rank its requests (security/lanes.py).
    op.create_index("ix_unlock_failures_client_at", "unlock_failures", ["client", "at"])


def downgrade() -> None:
    op.drop_table("unlock_failures")
