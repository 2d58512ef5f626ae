"""HTML from outside (a mail, an agent's rich-text reply): sanitised for agents' browsers
(nh3), and read as plain text.

The text version keeps the structure quote detection needs: block elements end lines and
each line inside a ``<blockquote>`` is prefixed with ``> `` as a plain-text client would
quote it, so :mod:`omnidesk.channels.email.quotes` handles HTML-only mails like plain ones.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

#: ``cid:`` keeps inline images pointing at their attachments; the rest are nh3's defaults.
URL_SCHEMES = frozenset(nh3.ALLOWED_URL_SCHEMES) | {"cid"}
#: Dropped with their content, not just their tags (a <title> would read as body text).
CLEAN_CONTENT_TAGS = frozenset({"script", "style", "head", "title"})

_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "footer",
        "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre",
        "section", "table", "tr", "ul",
    }
)  # fmt: skip
#: Blocks set apart by a blank line; the others (div, li…) only end their line.
_PARAGRAPHS = frozenset(
    {"blockquote", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ol", "p", "pre", "table", "ul"}
)
_SKIPPED = frozenset({"script", "style", "head", "title", "template"})
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")


#: Apple Mail marks quotes with ``<blockquote type="cite">``.
ATTRIBUTES = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()} | {
    "blockquote": {"cite", "type"}
}
#: Classes mail clients mark quoted history with: kept, so a viewer can fold it.
QUOTE_CLASSES = {
    "div": {"gmail_quote", "gmail_attr", "gmail_signature", "moz-cite-prefix"},
    "blockquote": {"gmail_quote"},
}


def sanitise(html: str) -> str:
    """HTML safe to show: no scripts, styles, event handlers or dangerous URLs."""
    return nh3.clean(
        html,
        attributes=ATTRIBUTES,
        allowed_classes=QUOTE_CLASSES,
        url_schemes=set(URL_SCHEMES),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        link_rel="noopener noreferrer nofollow",
    )


def to_text(html: str) -> str:
    """The text a reader sees in ``html``, one line per block, quotes prefixed ``> ``."""
    reader = _TextReader()
    try:
        reader.feed(html)
        reader.close()
    except Exception:  # HTMLParser is lenient; this is a last resort for odd input
        return _SPACES.sub(" ", re.sub(r"<[^>]*>", " ", html)).strip()
    return reader.text()


class _TextReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.words: list[str] = []
        self.depth = 0  # blockquotes open
        self.line_depth = 0  # blockquotes open when the current line began
        self.skipping = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self._end_line(keep_empty=True)
        elif tag in _BLOCKS:
            self._end_line(paragraph=tag in _PARAGRAPHS)
            if tag == "blockquote":
                self.depth += 1
                self.line_depth = self.depth
            elif tag == "li":
                self.words.append("- ")
            elif tag == "pre":
                self.pre += 1
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.words.append(f"[{alt}]")
        elif tag in ("td", "th") and self.words:
            self.words.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self._end_line(paragraph=tag in _PARAGRAPHS)
            if tag == "blockquote":
                self.depth = max(0, self.depth - 1)
                self.line_depth = self.depth
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.pre:
            first, *rest = data.split("\n")
            self.words.append(first)
            for line in rest:
                self._end_line(keep_empty=True)
                self.words.append(line)
            return
        if not self.words:
            self.line_depth = self.depth
        self.words.append(_SPACES.sub(" ", data))

    def _end_line(self, *, keep_empty: bool = False, paragraph: bool = False) -> None:
        line = "".join(self.words).strip()
        self.words = []
        if line or keep_empty:
            self.lines.append("> " * self.line_depth + line)
        if paragraph and self.lines and self.lines[-1].strip("> "):
            self.lines.append("> " * self.line_depth)  # one blank line between blocks
        self.line_depth = self.depth

    def text(self) -> str:
        self._end_line()
        lines = [line.rstrip() for line in self.lines]
        while lines and not lines[-1].strip("> "):
            lines.pop()
        while lines and not lines[0].strip("> "):
            lines.pop(0)
        out: list[str] = []
        for line in lines:  # at most one blank line in a row
            if out and not line.strip("> ") and not out[-1].strip("> "):
                continue
            out.append(line)
        return "\n".join(out)
