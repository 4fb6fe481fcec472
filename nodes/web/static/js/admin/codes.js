// Connect codes: generate with a time-to-live, list the valid ones, revoke (WIRE.md 3.3).
import { h, fill, card, relTime } from '../ui/dom.js';

const TTL_MIN = 1;
const TTL_MAX = 24 * 60;

export function mountCodes(root, { client, store }) {
  const ttl = h('input', { type: 'number', id: 'code-ttl', min: String(TTL_MIN), max: String(TTL_MAX), value: '30', step: '1', inputmode: 'numeric' });
  const err = h('p', { class: 'field-error', id: 'code-ttl-error', role: 'alert' });
  const latest = h('div', { class: 'code-latest', id: 'code-latest' });
  const list = h('div', { class: 'code-list', id: 'code-list' });
  const form = h('form', {
    class: 'inline-form', id: 'code-form', novalidate: true,
    onsubmit: (ev) => {
      ev.preventDefault();
      const n = Number(ttl.value);
      if (!Number.isInteger(n) || n < TTL_MIN || n > TTL_MAX) {
        err.textContent = `Time to live must be a whole number of minutes from ${TTL_MIN} to ${TTL_MAX}.`;
        return;
      }
      err.textContent = '';
      client.send({ type: 'generate_connect_code', ttl_minutes: n });
    },
  }, h('label', { for: 'code-ttl' }, 'Valid for'), ttl, h('span', { class: 'muted' }, 'min'),
  h('button', { class: 'btn btn-small', type: 'submit', id: 'code-generate' }, 'Generate'));
  fill(root, card('codes', 'Connect codes', form, err, latest, list));

  store.subscribe(['lastCode'], (data) => {
    const c = data.lastCode;
    if (!c) return fill(latest);
    fill(latest, h('span', { class: 'muted' }, 'New code'), h('strong', { class: 'code-big' }, c.code),
      h('span', { class: 'muted' }, `expires ${relTime(c.expires_at)}`));
  });
  function render(data) {
    form.hidden = data.djServer === false;
    if (data.djServer === false) return fill(list, h('p', { class: 'muted' }, 'Connect codes need DJ input (a dj_server node).'));
    const codes = (data.codes || []).filter((c) => !c.used);
    if (!codes.length) return fill(list, h('p', { class: 'muted' }, 'No valid codes.'));
    fill(list, codes.map((c) => h('div', { class: 'code-row', dataset: { code: c.code } },
      h('code', {}, c.code),
      h('span', { class: 'muted' }, `expires ${relTime(c.expires_at)}`),
      h('button', { class: 'btn btn-small btn-danger', type: 'button', dataset: { action: 'revoke' },
        onclick: () => client.send({ type: 'revoke_connect_code', code: c.code }) }, 'Revoke'))));
  }
  store.subscribe(['codes', 'djServer'], render);
  // Expiry times are relative: refresh the wording twice a minute.
  setInterval(() => render(store.data), 30000);
}
