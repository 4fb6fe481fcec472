// Scenes (the `show` node): save what is on screen under a name, recall one (the pattern crossfades
// over the current transition, on the beat the "Changes land" choice says), rename, delete.
// Messages: list_scenes → scenes_list, save_scene, load_scene{name, quantize}, rename_scene, delete_scene.
import { h, fill, card } from '../ui/dom.js';

// A scene name: 1-64 characters, no control characters (the show node's rule).
// eslint-disable-next-line no-control-regex
const NAME_RE = /^[^\x00-\x1f]{1,64}$/;

// How a change lands (`quantize` of set_pattern / load_scene); '' = the pattern node's default.
export const LANDINGS = [
  { id: '', label: 'as the server says' },
  { id: 'off', label: 'at once' },
  { id: 'beat', label: 'on the next beat' },
  { id: 'bar', label: 'on the next bar' },
  { id: 'phrase', label: 'on the next phrase' },
];

/** The `quantize` field for a change asked from this page (none: the pattern node's default). */
export function landing(store) {
  const q = store.get('quantize');
  return q ? { quantize: q } : {};
}

function summary(scene) {
  const parts = [scene.pattern, scene.preset, scene.entity_count ? `${scene.entity_count} entities` : null];
  return parts.filter(Boolean).join(' · ');
}

export function mountScenes(root, { client, store }) {
  const name = h('input', { type: 'text', id: 'scene-name', maxlength: '64', autocomplete: 'off', placeholder: 'Scene name' });
  const err = h('p', { class: 'field-error', id: 'scene-name-error', role: 'alert' });
  const checked = () => {
    const n = name.value.trim();
    if (!NAME_RE.test(n)) {
      err.textContent = 'A scene name is 1-64 characters.';
      name.setAttribute('aria-invalid', 'true');
      return null;
    }
    err.textContent = '';
    name.removeAttribute('aria-invalid');
    return n;
  };
  const form = h('form', {
    class: 'inline-form', id: 'scene-form', novalidate: true,
    onsubmit: (ev) => {
      ev.preventDefault();
      const n = checked();
      if (n) client.send({ type: 'save_scene', name: n });
    },
  }, name, h('button', { class: 'btn btn-small', type: 'submit', id: 'scene-save' }, 'Save current as…'));

  const land = h('select', { id: 'quantize-select', onchange: () => store.set({ quantize: land.value }) },
    LANDINGS.map((l) => h('option', { value: l.id }, l.label)));
  const landRow = h('div', { class: 'inline-form' }, h('label', { for: 'quantize-select' }, 'Changes land'), land);
  const list = h('div', { class: 'scene-list', id: 'scene-list' });
  fill(root, card('scenes', 'Scenes',
    h('p', { class: 'hint' }, 'Recall crossfades to a scene; "Changes land" also applies to the pattern buttons.'),
    form, err, landRow, list));

  // Delete asks for a second click (as kick does) rather than window.confirm(), which would freeze the page.
  let armed = null;
  function render(data) {
    land.value = data.quantize || '';
    form.hidden = data.showNode === false;
    if (data.showNode === false) {
      return fill(list, h('p', { class: 'muted', id: 'no-show-node' }, 'Scenes need a show node: add ',
        h('code', {}, 'show: {kind: show}'), ' to the graph.'));
    }
    const scenes = data.scenes || [];
    if (!scenes.length) return fill(list, h('p', { class: 'muted' }, 'No scenes saved yet.'));
    fill(list, scenes.map((s) => h('div', { class: `scene-row ${s.name === data.lastScene ? 'active' : ''}`, dataset: { scene: s.name } },
      h('div', { class: 'scene-main' }, h('span', { class: 'scene-name' }, s.name), h('span', { class: 'muted scene-sum' }, summary(s))),
      h('div', { class: 'scene-actions' },
        h('button', { class: 'btn btn-small btn-ok', type: 'button', dataset: { action: 'recall' },
          onclick: () => client.send({ type: 'load_scene', name: s.name, ...landing(store) }) }, 'Recall'),
        h('button', { class: 'btn btn-small', type: 'button', dataset: { action: 'rename' }, title: 'Rename to the name typed above',
          onclick: () => {
            const n = checked();
            if (n && n !== s.name) client.send({ type: 'rename_scene', name: s.name, new_name: n });
          } }, 'Rename'),
        h('button', { class: `btn btn-small btn-danger ${armed === s.name ? 'armed' : ''}`, type: 'button', dataset: { action: 'delete' },
          onclick: () => {
            if (armed === s.name) {
              armed = null;
              client.send({ type: 'delete_scene', name: s.name });
            } else {
              armed = s.name;
              render(store.data);
            }
          } }, armed === s.name ? 'Sure?' : 'Delete')))));
  }
  store.subscribe(['scenes', 'lastScene', 'showNode', 'quantize'], render);
}
