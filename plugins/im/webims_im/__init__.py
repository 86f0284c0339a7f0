"""The im service: page-mode MESSAGE (RFC 3428) and MSRP chat sessions (RFC 4975/4976) for the browser.

Modules by concern: :mod:`.cpim`, :mod:`.imdn`, :mod:`.iscomposing` and :mod:`.msrp` are sans-IO (bytes in,
values or events out); :mod:`.content` turns a received body into what it means; :mod:`.store` keeps the history;
:mod:`.page` and :mod:`.chat` are the thin trio layers; :mod:`.plugin` holds the hooks.
"""

__version__ = "0.1.0"
