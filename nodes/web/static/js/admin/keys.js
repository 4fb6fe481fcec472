// Keyboard shortcuts of the admin panel (WIRE.md 7.3): 1-8 patterns, B blackout, F freeze, T tap;
// G fires the next cue (GO); [ and ] step the beat rate down and up (½× 1× 2×).
import { isTyping } from '../ui/dom.js';

export function bindKeys({ patterns, effects, cues, beatRate }) {
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat || isTyping(ev)) return;
    if (document.querySelector('dialog[open]')) return;
    const k = ev.key.toLowerCase();
    if (k >= '1' && k <= '8') patterns.selectIndex(Number(k) - 1);
    else if (k === 'b') effects.toggleBlackout();
    else if (k === 'f') effects.toggleFreeze();
    else if (k === 't') effects.tap();
    else if (k === 'g') cues.go();
    // By the key's place, not its character: [ and ] need AltGr on many layouts (German, French), and the
    // modifier check above would drop them there; the keys right of P are at hand on every layout.
    else if (ev.code === 'BracketLeft') beatRate.down();
    else if (ev.code === 'BracketRight') beatRate.up();
    else return;
    ev.preventDefault();
  });
}
