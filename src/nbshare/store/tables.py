"""The metadata schema. Changes go through a new migration in migrations/versions/."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

shares = Table(
    "shares",
    metadata,
    Column("id", String(64), primary_key=True),
    # sha256 of the owner token: tokens carry 256 random bits, so a fast hash suffices.
    Column("owner_token_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("current_version", Integer, nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("share_id", String(64), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("filename", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("nbformat", String(16), nullable=False),
    Column("kernel_name", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("cell_count", Integer, nullable=False),
    Column("toc", JSON, nullable=False),
    # Blob keys; the rows never say where blobs live, only what they are called.
    Column("original_key", Text, nullable=False),
    Column("page_key", Text, nullable=False),
    ForeignKeyConstraint(["share_id"], ["shares.id"], ondelete="CASCADE"),
)
