"""nbconvert's code highlighting, with each pygments lexer and formatter made once.

nbconvert's Highlight2HTML builds a new lexer and a new HtmlFormatter for every code
cell; both depend only on the language, so a render worker keeps them. The markup is
the same: the same lexer classes, formatter options and CSS class.
"""

from __future__ import annotations

import warnings
from html import escape
from typing import Any

from nbconvert.filters.highlight import Highlight2HTML
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.lexers.special import TextLexer
from pygments.util import ClassNotFound

_LEXERS: dict[str, Lexer] = {}
_FORMATTERS: dict[str, HtmlFormatter] = {}


def _ipython_lexer(language: str) -> Lexer | None:
    try:
        from IPython.lib.lexers import IPython3Lexer, IPythonLexer
    except ModuleNotFoundError:
        return None
    return IPythonLexer() if language == "ipython2" else IPython3Lexer()


def lexer_for(language: str) -> Lexer:
    """The lexer nbconvert's _pygments_highlight picks for `language`, made once."""
    lexer = _LEXERS.get(language)
    if lexer is None:
        lexer = _ipython_lexer(language) if language in ("ipython2", "ipython3") else None
        if lexer is None:
            name = {"ipython2": "python", "ipython3": "python3"}.get(language, language)
            try:
                lexer = get_lexer_by_name(name)
            except ClassNotFound:
                lexer = TextLexer()
        _LEXERS[language] = lexer
    return lexer


def formatter_for(language: str) -> HtmlFormatter:
    formatter = _FORMATTERS.get(language)
    if formatter is None:
        formatter = _FORMATTERS[language] = HtmlFormatter(cssclass=escape(f" highlight hl-{language}"))
    return formatter


class CachedHighlighter(Highlight2HTML):
    """Highlight2HTML's filter, reusing lexers and formatters across cells and notebooks."""

    def __call__(self, source: str, language: str | None = None, metadata: Any = None) -> str:
        if self.extra_formatter_options:  # configured formatters are not shared
            return str(super().__call__(source, language, metadata))
        language = language or self.pygments_lexer
        formatter = formatter_for(language)  # the class names the cell's language, as nbconvert's
        if language.startswith("ipython") and metadata and "magics_language" in metadata:
            language = metadata["magics_language"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return str(highlight(source if len(source) > 0 else " ", lexer_for(language), formatter))
