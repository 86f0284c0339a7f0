"""Errors a person can act on. Each layer has one type; the plugin boundary turns them into browser errors."""

from __future__ import annotations


class WebimsError(Exception):
    """Base of every error webims raises on purpose."""


class ConfigError(WebimsError):
    """The operator config (or a plugin installation) is wrong; ``problems`` lists every problem found."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class ServiceError(WebimsError):
    """A service refused or failed a browser request; ``code`` and ``message`` go to that browser as they are.

    ``message`` is read by a person: say what happened and, where there is one, what to do about it.
    """

    def __init__(self, code: str, message: str, **details):
        self.code = code
        self.message = message
        self.details = details
        super().__init__(f"{code}: {message}")


class IdentityError(ServiceError):
    """A browser asked to act as a public identity that is not in its subscriber's implicit registration set."""

    def __init__(self, identity: str):
        super().__init__(
            "forbidden_identity",
            f"{identity} is not one of your identities; choose one of the identities shown in the identity picker.",
            identity=identity,
        )
