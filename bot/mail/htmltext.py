"""HTML email bodies reduced to plain text (scripts, styles and markup dropped), in linear time.

The stdlib's ``HTMLParser`` is quadratic on some malformed input (400 KB of ``<!--`` took four
minutes), so this is a small scanner of its own: every step moves forward with ``str.find`` or
an anchored pattern whose parts cannot overlap, and a construct left open at the end of the
document ends the scan (as a browser would swallow the rest), so no position is read twice.
"""

from __future__ import annotations

import html as html_lib
import re
import string

_BLOCK = frozenset(
    {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "hr"}
)
_RAW_TEXT = frozenset({"script", "style", "title", "textarea"})  # content is not markup
_SKIP = frozenset({"script", "style", "head", "title"})
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]{0,31})")
# The rest of a tag up to its '>': runs of plain characters, and '=' with the value after it. A
# quote opens a value only right after '=' (as browsers read it: a stray quote elsewhere is part
# of an attribute name, and a quote never closed is read as text, not as the rest of the
# document). Possessive and starting with disjoint characters: a failed match costs one pass.
_TAG_REST = re.compile(r"(?:[^>=]++|=\s*+(?:\"[^\"]*+\"|'[^']*+')?+)*+>")
# ASCII case folding keeps every index (str.lower() can lengthen text: 'İ' becomes two characters)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def html_to_text(html: str) -> str:
    """The visible text of an HTML document, one block per line."""
    scanner = _Scanner(html)
    scanner.run()
    lines = (" ".join(line.split()) for line in "".join(scanner.out).splitlines())
    return "\n".join(line for line in lines if line)


class _Scanner:
    def __init__(self, html: str) -> None:
        self.html = html
        self.lowered = html.translate(_ASCII_LOWER)  # end tags are found by index in html
        self.out: list[str] = []
        self.skipping = 0  # inside <head>, <script>...: text is not shown

    def text(self, chunk: str) -> None:
        if chunk and not self.skipping:
            self.out.append(html_lib.unescape(chunk))

    def run(self) -> None:
        html, pos, size = self.html, 0, len(self.html)
        while pos < size:
            lt = html.find("<", pos)
            if lt < 0:
                self.text(html[pos:])
                return
            self.text(html[pos:lt])
            pos = self.markup(lt)
            if pos < 0:  # a construct open to the end: nothing after it is text
                return

    def markup(self, lt: int) -> int:
        """Read the markup at ``lt``; return where text resumes (-1: the document ends)."""
        html = self.html
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            return -1 if end < 0 else end + 3
        if html.startswith(("<!", "<?"), lt):
            end = html.find(">", lt + 2)
            return -1 if end < 0 else end + 1
        name_match = _TAG_NAME.match(html, lt)
        if name_match is None:  # a lone '<' is text
            self.text("<")
            return lt + 1
        rest = _TAG_REST.match(html, name_match.end())
        if rest is None:
            return -1
        closing, name = bool(name_match.group(1)), name_match.group(2).lower()
        end = rest.end()
        if name in _BLOCK:
            self.out.append("\n")
        if name in _SKIP:
            self.skipping = max(0, self.skipping + (-1 if closing else 1))
        if name in _RAW_TEXT and not closing:
            close = self.lowered.find(f"</{name}", end)
            if close < 0:
                return -1
            self.text(html[end:close])
            return close  # the end tag is read as a tag (and ends the skip)
        return end
