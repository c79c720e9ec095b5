"""Markdown for the pages: model cards, descriptions and comments, rendered by markdown-it-py
and then sanitised by nh3 (an allow-list: no script, no event handler attribute, no style, no
image, no ``javascript:`` URL), so nothing a user writes can run in another user's browser or
make it fetch anything."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from hub.errors import InvalidInput
from hub.export.cards import parse_card

#: Images are left out: a card's ``<img src=...>`` would make every visitor's browser fetch a URL
#: of the author's choosing; the alt text of a Markdown image is kept as text.
ALLOWED_TAGS = frozenset(nh3.ALLOWED_TAGS) - {"img", "area", "map"}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "code": {"class"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_PARSER = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")


def render_markdown(text: str | None) -> Markup:
    """Safe HTML for ``text`` (Markdown, raw HTML allowed in but sanitised out)."""
    if not text:
        return Markup("")
    html = _PARSER.render(text)
    clean = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


def render_card(card: str | None) -> Markup:
    """The body of a model card (front matter left out: the page shows it as fields)."""
    if not card:
        return Markup("")
    try:
        body = parse_card(card).body
    except InvalidInput:
        body = card
    return render_markdown(body)
