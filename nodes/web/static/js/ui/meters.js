// Live audio readouts drawn on animation frames from the newest `state` frame:
// five band meters, the beat lamp, BPM and tempo confidence.
import { h, fill } from './dom.js';
import { BANDS } from '../protocol.js';

// A frame older than this means the stream stopped: meters fall to zero instead of freezing.
const STALE_MS = 1000;

/** Band meters; `vertical` for the preview's overlay, horizontal rows for the admin sidebar. */
export function mountBandMeters(root, live, { vertical = false } = {}) {
  const rows = BANDS.map((b, i) => {
    const fill_ = h('div', { class: 'meter-fill', style: { background: b.color } });
    const peak = h('div', { class: 'meter-peak', style: { background: b.color } });
    const value = h('span', { class: 'meter-value' }, '0%');
    const el = h('div', { class: 'meter', id: `meter-${b.key}`, dataset: { band: i, value: '0' }, style: { '--band': b.color } },
      h('span', { class: 'meter-label' }, b.label),
      h('div', { class: 'meter-track' }, fill_, peak),
      value);
    return { el, fill_, peak, value, level: 0, peakLevel: 0 };
  });
  fill(root, h('div', { class: `meters ${vertical ? 'meters-vertical' : ''}`, id: 'band-meters' }, rows.map((r) => r.el)));
  const axis = vertical ? 'scaleY' : 'scaleX';
  live.add((frame, dt) => {
    const fresh = frame && performance.now() - live.frameAt < STALE_MS;
    const bands = fresh && Array.isArray(frame.bands) ? frame.bands : [0, 0, 0, 0, 0];
    rows.forEach((r, i) => {
      const v = Math.max(0, Math.min(1, Number(bands[i]) || 0));
      r.level = v;
      // Peak marker falls slowly so short hits stay readable.
      r.peakLevel = Math.max(v, r.peakLevel - dt * 0.6);
      r.fill_.style.transform = `${axis}(${v.toFixed(3)})`;
      r.peak.style[vertical ? 'bottom' : 'left'] = `${(r.peakLevel * 100).toFixed(1)}%`;
      const pct = Math.round(v * 100);
      if (r.el.dataset.value !== String(pct)) {
        r.el.dataset.value = String(pct);
        r.value.textContent = `${pct}%`;
      }
    });
  });
}

/** The beat lamp: lights on each `is_beat` frame and decays over ~250 ms. */
export function mountBeat(root, live) {
  const lamp = h('div', { class: 'beat-lamp', 'aria-hidden': 'true' });
  const count = h('span', { class: 'beat-count' }, '0');
  const el = h('div', { class: 'beat', id: 'beat-indicator', dataset: { beats: '0' } }, lamp, h('span', { class: 'beat-label' }, 'Beat'), count);
  fill(root, el);
  let beats = 0;
  let lastSeen = -Infinity;
  live.add(() => {
    if (live.lastBeatAt !== lastSeen) {
      lastSeen = live.lastBeatAt;
      beats += 1;
      el.dataset.beats = String(beats);
      count.textContent = String(beats);
    }
    const glow = Math.max(0, 1 - (performance.now() - live.lastBeatAt) / 250);
    el.style.setProperty('--glow', glow.toFixed(3));
    el.classList.toggle('on', glow > 0.05);
  });
}

/** BPM and tempo confidence from `zone_status` (WIRE.md 3.2; `bpm` top-level as fallback). */
export function mountTempo(root, live) {
  const bpm = h('span', { class: 'tempo-bpm', id: 'bpm' }, '--');
  const conf = h('div', { class: 'tempo-conf-fill' });
  const confText = h('span', { class: 'tempo-conf-text', id: 'tempo-confidence' }, '—');
  fill(root, h('div', { class: 'tempo' },
    h('div', { class: 'tempo-main' }, bpm, h('span', { class: 'tempo-unit' }, 'BPM')),
    h('div', { class: 'tempo-conf', title: 'Tempo confidence' },
      h('span', { class: 'tempo-conf-label' }, 'Confidence'),
      h('div', { class: 'tempo-conf-track' }, conf), confText)));
  let shown = '';
  live.add((frame) => {
    if (!frame) return;
    const zs = frame.zone_status || {};
    const b = Number(zs.bpm_estimate ?? frame.bpm);
    const c = Number(zs.tempo_confidence ?? frame.tempo_confidence);
    // `locked` is mcav's own (an MCAV server sends none: then no badge); no beat is flagged while unlocked
    const locked = zs.locked === undefined ? '' : zs.locked ? 'locked' : 'no lock';
    const text = `${Number.isFinite(b) && b > 0 ? b.toFixed(0) : '--'}|${Number.isFinite(c) ? Math.round(c * 100) : '—'}|${locked}`;
    if (text === shown) return;
    shown = text;
    const [bt, ct, lk] = text.split('|');
    bpm.textContent = bt;
    confText.textContent = (ct === '—' ? ct : `${ct}%`) + (lk === 'no lock' ? ' · no lock' : '');
    root.dataset.locked = lk;
    conf.style.transform = `scaleX(${Number.isFinite(c) ? Math.max(0, Math.min(1, c)) : 0})`;
  });
}
