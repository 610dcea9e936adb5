"""nbshare: share Jupyter notebooks by link.

Importing this package stays light (no server, no nbconvert), so notebooks can use
its helpers cheaply.
"""

__version__ = "0.1.0"
