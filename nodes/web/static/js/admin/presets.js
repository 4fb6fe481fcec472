// Audio presets (WIRE.md 6.4): one click sets the band sensitivities the patterns use.
import { h, fill, card } from '../ui/dom.js';

export function mountPresets(root, { client, store }) {
  const row = h('div', { class: 'chip-row', id: 'preset-row', role: 'group', 'aria-label': 'Presets' });
  fill(root, card('presets', 'Presets', row));
  let requested = null;
  function render(data) {
    const names = data.presets || [];
    if (row.dataset.sig !== names.join(',')) {
      row.dataset.sig = names.join(',');
      fill(row, names.map((name) => h('button', {
        class: 'chip', type: 'button', dataset: { preset: name },
        onclick: () => {
          requested = name;
          client.send({ type: 'set_preset', preset: name });
          render(store.data);
        },
      }, name)));
    }
    if (requested === data.preset) requested = null;
    for (const b of row.children) {
      b.classList.toggle('active', b.dataset.preset === data.preset);
      b.setAttribute('aria-pressed', String(b.dataset.preset === data.preset));
      b.classList.toggle('pending', b.dataset.preset === requested);
    }
  }
  store.subscribe(['presets', 'preset'], render);
}
