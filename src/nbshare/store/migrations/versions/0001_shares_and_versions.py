"""shares and their versions

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner_token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "versions",
        sa.Column("share_id", sa.String(64), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("nbformat", sa.String(16), nullable=False),
        sa.Column("kernel_name", sa.Text, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("cell_count", sa.Integer, nullable=False),
        sa.Column("toc", sa.JSON, nullable=False),
        sa.Column("original_key", sa.Text, nullable=False),
        sa.Column("page_key", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(["share_id"], ["shares.id"], ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("versions")
    op.drop_table("shares")
