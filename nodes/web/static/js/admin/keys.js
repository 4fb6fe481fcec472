// Keyboard shortcuts of the admin panel (WIRE.md 7.3): 1-8 patterns, B blackout, F freeze, T tap;
// G fires the next cue (GO).
import { isTyping } from '../ui/dom.js';

export function bindKeys({ patterns, effects, cues }) {
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat || isTyping(ev)) return;
    if (document.querySelector('dialog[open]')) return;
    const k = ev.key.toLowerCase();
    if (k >= '1' && k <= '8') patterns.selectIndex(Number(k) - 1);
    else if (k === 'b') effects.toggleBlackout();
    else if (k === 'f') effects.toggleFreeze();
    else if (k === 't') effects.tap();
    else if (k === 'g') cues.go();
    else return;
    ev.preventDefault();
  });
}
