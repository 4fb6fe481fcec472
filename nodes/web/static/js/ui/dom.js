// Minimal DOM helpers: build elements without innerHTML, so text from the server (DJ names,
// error messages) can never inject markup.

/**
 * h('button', {class: 'btn', onclick: fn, dataset: {id: 'x'}}, 'Label', childNode)
 * Attributes starting with "on" become listeners; `dataset`/`style` objects are merged;
 * false/null/undefined attributes and children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style' && typeof value === 'object') Object.assign(el.style, value);
    else if (key === 'class') el.className = value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Set text only when it changed (called per animation frame: avoid needless layout work). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** A card: titled section used by every panel of the admin page. */
export function card(id, title, ...body) {
  return h('section', { class: 'card', id, 'aria-labelledby': `${id}-title` },
    h('h2', { class: 'card-title', id: `${id}-title` }, title), ...body);
}

/** "in 3 min", "12 s ago": times from the server are epoch seconds. */
export function relTime(epochSeconds) {
  if (typeof epochSeconds !== 'number' || !Number.isFinite(epochSeconds)) return '—';
  const d = Math.round(epochSeconds - Date.now() / 1000);
  const a = Math.abs(d);
  const text = a < 60 ? `${a} s` : a < 3600 ? `${Math.round(a / 60)} min` : `${(a / 3600).toFixed(1)} h`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}

export function fmt(v, digits = 0, unit = '') {
  return typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(digits)}${unit}` : '—';
}

/** Is the user typing? Keyboard shortcuts must not fire then. */
export function isTyping(ev) {
  const t = ev.target;
  return t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))
    && !(t instanceof HTMLInputElement && (t.type === 'range' || t.type === 'checkbox' || t.type === 'button'));
}
