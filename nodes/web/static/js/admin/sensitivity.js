// Band sensitivity sliders (0-2 per band, WIRE.md 3.3 `set_band_sensitivity`).
import { h, fill, card } from '../ui/dom.js';
import { BANDS } from '../protocol.js';

export function mountSensitivity(root, { client, store }) {
  const sliders = BANDS.map((b, i) => {
    const input = h('input', {
      type: 'range', min: '0', max: '2', step: '0.05', value: '1', id: `sens-${b.key}`,
      class: 'vslider', 'aria-label': `${b.label} sensitivity`, style: { '--band': b.color },
    });
    const out = h('output', { for: `sens-${b.key}` }, '1.00');
    let timer = null;
    input.addEventListener('input', () => {
      out.textContent = Number(input.value).toFixed(2);
      // Dragging fires dozens of events; send at most one every 50 ms, and the final value.
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        client.send({ type: 'set_band_sensitivity', band: i, sensitivity: Number(input.value) });
      }, 50);
    });
    input.addEventListener('change', () => {
      clearTimeout(timer);
      timer = null;
      client.send({ type: 'set_band_sensitivity', band: i, sensitivity: Number(input.value) });
    });
    return { input, out, el: h('div', { class: 'sens', style: { '--band': b.color } }, h('label', { for: `sens-${b.key}` }, b.label), input, out) };
  });
  const reset = h('button', {
    class: 'btn btn-small', type: 'button', id: 'sens-reset',
    onclick: () => sliders.forEach((s, i) => {
      s.input.value = '1';
      s.out.textContent = '1.00';
      client.send({ type: 'set_band_sensitivity', band: i, sensitivity: 1 });
    }),
  }, 'Reset');
  fill(root, card('sensitivity', 'Band sensitivity', h('div', { class: 'sens-row' }, sliders.map((s) => s.el)), reset));

  // A preset changes all five; reflect what the server says unless the user is dragging one.
  store.subscribe(['bandSensitivity'], (data) => {
    (data.bandSensitivity || []).forEach((v, i) => {
      const s = sliders[i];
      if (!s || document.activeElement === s.input) return;
      s.input.value = String(v);
      s.out.textContent = Number(v).toFixed(2);
    });
  });
}
