"""Alembic migrations, run programmatically by `MetadataStore.migrate()`."""
