"""A share id's pattern has one home per language: security/tokens.py for Python (the
server's checks, the client's link parsing) and static/messages.js for the browser (the
share page and its notebook frame). They must agree, or a link one side follows the other
would refuse."""

from pathlib import Path

import nbshare
from nbshare.security.tokens import ID_PATTERN

STATIC = Path(nbshare.__file__).parent / "static"


def test_the_browser_knows_share_ids_by_the_python_pattern():
    assert f'var SHARE_ID = "{ID_PATTERN}";' in (STATIC / "messages.js").read_text()


def test_the_page_and_the_frame_take_the_pattern_from_messages_js():
    for script in ("share.js", "content.js"):
        assert ID_PATTERN not in (STATIC / script).read_text(), script
