"""HTML bodies reduced to text."""

from __future__ import annotations

from bot.mail.htmltext import html_to_text


def test_visible_text_only() -> None:
    html = (
        "<html><head><title>t</title><style>.a{}</style></head><body>"
        "<p>Hello&nbsp;<b>team</b></p><div>Call&#32;1-800-555-0199</div>"
        "<script>alert(1)</script><br>Bye</body></html>"
    )
    assert html_to_text(html) == "Hello team\nCall 1-800-555-0199\nBye"


def test_broken_markup_keeps_what_was_read() -> None:
    assert html_to_text("<p>one<p>two</b></i>") == "one\ntwo"
    assert html_to_text("<p>one<p>two <b unclosed").startswith("one\ntwo")
