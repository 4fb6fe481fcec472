// User-visible messages: server `error{message}` replies, rejected input, login results.
// Errors stay until dismissed or replaced by newer ones (an operator may look away); info fades.
import { h } from './dom.js';

const MAX_VISIBLE = 4;

export function mountToasts(root) {
  const list = h('div', { class: 'toasts', id: 'toasts', role: 'alert', 'aria-live': 'assertive' });
  root.append(list);
  const counts = new Map();

  /** notify({message, kind: 'error'|'info'|'ok'}) */
  return function notify({ message, kind = 'info' }) {
    const text = String(message || '').slice(0, 500);
    // Same message again (e.g. a held key): bump a counter instead of stacking copies.
    for (const el of list.children) {
      if (el.dataset.text === text && el.dataset.kind === kind) {
        const n = (counts.get(el) || 1) + 1;
        counts.set(el, n);
        el.querySelector('.toast-count').textContent = `×${n}`;
        return;
      }
    }
    const close = h('button', { class: 'toast-close', type: 'button', 'aria-label': 'Dismiss', onclick: () => el.remove() }, '×');
    const el = h('div', { class: `toast toast-${kind}`, dataset: { text, kind } },
      h('span', { class: 'toast-text' }, text), h('span', { class: 'toast-count' }), close);
    list.prepend(el);
    while (list.children.length > MAX_VISIBLE) list.lastChild.remove();
    if (kind !== 'error') setTimeout(() => el.remove(), 4000);
  };
}
