"""the JupyterHub user who uploaded a share, and who may read it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shares") as batch:
        batch.add_column(sa.Column("owner_user", sa.String(255), nullable=True))
        batch.add_column(sa.Column("audience", sa.JSON, nullable=True))
        batch.create_index("ix_shares_owner_user", ["owner_user"])


def downgrade() -> None:
    with op.batch_alter_table("shares") as batch:
        batch.drop_index("ix_shares_owner_user")
        batch.drop_column("audience")
        batch.drop_column("owner_user")
