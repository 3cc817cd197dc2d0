"""Read an HTML page as a person does: its text, without tags (for feedback checks).

Highlighted code is split into many ``<span>``s, so a search for source text or
for a leak must look at the text the page shows, not at its markup.
"""
from __future__ import annotations

import html
import re

__all__ = ["text_of"]

_HIDDEN_PARTS = re.compile(r"<(style|script)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def text_of(page: str) -> str:
    """The text of ``page`` (styles and scripts dropped, entities decoded)."""
    return html.unescape(_TAG.sub("", _HIDDEN_PARTS.sub("", page)))
