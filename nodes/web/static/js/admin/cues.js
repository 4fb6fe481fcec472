// The cue list (the `show` node's `cues` file): every cue, which one is current and which is next,
// GO and BACK (key G: GO). And the countdown of quantised changes: what waits for its beat, bar or
// phrase and how long is left, cleared when it lands (`quantize_pending` from the server).
import { h, fill, card, setText } from '../ui/dom.js';

function triggerText(trigger) {
  if (!trigger || trigger === 'manual') return 'GO';
  if (typeof trigger.after === 'number') return `${trigger.after} s after`;
  if (typeof trigger.bars === 'number') return `${trigger.bars} bars after`;
  if (typeof trigger.drop === 'number') return `next drop (${trigger.drop}+ bar breakdown)`;
  return '';
}

function actionText(a) {
  const q = a.quantize ? ` (${a.quantize})` : '';
  if ('scene' in a) return `scene ${a.scene}${q}`;
  if ('pattern' in a) return `pattern ${a.pattern}${q}`;
  if ('effect' in a) return `effect ${a.effect}${q}`;
  if ('blackout' in a) return a.blackout ? 'blackout' : 'blackout off';
  return '';
}

export function mountCues(root, { client, store }) {
  const go = h('button', { class: 'btn cue-go', type: 'button', id: 'cue-go', onclick: () => client.send({ type: 'cue_go' }) },
    'GO ', h('kbd', {}, 'G'));
  const back = h('button', { class: 'btn', type: 'button', id: 'cue-back', onclick: () => client.send({ type: 'cue_back' }) }, 'Back');
  const status = h('dl', { class: 'kv cue-status' });
  const list = h('ol', { class: 'cue-list', id: 'cue-list' });
  fill(root, card('cues', 'Cue list', h('div', { class: 'cue-buttons' }, back, go), status, list));

  store.subscribe(['cues', 'showNode'], (data) => {
    const { cues = [], position = -1, current = null, next = null } = data.cues || {};
    go.disabled = !cues.length || next === null;
    back.disabled = position < 0;
    fill(status, h('dt', {}, 'Current'), h('dd', { id: 'cue-current' }, current ?? '—'),
      h('dt', {}, 'Next'), h('dd', { id: 'cue-next' }, next ?? (cues.length ? 'end of the list' : '—')));
    if (!cues.length) {
      const why = data.showNode === false ? ['Cue lists need a show node.']
        : ['No cue list: set the show node\'s ', h('code', {}, 'cues'), ' to a YAML file.'];
      return fill(list, h('li', { class: 'muted', id: 'no-cues' }, ...why));
    }
    fill(list, cues.map((c, i) => {
      const state = i === position ? 'current' : i === position + 1 ? 'next' : i < position ? 'done' : 'ahead';
      return h('li', { class: `cue-row cue-${state}`, dataset: { cue: String(i), state } },
        h('span', { class: 'cue-name' }, c.name),
        h('span', { class: 'muted cue-trigger' }, triggerText(c.trigger)),
        h('span', { class: 'muted cue-actions' }, (c.actions || []).map(actionText).join(', ')));
    }));
  });

  return {
    /** Keyboard G. */
    go() {
      if (!go.disabled) client.send({ type: 'cue_go' });
    },
  };
}

const UNIT = { beat: 'the next beat', bar: 'the next bar', phrase: 'the next phrase' };

/** The sidebar's countdown: one row per change waiting, with its beats and (at the tempo now) seconds left. */
export function mountCountdown(root, { store, live }) {
  const rows = h('div', { class: 'countdown-rows' });
  const box = h('div', { class: 'countdown', id: 'quantize-countdown', role: 'status', 'aria-live': 'polite', hidden: true },
    h('div', { class: 'countdown-title' }, 'Waiting for the beat'), rows);
  fill(root, box);
  let shown = [];

  const seconds = (beats) => {
    const f = live.frame;
    const bpm = f ? Number((f.zone_status && f.zone_status.bpm_estimate) ?? f.bpm) : NaN;
    return Number.isFinite(bpm) && bpm > 0 ? (beats * 60) / bpm : null;
  };
  store.subscribe(['quantizePending'], (data) => {
    shown = Array.isArray(data.quantizePending) ? data.quantizePending : [];
    box.hidden = shown.length === 0;
    box.dataset.count = String(shown.length);
    fill(rows, shown.map((p) => h('div', { class: 'countdown-row', dataset: { change: p.change, beatsLeft: String(p.beats_left) } },
      h('span', { class: 'countdown-change' }, p.change),
      h('span', { class: 'muted' }, `on ${UNIT[p.quantize] || p.quantize}`),
      h('strong', { class: 'countdown-left' }, ''))));
    draw();
  });
  // Seconds follow the tempo of the newest frame; beats come from the server on every beat.
  function draw() {
    [...rows.children].forEach((row, i) => {
      const p = shown[i];
      if (!p) return;
      const s = seconds(p.beats_left);
      setText(row.lastChild, `${p.beats_left} beat${p.beats_left === 1 ? '' : 's'}${s === null ? '' : ` · ${s.toFixed(1)} s`}`);
    });
  }
  live.add(() => { if (shown.length) draw(); });
}
