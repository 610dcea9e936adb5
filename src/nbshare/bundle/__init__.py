"""Bundles: a whole analysis (notebooks, data, helper code, environment files) shared as one.

Everything here is pure and synchronous: the CLI uses it to build an upload, the server to
read one without trusting it, and `nbshare clone` to write one back to disk.
"""
