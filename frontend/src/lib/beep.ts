// A short, soft two-tone beep through WebAudio (no audio file to load).
let context: AudioContext | null = null;

export function beep(): void {
  try {
    const Ctor = window.AudioContext;
    if (!Ctor) return;
    context ??= new Ctor();
    const ctx = context;
    const gain = ctx.createGain();
    gain.gain.value = 0.08;
    gain.connect(ctx.destination);
    [880, 660].forEach((frequency, i) => {
      const osc = ctx.createOscillator();
      osc.type = "sine";
      osc.frequency.value = frequency;
      osc.connect(gain);
      const start = ctx.currentTime + i * 0.15;
      osc.start(start);
      osc.stop(start + 0.12);
    });
  } catch {
    // No audio (autoplay policy, no device): the pop-up is enough.
  }
}
