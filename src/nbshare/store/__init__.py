"""Storage: metadata rows (SQLAlchemy) and blobs (BlobStore). Only this package knows where bytes live."""

from .blobs import BlobStore, FileBlobStore, ObjectBlobStore
from .metadata import MetadataStore, ShareRow, VersionRow

__all__ = ["BlobStore", "FileBlobStore", "MetadataStore", "ObjectBlobStore", "ShareRow", "VersionRow"]
