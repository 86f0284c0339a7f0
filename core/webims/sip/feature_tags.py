"""Media feature tags (RFC 3840) as Contact and Accept-Contact parameters (RFC 3841), sans-IO.

A boolean tag is its bare name (``;video``). Values of one tag are one quoted, comma-separated list; an ICSI or
IARI (TS 24.229 §7.9.2) is a URN whose ``:`` are percent-encoded, as every IMS core expects:
``;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:  # any object with ``name`` and ``value`` does; this package imports nothing of the gateway's
    from webims.service import FeatureTag

__all__ = ["contact_parameters", "accept_contact", "MMTEL"]

# TS 24.173 §5.1: the IMS multimedia telephony communication service (voice and video calls).
MMTEL = "urn:urn-7:3gpp-service.ims.icsi.mmtel"
_TOKEN_SAFE = "-.!*_+`'~"  # RFC 3261 token characters besides letters and digits; the rest is percent-encoded


def contact_parameters(tags: Iterable[FeatureTag]) -> str:
    """``;audio;+g.3gpp.icsi-ref="..."``: the tags as Contact header parameters, each name once, in first-seen
    order. A name given both with and without a value keeps its values."""
    values: dict[str, list[str]] = {}
    for tag in tags:
        listed = values.setdefault(tag.name, [])
        if tag.value is not None and tag.value not in listed:
            listed.append(tag.value)
    return "".join(f";{name}" if not listed else f';{name}="{",".join(quote(v, safe=_TOKEN_SAFE) for v in listed)}"'
                   for name, listed in values.items())


def accept_contact(tag: FeatureTag) -> str:
    """An Accept-Contact value asking for a UA with ``tag`` (RFC 3841 §9.2), e.g. the MMTel ICSI in a call."""
    return "*" + contact_parameters([tag])
