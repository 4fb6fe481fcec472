// Pattern picker: every pattern the server lists, keys 1-8 for the first eight (WIRE.md 7.1).
import { h, fill, card } from '../ui/dom.js';
import { landing } from './scenes.js';

export function mountPatterns(root, { client, store }) {
  const grid = h('div', { class: 'pattern-grid', id: 'pattern-grid', role: 'group', 'aria-label': 'Patterns' });
  const empty = h('p', { class: 'muted' }, 'Waiting for the pattern list from the server…');
  fill(root, card('patterns', 'Patterns', h('p', { class: 'hint' }, 'Keys 1-8 pick the first eight.'), empty, grid));
  let requested = null; // what we asked for and have not seen confirmed yet

  const select = (id) => {
    requested = id;
    client.send({ type: 'set_pattern', pattern: id, ...landing(store) });
    render(store.data);
  };

  function render(data) {
    const list = data.patterns || [];
    empty.hidden = list.length > 0;
    if (requested && requested === data.currentPattern) requested = null;
    // Rebuild only when the list itself changed; otherwise just move the highlight.
    const sig = list.map((p) => p.id).join(',');
    if (grid.dataset.sig !== sig) {
      grid.dataset.sig = sig;
      fill(grid, list.map((p, i) => h('button', {
        class: 'pattern-btn', type: 'button', dataset: { pattern: p.id },
        title: p.description || p.name || p.id,
        onclick: () => select(p.id),
      }, i < 8 ? h('kbd', {}, String(i + 1)) : null, h('span', { class: 'pattern-name' }, p.name || p.id))));
    }
    for (const btn of grid.children) {
      const id = btn.dataset.pattern;
      btn.classList.toggle('active', id === data.currentPattern);
      btn.setAttribute('aria-pressed', String(id === data.currentPattern));
      btn.classList.toggle('pending', id === requested && id !== data.currentPattern);
    }
  }
  store.subscribe(['patterns', 'currentPattern'], render);

  return {
    /** Keyboard 1-8. */
    selectIndex(i) {
      const p = (store.get('patterns') || [])[i];
      if (p) select(p.id);
    },
  };
}
