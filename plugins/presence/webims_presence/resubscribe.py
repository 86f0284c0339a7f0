"""When to subscribe again after a subscription ended or a SUBSCRIBE failed (RFC 6665 §4.1.3, §4.2.2). Sans-IO.

The tables below say, per termination reason or failure status, whether to try again and after how long, and
which words the page shows meanwhile. A reason or status not listed is treated as a transient failure.
"""

from __future__ import annotations

import attrs

NOW = 0.0
LATER = 30.0  # "try again later" without a Retry-After
BACKOFF_MAX = 300.0
POLICY_RETRY = 3600.0


@attrs.frozen
class Plan:
    retry: bool
    after: float = NOW
    reason: str = ""  # shown to her: why this contact has no status


# RFC 6665 §4.2.2 reasons in Subscription-State: terminated.
_TERMINATED = {
    "deactivated": Plan(True, NOW),  # the notifier moved or ended the subscription: at once
    "timeout": Plan(True, NOW),  # it expired (a refresh came too late)
    "probation": Plan(True, LATER, "The presence server asked to wait."),
    "giveup": Plan(True, LATER, "Waiting for permission timed out."),
    # Refused: her contact may change the rules, but asking again soon would only be refused again.
    "rejected": Plan(True, POLICY_RETRY, "Not sharing status with you."),
    "noresource": Plan(True, POLICY_RETRY, "Has no presence."),
    "invariant": Plan(False, reason="Has no presence to watch."),
}

# Final failure responses to an initial SUBSCRIBE.
_FAILED = {
    403: Plan(False, reason="Not sharing status with you."),
    603: Plan(False, reason="Not sharing status with you."),
    404: Plan(False, reason="Unknown address."),
    604: Plan(False, reason="Unknown address."),
    484: Plan(False, reason="Incomplete address."),
    416: Plan(False, reason="Unsupported address."),
    489: Plan(False, reason="Presence is not offered for this address."),
}


def after_termination(reason: str | None, retry_after: int | None) -> Plan:
    plan = _TERMINATED.get(reason or "", Plan(True, LATER, "The presence server ended the subscription."))
    if plan.retry and retry_after is not None:
        return attrs.evolve(plan, after=float(retry_after))
    return plan


def after_failure(status: int, retry_after: int | None, failures: int) -> Plan:
    """A SUBSCRIBE failed (``failures`` times in a row, this one included)."""
    if status in _FAILED:
        return _FAILED[status]
    delay = retry_after if retry_after is not None else min(2.0 ** failures, BACKOFF_MAX)
    return Plan(True, float(delay), f"The presence server did not answer ({status}).")
