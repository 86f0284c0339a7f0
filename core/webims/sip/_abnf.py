"""Regular-expression building blocks for the SIP grammar (RFC 3261 §25.1, RFC 3966 §3).

Each name is the ABNF rule it renders, so a reader can check one against the other. Header
values reach these patterns already unfolded (the parser turns every CRLF+WSP into SP), so
LWS and SWS reduce to runs of SP/HTAB.
"""

from __future__ import annotations

import re

# §25.1 basic rules
ALPHANUM = r"A-Za-z0-9"
MARK = r"\-_.!~*'()"
UNRESERVED = ALPHANUM + MARK
ESCAPED = r"%[0-9A-Fa-f]{2}"
SWS = r"[ \t]*"
LWS = r"[ \t]+"

TOKEN_CHARS = ALPHANUM + r"\-.!%*_+`'~"
token = rf"[{TOKEN_CHARS}]+"
# word adds the separators that Call-ID values may carry.
word = rf"[{TOKEN_CHARS}()<>:\\\"/\[\]?{{}}]+"
callid = rf"{word}(?:@{word})?"

# qdtext is any UTF-8 except DQUOTE and backslash; quoted-pair escapes anything but CR/LF.
quoted_string = r'"(?:[^"\\\r\n]|\\[^\r\n])*"'

# §25.1 SIP-URI components
user = rf"(?:[{UNRESERVED}&=+$,;?/]|{ESCAPED})+"
password = rf"(?:[{UNRESERVED}&=+$,]|{ESCAPED})*"
hostname = r"[A-Za-z0-9](?:[A-Za-z0-9\-_.]*[A-Za-z0-9.])?"
ipv6_reference = r"\[[0-9A-Fa-f:.]+\]"
host = rf"(?:{hostname}|{ipv6_reference})"
port = r"[0-9]{1,5}"
paramchar = rf"(?:[{UNRESERVED}\[\]/:&+$]|{ESCAPED})"
hnvchar = rf"(?:[{UNRESERVED}\[\]/?:+$]|{ESCAPED})"

# §25.1 generic-param: gen-value = token / host / quoted-string
gen_value = rf"(?:{token}|{ipv6_reference}|{quoted_string})"

# RFC 3966 §3 telephone-subscriber
visual_separator = r"\-.()"
global_number_digits = rf"\+[0-9{visual_separator}]*[0-9][0-9{visual_separator}]*"
local_number_digits = (
    rf"[0-9A-Fa-f*#{visual_separator}]*[0-9A-Fa-f*#][0-9A-Fa-f*#{visual_separator}]*"
)


def compile_fullmatch(pattern: str) -> re.Pattern[str]:
    """Compile *pattern* anchored at both ends, for validating a whole value."""
    return re.compile(rf"(?:{pattern})\Z")


TOKEN_RE = compile_fullmatch(token)
CALLID_RE = compile_fullmatch(callid)
