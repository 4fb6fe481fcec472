// MIDI learn (a `midi` node): which note or controller does what, and a learn mode that binds the next
// note or CC the controller sends to the action chosen here (the map is saved on the VJ's machine).
// Messages: get_midi → midi_map{available, mapping{file, channel, notes, cc}, learning},
// midi_learn{action}, midi_cancel_learn (every operator gets the new midi_map), midi_learned{action, note|cc}.
import { h, fill, card, setText } from '../ui/dom.js';
import { EFFECTS } from './effects.js';
import { BANDS } from '../protocol.js';

/** An action as the map writes it: "pattern bars", or the mapping form {effect: strobe, intensity: 1.5}. */
export function actionText(a) {
  if (typeof a === 'string') return a;
  if (!a || typeof a !== 'object') return String(a);
  return Object.entries(a).map(([k, v]) => (v === true ? k : `${k} ${v}`)).join(', ');
}

/** The actions offered, by group: what the map supports (README: MIDI control). */
function choices(data) {
  const patterns = (data.patterns || []).map((p) => [`pattern ${p.id}`, `Pattern ${p.name || p.id}`]);
  const scenes = (data.scenes || []).map((s) => [`scene ${s.name}`, `Scene ${s.name}`]);
  return [
    ['Patterns', patterns],
    ['Scenes', scenes],
    ['Effects', EFFECTS.map((e) => [`effect ${e.id}`, e.label])],
    ['Show', [['blackout', 'Blackout (toggle)'], ['freeze', 'Freeze (toggle)'], ['go', 'Cue GO'], ['back', 'Cue back']]],
    ['Beat rate', [['beat_rate 0.5', 'Beat rate ½× (again: re-sync)'], ['beat_rate 1', 'Beat rate 1×'],
      ['beat_rate 2', 'Beat rate 2×']]],
    ['Presets', (data.presets || []).map((p) => [`preset ${p}`, `Preset ${p}`])],
    ['Faders (a controller)', [...BANDS.map((b, i) => [`band ${i}`, `${b.label} sensitivity`]),
      ['entities', 'Entity count'], ['transition', 'Crossfade length']]],
  ].filter(([, items]) => items.length);
}

export function mountMidi(root, { client, store }) {
  const action = h('select', { id: 'midi-action', 'aria-label': 'Action to learn' });
  const learn = h('button', { class: 'btn btn-small btn-ok', type: 'button', id: 'midi-learn',
    onclick: () => action.value && client.send({ type: 'midi_learn', action: action.value }) }, 'Learn');
  const cancel = h('button', { class: 'btn btn-small', type: 'button', id: 'midi-cancel',
    onclick: () => client.send({ type: 'midi_cancel_learn' }) }, 'Cancel');
  const status = h('p', { class: 'midi-status', id: 'midi-status', role: 'status', 'aria-live': 'polite' });
  const controls = h('div', { class: 'inline-form' }, action, learn, cancel);
  const list = h('ul', { class: 'midi-map', id: 'midi-map' });
  const none = h('p', { class: 'muted', id: 'no-midi-node', hidden: true });
  fill(root, card('midi', 'MIDI', none, controls, status, list));

  client.on('open', () => client.send({ type: 'get_midi' }));
  client.on('auth_success', () => client.send({ type: 'get_midi' }));

  let offered = '';
  store.subscribe(['patterns', 'scenes', 'presets'], (data) => {
    const groups = choices(data);
    const key = JSON.stringify(groups);
    if (key === offered) return; // keep the operator's choice while nothing changed
    offered = key;
    const was = action.value;
    fill(action, groups.map(([label, items]) => h('optgroup', { label },
      items.map(([value, text]) => h('option', { value }, text)))));
    if (was && [...action.options].some((o) => o.value === was)) action.value = was;
  });

  store.subscribe(['midi', 'midiLearned', 'auth'], ({ midi, midiLearned, auth }) => {
    const available = midi.available === true;
    none.hidden = available || midi.available === null;
    // A viewer is told available: false whether or not there is a midi node: say which may be the case.
    if (auth.required && !auth.authenticated) fill(none, 'The MIDI map is for operators: log in to see it.');
    else fill(none, 'No MIDI node: add ', h('code', {}, 'pads: {kind: midi}'), ' to the graph to play the show from a controller.');
    controls.hidden = list.hidden = status.hidden = !available;
    if (!available) return;
    const learning = midi.learning ?? null;
    learn.disabled = learning !== null;
    cancel.disabled = learning === null;
    root.dataset.learning = learning === null ? '' : actionText(learning);
    if (learning !== null) setText(status, `Learning “${actionText(learning)}”: waiting for a note or CC…`);
    else if (midiLearned) {
      const what = 'note' in midiLearned ? `note ${midiLearned.note}` : `CC ${midiLearned.cc}`;
      setText(status, midiLearned.error ? `Bound ${what}, but the map was not saved: ${midiLearned.error}`
        : `Learnt: ${what} → ${actionText(midiLearned.action)}`);
    } else setText(status, 'Choose an action, press Learn, then a pad or fader.');
    const { notes = {}, cc = {} } = midi.mapping || {};
    const rows = [...Object.entries(notes).map(([n, a]) => ['note', n, a]), ...Object.entries(cc).map(([n, a]) => ['cc', n, a])];
    if (!rows.length) return fill(list, h('li', { class: 'muted' }, 'Nothing mapped yet.'));
    fill(list, rows.map(([kind, n, a]) => h('li', { class: 'midi-row', dataset: { binding: `${kind} ${n}`, action: actionText(a) } },
      h('span', { class: 'midi-key' }, kind === 'note' ? `Note ${n}` : `CC ${n}`),
      h('span', { class: 'midi-action' }, actionText(a)))));
  });
}
