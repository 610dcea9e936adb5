"""Notebook bytes -> a stored page: parsing, nbconvert, anchors and the table of contents."""

from .page import RenderedPage, render_page

__all__ = ["RenderedPage", "render_page"]
