// Minecraft link and server health (vj_state.health_stats, WIRE.md 3.1 / 5).
import { h, fill, card } from '../ui/dom.js';

const FIELDS = [
  ['current_djs', 'DJs now'],
  ['current_browsers', 'Browsers now'],
  ['dj_connects', 'DJ connects'],
  ['dj_disconnects', 'DJ disconnects'],
  ['browser_connects', 'Browser connects'],
  ['browser_disconnects', 'Browser disconnects'],
  ['mc_reconnect_count', 'Minecraft reconnects'],
];

export function mountHealth(root, { store }) {
  const mc = h('div', { class: 'mc-status', id: 'mc-status' });
  const grid = h('dl', { class: 'stat-grid', id: 'health-stats' });
  fill(root, card('health', 'Minecraft & health', mc, grid));
  store.subscribe(['minecraftConnected', 'health'], (data) => {
    const c = data.minecraftConnected;
    mc.dataset.connected = String(c);
    fill(mc, h('span', { class: `dot ${c ? 'dot-ok' : c === false ? 'dot-bad' : ''}` }),
      c === null ? 'Minecraft: unknown' : c ? 'Minecraft plugin connected' : 'Minecraft plugin not connected');
    const hs = data.health || {};
    fill(grid, FIELDS.map(([k, label]) => [h('dt', {}, label), h('dd', { dataset: { stat: k } }, hs[k] ?? '—')]));
  });
}
