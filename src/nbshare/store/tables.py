"""The metadata schema. Changes go through a new migration in migrations/versions/."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
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
    # Lifetime: checked on every read, and expired rows are purged with their blobs.
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("max_views", Integer, nullable=True),
    Column("views", Integer, nullable=False, server_default="0"),
    # Protection (see security/crypto.py): an Argon2id hash, never the password, and the
    # share's data key only wrapped under the password and under the owner token.
    Column("password_hash", Text, nullable=True),
    Column("key_salt", Text, nullable=True),
    Column("password_wrapped_key", Text, nullable=True),
    Column("owner_wrapped_key", Text, nullable=True),
    # Bumped when access changes (new password), so earlier grants stop working.
    Column("access_epoch", Integer, nullable=False, server_default="0"),
    Column("versions_public", Boolean, nullable=False, server_default=false()),
    # Whether search engines may index its pages (X-Robots-Tag); off unless the uploader asks.
    Column("discoverable", Boolean, nullable=False, server_default=false()),
    # On a JupyterHub with Hub login (audience.py, hub.py): the Hub user who uploaded it, who
    # manages it without the owner token, and who may read it (null: anyone with the link).
    Column("owner_user", String(255), nullable=True),
    Column("audience", JSON, nullable=True),
    Index("ix_shares_expires_at", "expires_at"),
    Index("ix_shares_owner_user", "owner_user"),
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
    # For protected shares: title, file name, table of contents and the like live in
    # this sealed blob; the columns above hold neutral placeholders.
    Column("meta_key", Text, nullable=True),
    # "notebook" (one notebook) or "bundle" (notebooks, files and an environment).
    Column("kind", String(16), nullable=False, server_default="notebook"),
    # The files of a version and where their blobs are (see protection.py); sealed in
    # meta.json for protected shares, like the title.
    Column("manifest", JSON, nullable=True),
    ForeignKeyConstraint(["share_id"], ["shares.id"], ondelete="CASCADE"),
)

# Wrong-password attempts, kept in the database so that every instance sharing it throttles
# together (see security/throttle.py). Rows live for the throttle's window, then are deleted.
# `client` is a hash of the client's address, not the address.
unlock_failures = Table(
    "unlock_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("share_id", String(64), nullable=False),
    Column("client", String(64), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_unlock_failures_share_client", "share_id", "client"),
    Index("ix_unlock_failures_at", "at"),
    Index("ix_unlock_failures_client_at", "client", "at"),
)
