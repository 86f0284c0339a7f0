"""Resume tokens: a reloaded tab gets its subscriber's registration back without the password.

A token is random (256 bits), handed to the page at login, kept by the page in sessionStorage (never the
password), and bound to one private identity. The gateway stores only its SHA-256, so a memory dump does not
hand out live tokens. Each use replaces it with a fresh one; it dies with the registration context.
"""

from __future__ import annotations

import hashlib
import secrets


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ResumeTokens:
    def __init__(self) -> None:
        self._private_identity_by_digest: dict[str, str] = {}
        self._digest_by_private_identity: dict[str, str] = {}

    def issue(self, private_identity: str) -> str:
        """A new token for this subscriber, revoking the previous one."""
        self.revoke(private_identity)
        token = secrets.token_urlsafe(32)
        self._private_identity_by_digest[_digest(token)] = private_identity
        self._digest_by_private_identity[private_identity] = _digest(token)
        return token

    def redeem(self, token: str) -> str | None:
        """The private identity the token belongs to, or None. The token is used up either way."""
        private_identity = self._private_identity_by_digest.pop(_digest(token), None)
        if private_identity is not None:
            del self._digest_by_private_identity[private_identity]
        return private_identity

    def revoke(self, private_identity: str) -> None:
        digest = self._digest_by_private_identity.pop(private_identity, None)
        if digest is not None:
            del self._private_identity_by_digest[digest]
