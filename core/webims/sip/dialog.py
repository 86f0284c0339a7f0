"""SIP dialogs (RFC 3261 §12) with the extensions calls need: PRACK (RFC 3262), UPDATE
(RFC 3311) and the offer/answer bookkeeping that decides 491 and 500 (RFC 3261 §14,
RFC 3311 §5.2, RFC 6337).

A :class:`Dialog` is the mutable owner of one dialog's state: its id, route set, targets and
CSeq counters. It builds in-dialog requests (``create_request``, ``create_ack``,
``create_prack``) and vets what arrives (``receive_request`` returns a :class:`Reject` or
None; ``receive_response`` says whether to process the response). It does not add Via:
the transport owns the top Via and its branch (``message.new_branch()``).

A :class:`DialogSet` gathers the early dialogs one INVITE creates when it forks.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable

import attrs

from .errors import LocalProtocolError, RemoteProtocolError
from .headers import Contact, Headers, NameAddr
from .message import Message, Request, Response, make_response
from .prack import RAck, is_reliable_provisional, rseq_of
from .uri import SipUri, Uri

__all__ = [
    "dialog_response",
    "Dialog",
    "DialogId",
    "DialogSet",
    "DialogState",
    "Negotiation",
    "Reject",
    "TARGET_REFRESH_METHODS",
]

# Requests whose Contact replaces the remote target: RFC 3261 §12.2 (re-INVITE), RFC 3311
# §5.1 (UPDATE), RFC 6665 §4.1.2.1 and §4.2.1.1 (SUBSCRIBE, NOTIFY), RFC 3515 §2.4.6 (REFER).
TARGET_REFRESH_METHODS = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})

# Requests that can carry an SDP offer (RFC 6337 §3.1); ACK carries only answers.
_OFFER_METHODS = frozenset({"INVITE", "UPDATE", "PRACK"})


class DialogState(enum.Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class Negotiation(enum.Enum):
    """Where the dialog's offer/answer exchange stands (RFC 3264 §4, RFC 6337 §2)."""

    STABLE = "stable"  # no offer outstanding
    LOCAL_OFFER = "local-offer"  # we offered; the answer is owed to us
    REMOTE_OFFER = "remote-offer"  # they offered; we owe the answer


@attrs.frozen
class DialogId:
    """§12: Call-ID, local tag and remote tag, from our side's point of view."""

    call_id: str
    local_tag: str
    remote_tag: str

    @classmethod
    def of_received(cls, message: Message) -> DialogId | None:
        """The id of the dialog a received message belongs to; None for a request outside
        any dialog (no To tag) or a response that creates none (100 Trying)."""
        if message.to_tag is None or message.from_tag is None:
            return None
        if isinstance(message, Request):
            return cls(message.call_id, message.to_tag, message.from_tag)
        return cls(message.call_id, message.from_tag, message.to_tag)


@attrs.frozen
class Reject:
    """The response to send to an in-dialog request the dialog refuses."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()


def _has_sdp(message: Message) -> bool:
    return bool(message.body) and message.media_type == "application/sdp"


def _contact_uri(message: Message) -> Uri | None:
    contacts = message.contacts
    return contacts[0].uri if contacts and contacts[0].uri is not None else None


def dialog_response(request: Request, status: int, reason: str | None = None, *, to_tag: str, contact: str,
                    headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> Response:
    """A response that creates (or confirms) a dialog, as §12.1.1 asks a UAS to build it: our To tag, our
    Contact, and the request's Record-Route copied in order so the caller learns the route set."""
    fields = [("Record-Route", value) for value in request.headers.get_all("Record-Route")]
    fields += [("Contact", contact), *headers]
    return make_response(request, status, reason, to_tag=to_tag, headers=fields, body=body)


def _final_to_invite(response: Response) -> bool:
    return response.cseq.method == "INVITE" and response.is_final


@attrs.define
class Dialog:
    """One dialog. Create it with :meth:`from_uac` or :meth:`from_uas`."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: NameAddr  # our From (UAC) or To (UAS), without the tag
    remote_uri: NameAddr
    remote_target: Uri
    route_set: tuple[NameAddr, ...]
    local_target: Contact | None  # our Contact, repeated in target refresh requests
    local_seq: int | None
    remote_seq: int | None
    is_uac: bool
    secure: bool = False
    state: DialogState = DialogState.EARLY
    negotiation: Negotiation = Negotiation.STABLE
    remote_rseq: int | None = None  # RFC 3262 §4: last in-order reliable 1xx
    local_invite_pending: bool = False  # our INVITE awaits its final response
    remote_invite_pending: bool = False  # their INVITE awaits our final response
    _offerless_invite: int | None = attrs.field(default=None, init=False)  # its CSeq
    _offer_cseq: tuple[int, str] | None = attrs.field(default=None, init=False)

    # --- creation (§12.1) ----------------------------------------------------------------------

    @classmethod
    def from_uac(cls, request: Request, response: Response) -> Dialog:
        """§12.1.2: the dialog our ``request`` and its 1xx-with-tag or 2xx ``response``
        create. The route set is the response's Record-Route reversed."""
        if not 101 <= response.status < 300:
            raise LocalProtocolError(f"a {response.status} response creates no dialog")
        if response.to_tag is None:
            raise RemoteProtocolError(
                f"the {response.status} has no To tag, so it creates no dialog", status_hint=None
            )
        dialog = cls(
            call_id=request.call_id,
            local_tag=request.from_tag or "",
            remote_tag=response.to_tag,
            local_uri=request.from_.without_params("tag"),
            remote_uri=response.to.without_params("tag"),
            remote_target=_contact_uri(response) or request.uri,  # lenient: 1xx often lack it
            route_set=tuple(reversed(response.record_route)),
            local_target=(request.contacts or [None])[0],
            local_seq=request.cseq.seq,
            remote_seq=None,
            is_uac=True,
            secure=_is_sips(request.uri),
            local_invite_pending=request.method == "INVITE",
        )
        dialog._note_sent(request)
        dialog.receive_response(response)
        return dialog

    @classmethod
    def from_uas(cls, request: Request, response: Response) -> Dialog:
        """§12.1.1: the dialog a received ``request`` and our ``response`` (with our To
        tag, our Contact, and the request's Record-Route copied) create."""
        if response.to_tag is None:
            raise LocalProtocolError("a dialog-creating response needs a To tag")
        remote_target = _contact_uri(request)
        if remote_target is None:
            raise RemoteProtocolError(f"the {request.method} has no Contact to reach its sender")
        dialog = cls(
            call_id=request.call_id,
            local_tag=response.to_tag,
            remote_tag=request.from_tag or "",
            local_uri=request.to.without_params("tag"),
            remote_uri=request.from_.without_params("tag"),
            remote_target=remote_target,
            route_set=tuple(request.record_route),
            local_target=(response.contacts or [None])[0],
            local_seq=None,
            remote_seq=request.cseq.seq,
            is_uac=False,
            secure=_is_sips(request.uri),
            remote_invite_pending=request.method == "INVITE",
        )
        dialog._note_received(request)
        dialog.response_sent(response)
        return dialog

    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local_tag, self.remote_tag)

    def terminate(self) -> None:
        self.state = DialogState.TERMINATED

    # --- requests we send (§12.2.1) ------------------------------------------------------------

    def create_request(
        self,
        method: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """A new in-dialog request (BYE, re-INVITE, UPDATE, INFO, REFER, NOTIFY, MESSAGE,
        PRACK...) with the next local CSeq (§12.2.1.1). Add the top Via before sending."""
        if method in ("ACK", "CANCEL"):
            raise LocalProtocolError(f"{method} has its INVITE's CSeq: use create_ack, make_cancel")
        if self.state is DialogState.TERMINATED:
            raise LocalProtocolError(f"cannot send {method} in a terminated dialog")
        if method == "INVITE" and (self.local_invite_pending or self.remote_invite_pending):
            raise LocalProtocolError("§14.1: another INVITE is in progress in this dialog")
        self._check_can_offer(method, body, content_type)
        self.local_seq = (self.local_seq or 0) + 1
        request = self._build(method, self.local_seq, headers, body, content_type)
        self.local_invite_pending |= method == "INVITE"
        if method == "BYE":
            self.terminate()  # §15.1.1: the session ends when BYE is sent
        self._note_sent(request)
        return request

    def create_ack(
        self,
        response: Response,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """The ACK for a 2xx to an INVITE (§13.2.2.4): the INVITE's CSeq number, built like
        any in-dialog request; ``headers`` repeat the INVITE's credentials. Pass the 2xx
        through :meth:`receive_response` first."""
        if not (200 <= response.status < 300 and response.cseq.method == "INVITE"):
            raise LocalProtocolError(f"the UA ACKs only a 2xx to INVITE, not {response.status}")
        ack = self._build("ACK", response.cseq.seq, headers, body, content_type)
        self._note_sent(ack)
        return ack

    def create_prack(
        self, response: Response, *, body: bytes = b"", content_type: str | None = None
    ) -> Request:
        """The PRACK for a reliable provisional response (RFC 3262 §4): RAck names it."""
        rack = RAck.for_response(response)
        headers = [("RAck", str(rack))]
        return self.create_request("PRACK", headers=headers, body=body, content_type=content_type)

    def _build(
        self,
        method: str,
        seq: int,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        content_type: str | None,
    ) -> Request:
        if body and content_type is None:
            raise LocalProtocolError(f"{method} has a body but no Content-Type")
        uri, routes = self._request_uri_and_routes()
        fields = Headers([("Max-Forwards", "70")])
        for route in routes:
            fields.add("Route", str(route))
        fields.add("From", str(self.local_uri.with_tag(self.local_tag)))
        fields.add("To", str(self.remote_uri.with_tag(self.remote_tag)))
        fields.add("Call-ID", self.call_id)
        fields.add("CSeq", f"{seq} {method}")
        if method in TARGET_REFRESH_METHODS and self.local_target is not None:
            fields.add("Contact", str(self.local_target))
        for name, value in headers:
            fields.add(name, value)
        if body:
            fields.add("Content-Type", content_type or "")
        return Request(method, uri, fields, body)

    def _request_uri_and_routes(self) -> tuple[Uri, list[NameAddr]]:
        """§12.2.1.1: loose routing keeps the remote target as Request-URI; a strict router
        (first route without ``lr``) takes the Request-URI and the target goes last."""
        first = self.route_set[0].uri if self.route_set else None
        if not isinstance(first, SipUri) or first.has_param("lr"):
            return self.remote_target, list(self.route_set)
        first = attrs.evolve(first.without_params("method"), headers=())  # §19.1.1 table 1
        return first, [*self.route_set[1:], NameAddr(None, self.remote_target)]

    # --- messages we receive -----------------------------------------------------------------

    def receive_request(self, request: Request) -> Reject | None:
        """Vet an in-dialog request (§12.2.2) and update the dialog from it; a
        :class:`Reject` says how to answer instead of processing it."""
        rejection = self._check_peer(request) or self._check_order(request) or self._check_glare(request)
        if rejection is not None:
            return rejection
        if request.method not in ("ACK", "CANCEL"):
            self.remote_seq = request.cseq.seq
        if request.method in TARGET_REFRESH_METHODS:
            self.remote_target = _contact_uri(request) or self.remote_target
        self.remote_invite_pending |= request.method == "INVITE"
        if request.method == "BYE":
            self.terminate()
        self._note_received(request)
        return None

    def receive_response(self, response: Response) -> bool:
        """Update the dialog from a response to a request we sent in it (or to the INVITE
        that created it). False means ignore the response: a reliable provisional response
        out of order or repeated (RFC 3262 §4)."""
        if is_reliable_provisional(response) and not self._in_rseq_order(response):
            return False
        if 200 <= response.status < 300:
            self._confirm_or_refresh(response)
        elif response.status in (408, 481):
            self.terminate()  # §12.2.1.2: the dialog is gone on the other side
        elif self._ends_early_dialog(response):
            self.terminate()
        if _final_to_invite(response):
            self.local_invite_pending = False
        self._note_received(response)
        return True

    def response_sent(self, response: Response) -> None:
        """Tell the dialog about a response we sent to a request in it."""
        confirms = 200 <= response.status < 300 and response.cseq.method == "INVITE"
        if confirms and self.state is DialogState.EARLY:
            self.state = DialogState.CONFIRMED
        elif self._ends_early_dialog(response):
            self.terminate()
        if _final_to_invite(response):
            self.remote_invite_pending = False
        self._note_sent(response)

    def _ends_early_dialog(self, response: Response) -> bool:
        # §12.3: a failed INVITE ends its early dialogs (a failed UPDATE or PRACK does not).
        failed = response.status >= 300 and response.cseq.method == "INVITE"
        return failed and self.state is DialogState.EARLY

    def _check_peer(self, request: Request) -> Reject | None:
        # §12.2.2: a dialog is its Call-ID and both tags. A request with our tag and another remote tag comes
        # from a UA this dialog is not with (another fork of our INVITE): there is no such dialog here.
        if self.remote_tag and request.from_tag != self.remote_tag:
            return Reject(481, "Call/Transaction Does Not Exist (another party's tag)")
        return None

    def _check_order(self, request: Request) -> Reject | None:
        # §12.2.2: ACK and CANCEL carry their INVITE's number; anything else lower than the
        # last one seen arrived out of order.
        if request.method in ("ACK", "CANCEL") or self.remote_seq is None:
            return None
        if request.cseq.seq < self.remote_seq:
            return Reject(500, f"CSeq {request.cseq.seq} is lower than the last, {self.remote_seq}")
        return None

    def _check_glare(self, request: Request) -> Reject | None:
        """§14.2 and RFC 3311 §5.2: one INVITE and one offer at a time in each direction."""
        offers = _has_sdp(request) and request.method in ("INVITE", "UPDATE")
        if (request.method == "INVITE" and self.local_invite_pending) or (
            offers and self.negotiation is Negotiation.LOCAL_OFFER
        ):
            return Reject(491, f"{request.method} crossed our own pending INVITE or offer")
        if (request.method == "INVITE" and self.remote_invite_pending) or (
            offers and self.negotiation is Negotiation.REMOTE_OFFER
        ):
            retry = ("Retry-After", str(secrets.randbelow(11)))  # "between 0 and 10 s"
            return Reject(500, f"{request.method} came before we answered the last one", (retry,))
        return None

    def _confirm_or_refresh(self, response: Response) -> None:
        if self.state is DialogState.EARLY and response.cseq.method == "INVITE":
            # §13.2.2.4: the 2xx confirms the dialog and recomputes its route set.
            self.state = DialogState.CONFIRMED
            self.route_set = tuple(reversed(response.record_route))
        if response.cseq.method in TARGET_REFRESH_METHODS:
            self.remote_target = _contact_uri(response) or self.remote_target  # §12.2.1.2

    def _in_rseq_order(self, response: Response) -> bool:
        # RFC 3262 §4: the first reliable 1xx sets the sequence; each later one must be
        # exactly one higher, anything else is a retransmission or out of order.
        rseq = rseq_of(response)
        assert rseq is not None
        if self.remote_rseq is not None and rseq != self.remote_rseq + 1:
            return False
        self.remote_rseq = rseq
        return True

    # --- offer/answer (RFC 3264, RFC 6337) ---------------------------------------------------

    def _check_can_offer(self, method: str, body: bytes, content_type: str | None) -> None:
        is_sdp = (content_type or "").split(";")[0].strip().lower() == "application/sdp"
        if body and is_sdp and method in ("INVITE", "UPDATE"):
            if self.negotiation is not Negotiation.STABLE:
                raise LocalProtocolError(
                    f"cannot offer in {method}: the negotiation is at {self.negotiation.value}"
                )

    def _note_sent(self, message: Message) -> None:
        self._note_sdp(message, Negotiation.LOCAL_OFFER, Negotiation.REMOTE_OFFER)

    def _note_received(self, message: Message) -> None:
        self._note_sdp(message, Negotiation.REMOTE_OFFER, Negotiation.LOCAL_OFFER)

    def _note_sdp(
        self, message: Message, offer_by_sender: Negotiation, offer_by_other: Negotiation
    ) -> None:
        """Move the negotiation for a message whose sender's offer would be
        ``offer_by_sender``. An answer settles the other side's offer; a rejected request
        withdraws its offer (RFC 6337 §3.4)."""
        if isinstance(message, Response) and message.status >= 300:
            rejected = (message.cseq.seq, message.cseq.method) == self._offer_cseq
            if self.negotiation is offer_by_other and rejected:
                self.negotiation = Negotiation.STABLE
            return
        if isinstance(message, Request) and message.method == "INVITE" and not _has_sdp(message):
            self._offerless_invite = message.cseq.seq  # the offer will come in the answer
        if not _has_sdp(message) or _is_preview(message):
            return
        if self.negotiation is offer_by_other:
            self.negotiation = Negotiation.STABLE
        elif self.negotiation is Negotiation.STABLE and self._may_offer(message):
            self.negotiation = offer_by_sender
            self._offer_cseq = (message.cseq.seq, message.cseq.method)
            if isinstance(message, Response):
                self._offerless_invite = None  # later SDP in its responses only repeats

    def _may_offer(self, message: Message) -> bool:
        if isinstance(message, Request):
            return message.method in _OFFER_METHODS
        # A response to INVITE offers only when the INVITE had none (§13.2.1); otherwise
        # its SDP repeats the answer already given (RFC 6337 §3.1.1).
        return message.cseq.method == "INVITE" and message.cseq.seq == self._offerless_invite


def _is_preview(message: Message) -> bool:
    """SDP in an unreliable 1xx previews the answer the 2xx will carry (RFC 6337 §3.1.1)."""
    return isinstance(message, Response) and message.status < 200 and rseq_of(message) is None


def _is_sips(uri: Uri) -> bool:
    # §12.1.1 also asks that the request came over TLS, which the transport checks.
    return isinstance(uri, SipUri) and uri.scheme == "sips"


@attrs.define
class DialogSet:
    """The dialogs one INVITE of ours creates: one early dialog per To tag in provisional
    responses, as forking proxies produce (§12.1.2, §13.2.2.4), any of which a 2xx confirms."""

    request: Request
    dialogs: dict[str, Dialog] = attrs.field(factory=dict, init=False)

    def receive_response(self, response: Response) -> Dialog | None:
        """The dialog ``response`` belongs to, created if it is the first from its fork;
        None if it creates none (no To tag, or a failure) or must be ignored."""
        tag = response.to_tag
        if response.status >= 300:
            self.end_early_dialogs()
            return None
        if tag is None or response.status == 100:
            return None
        dialog = self.dialogs.get(tag)
        if dialog is None:
            dialog = self.dialogs[tag] = Dialog.from_uac(self.request, response)
            return dialog
        return dialog if dialog.receive_response(response) else None

    def end_early_dialogs(self) -> None:
        """End the early dialogs: on a non-2xx final response (§12.3), or when the INVITE
        transaction ends after a 2xx from another fork (§13.2.2.4)."""
        for dialog in self.dialogs.values():
            if dialog.state is DialogState.EARLY:
                dialog.terminate()

    @property
    def confirmed(self) -> list[Dialog]:
        return [d for d in self.dialogs.values() if d.state is DialogState.CONFIRMED]

    @property
    def early(self) -> list[Dialog]:
        return [d for d in self.dialogs.values() if d.state is DialogState.EARLY]
