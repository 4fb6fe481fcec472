// The preview's side panel: pattern and preset (the old preview offered both) and the camera.
import { h, fill } from '../ui/dom.js';

export function mountPanel(root, { client, store, view }) {
  const select = h('select', { id: 'pattern-select', 'aria-label': 'Pattern' });
  select.addEventListener('change', () => client.send({ type: 'set_pattern', pattern: select.value }));
  const presets = h('div', { class: 'chip-row', id: 'preset-row' });
  const rotate = h('input', { type: 'checkbox', id: 'auto-rotate' });
  rotate.addEventListener('change', () => view && view.setAutoRotate(rotate.checked));
  const reset = h('button', { class: 'btn btn-small', type: 'button', id: 'camera-reset', disabled: !view, onclick: () => view.resetCamera() }, 'Reset view');
  fill(root,
    h('section', { class: 'pcard' }, h('h2', {}, 'Pattern'), select),
    h('section', { class: 'pcard' }, h('h2', {}, 'Preset'), presets),
    h('section', { class: 'pcard' }, h('h2', {}, 'Camera'),
      h('label', { class: 'check' }, rotate, ' Auto-rotate'), reset,
      h('p', { class: 'muted small' }, 'Drag to orbit, scroll or pinch to zoom, right-drag to pan.')));

  store.subscribe(['patterns', 'currentPattern'], (d) => {
    const sig = (d.patterns || []).map((p) => p.id).join(',');
    if (select.dataset.sig !== sig) {
      select.dataset.sig = sig;
      fill(select, (d.patterns || []).map((p) => h('option', { value: p.id }, p.name || p.id)));
    }
    if (d.currentPattern && document.activeElement !== select) select.value = d.currentPattern;
  });
  store.subscribe(['presets', 'preset'], (d) => {
    const names = d.presets || [];
    if (presets.dataset.sig !== names.join(',')) {
      presets.dataset.sig = names.join(',');
      fill(presets, names.map((name) => h('button', {
        class: 'chip', type: 'button', dataset: { preset: name },
        onclick: () => client.send({ type: 'set_preset', preset: name }),
      }, name)));
    }
    for (const b of presets.children) b.classList.toggle('active', b.dataset.preset === d.preset);
  });
}
