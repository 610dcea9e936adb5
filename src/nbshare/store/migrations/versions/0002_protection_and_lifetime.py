"""passwords, encryption keys, expiry, view limits and version visibility

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shares") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("max_views", sa.Integer, nullable=True))
        batch.add_column(sa.Column("views", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("password_hash", sa.Text, nullable=True))
        batch.add_column(sa.Column("key_salt", sa.Text, nullable=True))
        batch.add_column(sa.Column("password_wrapped_key", sa.Text, nullable=True))
        batch.add_column(sa.Column("owner_wrapped_key", sa.Text, nullable=True))
        batch.add_column(sa.Column("access_epoch", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("versions_public", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.create_index("ix_shares_expires_at", ["expires_at"])
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("meta_key", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("meta_key")
    with op.batch_alter_table("shares") as batch:
        batch.drop_index("ix_shares_expires_at")
        for column in (
            "versions_public",
            "access_epoch",
            "owner_wrapped_key",
            "password_wrapped_key",
            "key_salt",
            "password_hash",
            "views",
            "max_views",
            "expires_at",
        ):
            batch.drop_column(column)
