// The page's own sounds and measurements: one AudioContext for the ringtone (generated here, no audio file) and
// for the analysers of remote audio (the test hook dominantFrequency).
//
// Browsers start an AudioContext only after a user gesture; the context is made on first need and resumed on the
// next click or key press, so a call that rings before any gesture (right after a reload) still shows its banner
// and notification, and rings as soon as she touches the page.

let context = null;

export function audioContext() {
  if (context === null) {
    context = new AudioContext();
    const resume = () => {
      if (context.state === "suspended") context.resume().catch(() => {});
    };
    for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, resume, { capture: true });
  }
  return context;
}

// Route the page's own sounds to the chosen speaker where the browser can (AudioContext.setSinkId, Chromium 110+).
export async function setSoundsOutput(deviceId) {
  if (context && typeof context.setSinkId === "function") {
    await context.setSinkId(deviceId || "");
  }
}

// Ringing: "ring" for a call while idle, "waiting" (a soft beep) for a call that comes in during another call.
export class Ringer {
  constructor() {
    this.kind = null;
    this._timer = null;
    this._nodes = new Set();
  }

  start(kind = "ring") {
    if (this.kind === kind) return;
    this.stop();
    this.kind = kind;
    const play = () => (kind === "ring" ? this._ring() : this._beep());
    play();
    this._timer = setInterval(play, kind === "ring" ? 3000 : 4000);
  }

  stop() {
    clearInterval(this._timer);
    this._timer = null;
    this.kind = null;
    for (const gain of this._nodes) gain.disconnect();
    this._nodes.clear();
  }

  // Two short bursts of a major third (523 + 659 Hz), like a desk phone's trill, every 3 s.
  _ring() {
    const ctx = audioContext();
    const now = ctx.currentTime + 0.02;
    this._burst(ctx, now, 0.4, [523.25, 659.25], 0.12);
    this._burst(ctx, now + 0.6, 0.4, [523.25, 659.25], 0.12);
  }

  // Call waiting: one short, quiet 440 Hz beep, so the person she is talking to is not drowned out.
  _beep() {
    const ctx = audioContext();
    this._burst(ctx, ctx.currentTime + 0.02, 0.2, [440], 0.06);
  }

  _burst(ctx, start, seconds, frequencies, level) {
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, start);
    gain.gain.linearRampToValueAtTime(level, start + 0.02);
    gain.gain.setValueAtTime(level, start + seconds - 0.03);
    gain.gain.linearRampToValueAtTime(0, start + seconds);
    gain.connect(ctx.destination);
    this._nodes.add(gain);
    for (const frequency of frequencies) {
      const oscillator = ctx.createOscillator();
      oscillator.frequency.value = frequency;
      oscillator.connect(gain);
      oscillator.start(start);
      oscillator.stop(start + seconds);
    }
    setTimeout(() => {
      gain.disconnect();
      this._nodes.delete(gain);
    }, (start - ctx.currentTime + seconds) * 1000 + 100);
  }
}

// An analyser on a remote stream. The stream must also play in an <audio> element: Chromium gives WebAudio
// silence for a remote WebRTC track that is not attached to a media element (NOTES).
export class StreamAnalyser {
  constructor(stream) {
    const ctx = audioContext();
    this._source = ctx.createMediaStreamSource(stream);
    this._analyser = ctx.createAnalyser();
    this._analyser.fftSize = 8192;
    this._analyser.smoothingTimeConstant = 0.2;
    this._source.connect(this._analyser);
    this._bins = new Float32Array(this._analyser.frequencyBinCount);
    this._samples = new Float32Array(this._analyser.fftSize);
  }

  // The frequency (Hz) with the most energy, or null when there is nothing above -70 dBFS.
  dominantFrequency() {
    this._analyser.getFloatFrequencyData(this._bins);
    let best = -1;
    for (let i = 3; i < this._bins.length; i += 1) if (best < 0 || this._bins[i] > this._bins[best]) best = i;
    if (best < 0 || this._bins[best] < -70) return null;
    return (best * this._analyser.context.sampleRate) / this._analyser.fftSize;
  }

  // RMS level of the last analysed window, 0..1.
  level() {
    this._analyser.getFloatTimeDomainData(this._samples);
    let sum = 0;
    for (const sample of this._samples) sum += sample * sample;
    return Math.sqrt(sum / this._samples.length);
  }

  close() {
    this._source.disconnect();
  }
}
