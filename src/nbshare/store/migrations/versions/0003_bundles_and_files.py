"""bundles and the files inside a version

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="notebook"))
        batch.add_column(sa.Column("manifest", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("manifest")
        batch.drop_column("kind")
