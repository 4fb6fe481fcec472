// The sidebar's "now" summary and the footer's link figures, both from the live frames + store.
import { h, fill, fmt } from '../ui/dom.js';
import { djName } from '../protocol.js';

export function mountNowPlaying(root, { store, live }) {
  const rows = {
    pattern: h('dd', { id: 'now-pattern' }, '—'),
    preset: h('dd', { id: 'now-preset' }, '—'),
    dj: h('dd', { id: 'now-dj' }, '—'),
    zone: h('dd', { id: 'now-zone' }, '—'),
    frame: h('dd', { id: 'now-frame' }, '—'),
  };
  fill(root, h('dl', { class: 'kv' },
    h('dt', {}, 'Pattern'), rows.pattern, h('dt', {}, 'Preset'), rows.preset, h('dt', {}, 'DJ'), rows.dj,
    h('dt', {}, 'Zone'), rows.zone, h('dt', {}, 'Frame'), rows.frame));
  store.subscribe(['currentPattern', 'patterns', 'preset', 'activeDj', 'roster', 'zone', 'entityCount'], (d) => {
    const p = (d.patterns || []).find((x) => x.id === d.currentPattern);
    rows.pattern.textContent = p ? p.name || p.id : d.currentPattern || '—';
    rows.pattern.dataset.pattern = d.currentPattern || '';
    rows.preset.textContent = d.preset || '—';
    rows.dj.textContent = djName(d.activeDj, d.roster) || 'none';
    rows.zone.textContent = d.zone ? `${d.zone}${d.entityCount ? ` · ${d.entityCount} entities` : ''}` : '—';
  });
  let last = null;
  live.add((frame) => {
    if (frame && frame.frame !== last) {
      last = frame.frame;
      rows.frame.textContent = String(frame.frame ?? '—');
    }
  });
}

export function mountFooter(root, { live }) {
  const latency = h('span', { id: 'foot-latency' }, 'Latency —');
  const fps = h('span', { id: 'foot-fps' }, '— fps');
  const rx = h('span', { id: 'foot-rx', title: 'state frames received by this page per second' }, '— frames/s');
  fill(root, latency, fps, rx);
  let count = live.frames;
  const update = () => {
    const f = live.frame;
    const n = live.frames - count;
    count = live.frames;
    rx.textContent = `${n} state frames/s here`;
    if (!f) return;
    // Without a DJ (e.g. the demo's own audio) there is no DJ link to measure.
    latency.textContent = typeof f.latency_ms === 'number'
      ? `Latency ${fmt(f.latency_ms, 1, ' ms')} · pipeline ${fmt(f.pipeline_latency_ms, 1, ' ms')}` : 'Latency — (no DJ link)';
    fps.textContent = typeof f.fps === 'number' ? `DJ ${fmt(f.fps, 0)} fps` : 'DJ — fps';
  };
  setInterval(update, 1000);
}
