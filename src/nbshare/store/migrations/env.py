"""Alembic environment: nbshare passes its own connection in `config.attributes`, already in
a transaction that covers DDL (see MetadataStore.migrate), so every migration of one start
commits together or not at all."""

from alembic import context

from nbshare.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite can only ALTER tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
