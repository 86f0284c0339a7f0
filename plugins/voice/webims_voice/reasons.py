"""SIP final responses in words a person understands (the "why" of a call that failed or ended)."""

from __future__ import annotations

from webims.sip import Response

_REASONS = {
    404: "The number does not exist.",
    408: "No answer.",
    410: "The number is no longer in service.",
    433: "The person you called does not take calls from withheld numbers: call again with your number shown.",
    480: "The person is not reachable right now.",
    484: "The number is incomplete.",
    486: "The line is busy.",
    487: "The call was cancelled.",
    488: "The other phone could not agree with us on how to carry the call's audio.",
    600: "The line is busy.",
    603: "The call was declined.",
    604: "The number does not exist.",
    606: "The other phone could not agree with us on how to carry the call's audio.",
}


def failure_reason(response: Response) -> str:
    """Why an INVITE failed; a 488's Warning text (a media explanation) is kept when there is one."""
    status = response.status
    if status in (488, 606) and response.headers.get("Warning"):
        warning = response.headers.get("Warning").split('"')
        if len(warning) >= 2 and warning[1]:
            return f"{_REASONS[status]} ({warning[1]})"
    if status in _REASONS:
        return _REASONS[status]
    if status in (401, 403, 407):
        return "The network did not allow this call."
    if status == 503:
        return "The network is busy or unavailable; try again in a moment."
    if status >= 500:
        return "The network could not complete the call."
    return f"The call failed ({status} {response.reason})."
