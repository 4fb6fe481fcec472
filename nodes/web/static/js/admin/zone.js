// Entity count and zone (WIRE.md 3.3 `set_entity_count`, `set_zone`), with input checked here
// first so a typo gets a message instead of being silently ignored by the server.
import { h, fill, card } from '../ui/dom.js';

const COUNT_MIN = 1;
const COUNT_MAX = 256;
const ZONE_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function mountZone(root, { client, store, notify }) {
  const count = h('input', { type: 'number', id: 'entity-count', min: String(COUNT_MIN), max: String(COUNT_MAX), step: '1', inputmode: 'numeric' });
  const zone = h('input', { type: 'text', id: 'zone-name', maxlength: '64', autocomplete: 'off', spellcheck: 'false' });
  const countMsg = h('p', { class: 'field-error', id: 'entity-count-error', role: 'alert' });
  const zoneMsg = h('p', { class: 'field-error', id: 'zone-name-error', role: 'alert' });

  const countForm = h('form', {
    class: 'inline-form', id: 'entity-count-form', novalidate: true,
    onsubmit: (ev) => {
      ev.preventDefault();
      const raw = count.value.trim();
      const n = Number(raw);
      if (raw === '' || !Number.isInteger(n) || n < COUNT_MIN || n > COUNT_MAX) {
        countMsg.textContent = `Entity count must be a whole number from ${COUNT_MIN} to ${COUNT_MAX}.`;
        count.setAttribute('aria-invalid', 'true');
        return;
      }
      countMsg.textContent = '';
      count.removeAttribute('aria-invalid');
      client.send({ type: 'set_entity_count', count: n });
      notify({ kind: 'info', message: `Entity count → ${n}` });
    },
  }, h('label', { for: 'entity-count' }, 'Entities'), count, h('button', { class: 'btn btn-small', type: 'submit' }, 'Apply'));

  const zoneForm = h('form', {
    class: 'inline-form', id: 'zone-form', novalidate: true,
    onsubmit: (ev) => {
      ev.preventDefault();
      const z = zone.value.trim();
      if (!ZONE_RE.test(z)) {
        zoneMsg.textContent = 'Zone names use letters, digits, "-" and "_" (1-64 characters).';
        zone.setAttribute('aria-invalid', 'true');
        return;
      }
      zoneMsg.textContent = '';
      zone.removeAttribute('aria-invalid');
      client.send({ type: 'set_zone', zone: z });
      notify({ kind: 'info', message: `Zone → ${z}` });
    },
  }, h('label', { for: 'zone-name' }, 'Zone'), zone, h('button', { class: 'btn btn-small', type: 'submit' }, 'Apply'));

  fill(root, card('zone', 'Entities & zone', countForm, countMsg, zoneForm, zoneMsg));

  // Show the server's values, but never overwrite what the operator is typing.
  store.subscribe(['entityCount', 'zone'], (data) => {
    if (document.activeElement !== count && data.entityCount !== null) count.value = String(data.entityCount);
    if (document.activeElement !== zone && data.zone) zone.value = data.zone;
  });
}
