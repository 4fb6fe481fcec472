// Beat rate (the pattern node's `set_beat_rate`): the visuals follow every other tracked beat (½×), each one
// (1×) or also the half-beats (2×) — VJ software's ÷2 / ×2, for a tracker locked at double or half the tempo
// a listener taps. Keys [ and ] step it down and up. ½× pressed again re-syncs which beats count (the next
// tracked beat is flagged): press it just before a downbeat.
import { h, fill, setText } from '../ui/dom.js';

export const BEAT_RATES = [
  { rate: 0.5, label: '½×', title: 'Half time: every other tracked beat (the tracker is at double the tempo); again: re-sync' },
  { rate: 1, label: '1×', title: 'Every tracked beat' },
  { rate: 2, label: '2×', title: 'Double time: also half way between beats (the tracker is at half the tempo)' },
];

export function mountBeatRate(root, { client, store, live }) {
  let requested = null; // the rate asked for and not yet confirmed by the server
  const buttons = BEAT_RATES.map((r) => h('button', {
    class: 'seg-btn', type: 'button', dataset: { rate: String(r.rate) }, title: r.title, 'aria-pressed': 'false',
    onclick: () => set(r.rate),
  }, r.label));
  const tracker = h('output', { class: 'beat-rate-bpm', id: 'beat-rate-bpm', title: "The beat tracker's own tempo" });
  fill(root, h('div', { class: 'beat-rate', id: 'beat-rate-control' },
    h('span', { class: 'beat-rate-label', id: 'beat-rate-label', title: 'Keys [ and ] step it down and up' },
      'Beat rate ', h('kbd', {}, '['), h('kbd', {}, ']')),
    tracker,
    h('div', { class: 'seg', role: 'group', 'aria-labelledby': 'beat-rate-label' }, buttons)));

  function set(rate) {
    const again = rate === store.get('beatRate');
    requested = rate;
    client.send({ type: 'set_beat_rate', rate });
    // Its reply comes after the command's outcome (a connection is served in order), so the button stops
    // looking pending even when the server refused (its error toast says why).
    client.send({ type: 'get_state' });
    render(store.data);
    if (again) flash(rate); // nothing changes on the server's side to show: a re-sync (½×) or a no-op
  }

  function flash(rate) {
    const b = buttons.find((x) => Number(x.dataset.rate) === rate);
    b.classList.remove('fired');
    void b.offsetWidth; // restart the CSS animation
    b.classList.add('fired');
  }

  function render(data) {
    const rate = data.beatRate;
    // null: the server reports no beat rate (an older mcav, an MCAV server, or a graph without a pattern node).
    root.dataset.available = String(rate !== null);
    if (requested === rate) requested = null;
    for (const b of buttons) {
      const r = Number(b.dataset.rate);
      b.disabled = rate === null;
      b.classList.toggle('active', r === rate);
      b.setAttribute('aria-pressed', String(r === rate));
      b.classList.toggle('pending', r === requested);
    }
  }
  store.subscribe(['beatRate'], render);
  client.on('vj_state', () => {
    requested = null;
    render(store.data);
  });

  // The BPM readout is the visuals' tempo (the pattern node rewrites bpm with the beat; README "Beat rate"):
  // beside it, while the two differ, the tracker's own: what it locked at, and when it moves to another level.
  live.add((frame) => {
    const rate = store.get('beatRate');
    const zs = (frame && frame.zone_status) || {};
    const bpm = Number(zs.bpm_estimate ?? (frame && frame.bpm));
    setText(tracker, rate && rate !== 1 && Number.isFinite(bpm) && bpm > 0 ? `tracker ${Math.round(bpm / rate)} BPM` : '');
  });

  /** Keys [ and ]: one step down or up. [ at ½× sends ½× again, a re-sync; ] at 2× has nothing to do. */
  function step(by) {
    const i = BEAT_RATES.findIndex((r) => r.rate === store.get('beatRate'));
    const next = BEAT_RATES[Math.max(0, i + by)];
    if (i >= 0 && next) set(next.rate);
  }
  return { down: () => step(-1), up: () => step(1) };
}
