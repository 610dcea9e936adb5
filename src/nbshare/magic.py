"""`%nbshare`: publish from a notebook cell, a thin wrapper of the Python API (api.py).

    %load_ext nbshare
    %nbshare                      # this notebook, as last saved
    %nbshare data/ --expires 7d   # a folder, as a bundle
    %nbshare --password           # asks, hidden (Jupyter's password box)

The output is the link with a Copy button. Neither the password nor the owner token (which
the manage link carries) is ever in the cell, its output or the saved notebook: a notebook
is often published again, outputs and all. The owner token stays in the history file, for
`nbshare set/delete LINK`, `nbshare.delete(share)` and `nbshare.shares()`."""

from __future__ import annotations

import getpass
import html
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display


@magics_class
class NbshareMagics(Magics):
    @magic_arguments()
    @argument("paths", nargs="*", metavar="PATH", help="Notebook, files or folder (default: this notebook).")
    @argument("--server", metavar="URL", help="nbshare server URL (default: from your settings).")
    @argument("--title", help="Title shown on the page (default: from the notebook).")
    @argument("--password", action="store_true", help="Ask for a password (hidden) to protect the share.")
    @argument("--no-password", action="store_true", help="Do not ask, even when your settings say to.")
    @argument("--expires", metavar="WHEN", help="Lifetime: 1h, 7d, 4w, a date, or never.")
    @argument("--max-views", type=int, metavar="N", help="Delete the share after N views.")
    @argument("--update", action="store_true", help="Update your earlier share of these files; fail if none.")
    @argument("--new", action="store_true", help="Always make a new share.")
    @line_magic
    def nbshare(self, line: str) -> None:
        """Publish this notebook (as last saved), or PATHs, and show the link.

        By default a notebook published before from this machine is updated (same link,
        next version); --new makes a new share."""
        args = parse_argstring(self.nbshare, line)
        try:
            share = publish_from_magic(args, self.shell.user_ns if self.shell else {})
        except Exception as exc:
            from .errors import NbshareError

            if isinstance(exc, NbshareError):
                raise UsageError(exc.message) from None  # one line, no traceback
            if isinstance(exc, OSError):  # a file that cannot be read, say
                where = f": {exc.filename}" if exc.filename else ""
                raise UsageError(f"{exc.strerror or exc}{where}") from None
            raise
        display(rendered(share), raw=True)


def publish_from_magic(args: Any, namespace: dict[str, Any]) -> Any:
    from . import api
    from .config import resolve
    from .kernel import current_notebook
    from .publishing import PublishError

    if args.update and args.new:
        raise PublishError("Choose one of --update and --new.")
    if args.password and args.no_password:
        raise PublishError("Choose one of --password and --no-password.")
    settings = resolve(server=args.server, expires=args.expires, max_views=args.max_views)
    if args.paths:
        paths = [Path(p).expanduser() for p in args.paths]
    else:
        paths = [current_notebook(namespace)]
        print(f"Note: {api.UNSAVED}", file=sys.stderr)
    password = None
    if args.password or (settings.password and not args.no_password):
        password = getpass.getpass("Password for the share: ")
        if not password.strip():
            raise PublishError("The password cannot be only spaces; nothing was published.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        share = api.publish_paths(
            paths,
            server=args.server,
            title=args.title,
            password=password,
            expires=args.expires,
            max_views=args.max_views,
            mode="update" if args.update else "new" if args.new else "auto",
        )
    for warning in caught:  # a plain line, not Python's warning format
        print(f"Warning: {warning.message}", file=sys.stderr)
    return share


def rendered(share: Any) -> dict[str, str]:
    """The share as HTML (link, Copy button) and as text; without the owner token."""
    what = f"Updated: version {share.version}, same link." if share.updated else "Published."
    manage = f"Manage it with `nbshare set {share.url}` or `nbshare delete {share.url}`"
    text = f"{share.url}\n{what} {manage} (your owner token stays in your history, not in this notebook)."
    url = html.escape(share.url)
    # json.dumps makes a JavaScript string; escape makes it safe inside the attribute.
    copy = html.escape(
        f"navigator.clipboard.writeText({json.dumps(share.url)})" + ";this.textContent='Copied'"
    )
    page = (
        '<div class="nbshare-link">'
        f'<a href="{url}" target="_blank" rel="noopener">{url}</a> '
        f'<button type="button" onclick="{copy}">Copy</button>'
        f"<div>{html.escape(what)} {html.escape(manage)}: your owner token stays in your history, "
        "not in this notebook.</div></div>"
    )
    return {"text/html": page, "text/plain": text}


def register(ipython: Any) -> None:
    ipython.register_magics(NbshareMagics)
