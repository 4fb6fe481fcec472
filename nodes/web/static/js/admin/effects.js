// Effects: blackout and freeze toggles (keys B, F), one-shot effects with intensity and
// duration (WIRE.md 7.3), and a tap-tempo pad (key T; client-side, as in MCAV).
import { h, fill, card } from '../ui/dom.js';

// The effects the pattern node implements (WIRE.md 7.3; MCAV's bass_drop and spin_up/down
// buttons did nothing there, mcav's pattern node implements them).
export const EFFECTS = [
  { id: 'flash', label: 'Flash' },
  { id: 'strobe', label: 'Strobe' },
  { id: 'pulse', label: 'Pulse' },
  { id: 'wave', label: 'Wave' },
  { id: 'spiral', label: 'Spiral' },
  { id: 'explode', label: 'Explode' },
  { id: 'bass_drop', label: 'Bass drop' },
  { id: 'spin_up', label: 'Spin up' },
  { id: 'spin_down', label: 'Spin down' },
];

export function mountEffects(root, { client, store }) {
  const toggle = (key, label, icon, keyHint) => h('button', {
    class: 'toggle-btn', type: 'button', id: `${key}-btn`, dataset: { toggle: key }, 'aria-pressed': 'false',
    onclick: () => setToggle(key, !store.get(key)),
  }, h('span', { class: 'toggle-icon', 'aria-hidden': 'true' }, icon), h('span', {}, label), h('kbd', {}, keyHint));

  const intensity = h('input', { type: 'range', id: 'effect-intensity', min: '0.1', max: '2', step: '0.05', value: '1' });
  const intensityOut = h('output', { for: 'effect-intensity' }, '1.00');
  intensity.addEventListener('input', () => { intensityOut.textContent = Number(intensity.value).toFixed(2); });
  const duration = h('input', { type: 'range', id: 'effect-duration', min: '200', max: '5000', step: '100', value: '2000' });
  const durationOut = h('output', { for: 'effect-duration' }, '2.0 s');
  duration.addEventListener('input', () => { durationOut.textContent = `${(duration.value / 1000).toFixed(1)} s`; });

  const buttons = EFFECTS.map((e) => h('button', {
    class: 'effect-btn', type: 'button', dataset: { effect: e.id },
    onclick: () => client.send({
      type: 'trigger_effect', effect: e.id, intensity: Number(intensity.value), duration: Number(duration.value),
    }),
  }, e.label));

  const tapOut = h('span', { class: 'tap-bpm', id: 'tap-bpm' }, '--');
  const tapBtn = h('button', { class: 'btn', type: 'button', id: 'tap-btn', onclick: () => tap() }, 'Tap tempo ', h('kbd', {}, 'T'));

  fill(root, card('effects', 'Effects',
    h('div', { class: 'toggle-row' }, toggle('blackout', 'Blackout', '●', 'B'), toggle('freeze', 'Freeze', '❄', 'F')),
    h('div', { class: 'effect-grid', role: 'group', 'aria-label': 'One-shot effects' }, buttons),
    h('div', { class: 'slider-row' }, h('label', { for: 'effect-intensity' }, 'Intensity'), intensity, intensityOut),
    h('div', { class: 'slider-row' }, h('label', { for: 'effect-duration' }, 'Duration'), duration, durationOut),
    h('div', { class: 'tap-row' }, tapBtn, tapOut, h('span', { class: 'muted' }, 'BPM (tapped)'))));

  function setToggle(key, enabled) {
    // The explicit form (`set_blackout{enabled}`) rather than a blind toggle, so two operators
    // clicking at once cannot leave the show in the opposite state of what both see.
    client.send({ type: `set_${key}`, enabled });
    // Not every reply carries the toggles: ask for the state so the button shows the truth.
    client.send({ type: 'get_state' });
  }

  store.subscribe(['blackout', 'freeze'], (data) => {
    for (const key of ['blackout', 'freeze']) {
      const b = root.querySelector(`[data-toggle="${key}"]`);
      b.classList.toggle('active', !!data[key]);
      b.setAttribute('aria-pressed', String(!!data[key]));
    }
  });

  // Flash the button of the effect the server just ran (also ones triggered by other operators).
  store.subscribe(['lastEffect'], (data) => {
    const e = data.lastEffect;
    if (!e) return;
    const b = buttons.find((x) => x.dataset.effect === e.effect);
    if (!b) return;
    b.classList.remove('fired');
    void b.offsetWidth; // restart the CSS animation
    b.classList.add('fired');
  });

  const taps = [];
  function tap() {
    const t = performance.now();
    if (taps.length && t - taps[taps.length - 1] > 2000) taps.length = 0; // a pause starts over
    taps.push(t);
    if (taps.length > 8) taps.shift();
    if (taps.length >= 2) {
      const avg = (taps[taps.length - 1] - taps[0]) / (taps.length - 1);
      tapOut.textContent = (60000 / avg).toFixed(0);
    }
  }

  return {
    toggleBlackout: () => setToggle('blackout', !store.get('blackout')),
    toggleFreeze: () => setToggle('freeze', !store.get('freeze')),
    tap,
  };
}
