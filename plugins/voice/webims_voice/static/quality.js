// How a call sounds, in words: her own leg measured here (the browser's getStats), the IMS side from the gateway
// (call.quality: what it receives from the phone, and the phone's RTCP about what we send it). Each figure comes
// with the side it belongs to, so "poor" always says where: her connection or the other side's network.

// Above these, sound suffers (rough ITU-T G.107 bands for narrowband calls): [fair from, poor from].
const LIMITS = { loss_pct: [1, 5], jitter_ms: [30, 60], round_trip_ms: [300, 600] };
const GRADES = ["good", "fair", "poor"];

// A leg's figures since the previous sample: loss over that interval, not since the call began.
export class BrowserLegMeter {
  constructor() {
    this._last = null;
    this._pc = null;
  }

  async sample(pc) {
    if (!pc) return null;
    if (pc !== this._pc) {  // a new audio path (after a network change or a reload) counts from zero
      this._pc = pc;
      this._last = null;
    }
    let inbound = null, remote = null;
    (await pc.getStats()).forEach((report) => {
      if (report.kind !== "audio") return;
      if (report.type === "inbound-rtp") inbound = report;
      if (report.type === "remote-inbound-rtp") remote = report;
    });
    if (!inbound) return null;
    const last = this._last;
    this._last = { received: inbound.packetsReceived || 0, lost: Math.max(0, inbound.packetsLost || 0) };
    const received = this._last.received - (last?.received || 0), lost = this._last.lost - (last?.lost || 0);
    return {
      received_loss_pct: received + lost > 0 ? round(100 * lost / (received + lost)) : null,
      received_jitter_ms: inbound.jitter != null ? round(1000 * inbound.jitter) : null,
      sent_loss_pct: remote?.fractionLost != null ? round(100 * remote.fractionLost) : null,
      round_trip_ms: remote?.roundTripTime != null ? round(1000 * remote.roundTripTime) : null,
    };
  }
}

// {grade: "good" | "fair" | "poor" | null, text} from {browser, ims} (either may be null).
export function describeQuality({ browser, ims }) {
  const findings = [
    ...findingsOf(browser, "your connection"),
    ...findingsOf(ims, "the other side's network"),
  ];
  if (!findings.length) return { grade: null, text: "" };
  const worst = findings.reduce((a, b) => (b.grade > a.grade ? b : a));
  const grade = GRADES[worst.grade];
  if (worst.grade === 0) return { grade, text: "Call quality: good." };
  return { grade, text: `Call quality: ${grade}. ${worst.words} on ${worst.side}.` };
}

function findingsOf(leg, side) {
  if (!leg) return [];
  const found = [];
  const add = (value, limits, words) => {
    if (value == null) return;
    const grade = value >= limits[1] ? 2 : value >= limits[0] ? 1 : 0;
    found.push({ grade, side, words: words(value) });
  };
  const loss = Math.max(leg.received_loss_pct ?? -1, leg.sent_loss_pct ?? -1);
  add(loss >= 0 ? loss : null, LIMITS.loss_pct, (v) => `${v} % of the sound is lost`);
  const jitter = Math.max(leg.received_jitter_ms ?? -1, leg.sent_jitter_ms ?? -1);
  add(jitter >= 0 ? jitter : null, LIMITS.jitter_ms, (v) => `Sound arrives unevenly (${Math.round(v)} ms jitter)`);
  add(leg.round_trip_ms, LIMITS.round_trip_ms, (v) => `Sound is delayed (${Math.round(v)} ms round trip)`);
  return found;
}

function round(value) {
  return Math.round(value * 10) / 10;
}
