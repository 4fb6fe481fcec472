// DJ roster (active, fps, latency; switch, kick, reorder) and the waiting list (approve, deny).
import { h, fill, card, fmt, relTime } from '../ui/dom.js';
import { djId } from '../protocol.js';

export function mountRoster(root, { client, store }) {
  const table = h('div', { class: 'roster', id: 'dj-roster' });
  const pending = h('div', { class: 'pending', id: 'dj-pending' });
  const pendingTitle = h('h3', { class: 'sub-title' }, 'Waiting for approval');
  fill(root, card('djs', 'DJs', table, pendingTitle, pending));

  // Kick asks for a second click instead of window.confirm(), which would freeze the page's
  // live meters while open.
  let armedKick = null;

  function renderRoster(data) {
    if (data.djServer === false) {
      fill(table, h('p', { class: 'muted', id: 'no-dj-server' }, 'This VJ server runs without DJ input (its graph has no dj_server node).'));
      fill(pending);
      pendingTitle.hidden = true;
      return;
    }
    const active = djId(data.activeDj);
    const list = [...(data.roster || [])].sort((a, b) => (a.queue_position ?? 999) - (b.queue_position ?? 999));
    if (!list.length) {
      fill(table, h('p', { class: 'muted' }, 'No DJs connected. Generate a connect code below and give it to a DJ.'));
      return;
    }
    fill(table, list.map((dj, idx) => {
      const isActive = dj.is_active || dj.dj_id === active;
      const kickArmed = armedKick === dj.dj_id;
      return h('div', { class: `dj-row ${isActive ? 'active' : ''}`, dataset: { dj: dj.dj_id } },
        h('div', { class: 'dj-main' },
          h('span', { class: 'dj-name' }, dj.dj_name || dj.dj_id),
          isActive ? h('span', { class: 'badge badge-live' }, 'LIVE') : null,
          dj.direct_mode ? h('span', { class: 'badge' }, 'direct') : null),
        h('div', { class: 'dj-stats' },
          h('span', { title: 'Frames per second' }, `${fmt(dj.fps, 0)} fps`),
          h('span', { title: 'Latency' }, `${fmt(dj.latency_ms, 0)} ms`),
          dj.bpm ? h('span', { title: 'BPM' }, `${fmt(dj.bpm, 0)} bpm`) : null),
        h('div', { class: 'dj-actions' },
          h('button', { class: 'icon-btn', type: 'button', title: 'Move up', 'aria-label': `Move ${dj.dj_name} up`, disabled: idx === 0,
            dataset: { action: 'up' }, onclick: () => client.send({ type: 'reorder_dj_queue', dj_id: dj.dj_id, new_position: idx - 1 }) }, '▲'),
          h('button', { class: 'icon-btn', type: 'button', title: 'Move down', 'aria-label': `Move ${dj.dj_name} down`, disabled: idx === list.length - 1,
            dataset: { action: 'down' }, onclick: () => client.send({ type: 'reorder_dj_queue', dj_id: dj.dj_id, new_position: idx + 1 }) }, '▼'),
          h('button', { class: 'btn btn-small', type: 'button', disabled: isActive, dataset: { action: 'switch' },
            onclick: () => client.send({ type: 'set_active_dj', dj_id: dj.dj_id }) }, 'Go live'),
          h('button', { class: `btn btn-small btn-danger ${kickArmed ? 'armed' : ''}`, type: 'button', dataset: { action: 'kick' },
            onclick: () => {
              if (kickArmed) {
                armedKick = null;
                client.send({ type: 'kick_dj', dj_id: dj.dj_id });
              } else {
                armedKick = dj.dj_id;
                setTimeout(() => { if (armedKick === dj.dj_id) { armedKick = null; renderRoster(store.data); } }, 3000);
              }
              renderRoster(store.data);
            } }, kickArmed ? 'Confirm kick' : 'Kick')));
    }));
  }

  function renderPending(data) {
    const list = data.pending || [];
    if (!list.length) {
      fill(pending, h('p', { class: 'muted' }, 'Nobody waiting.'));
      return;
    }
    fill(pending, list.map((dj) => h('div', { class: 'dj-row', dataset: { pending: dj.dj_id } },
      h('div', { class: 'dj-main' }, h('span', { class: 'dj-name' }, dj.dj_name || dj.dj_id),
        h('span', { class: 'muted' }, typeof dj.waiting_since === 'number' ? `waiting ${relTime(dj.waiting_since).replace(' ago', '')}` : '')),
      h('div', { class: 'dj-actions' },
        h('button', { class: 'btn btn-small btn-ok', type: 'button', dataset: { action: 'approve' },
          onclick: () => client.send({ type: 'approve_dj', dj_id: dj.dj_id }) }, 'Approve'),
        h('button', { class: 'btn btn-small btn-danger', type: 'button', dataset: { action: 'deny' },
          onclick: () => client.send({ type: 'deny_dj', dj_id: dj.dj_id }) }, 'Deny')))));
  }

  store.subscribe(['roster', 'activeDj', 'djServer'], renderRoster);
  store.subscribe(['pending', 'djServer'], (d) => { if (d.djServer !== false) renderPending(d); });
}
