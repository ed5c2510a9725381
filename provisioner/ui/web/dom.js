// Building the DOM: h() makes elements from plain values, never from HTML strings, so a
// host's name or an event's reason is always text, whatever it holds.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replaces el's children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const stateBadge = (state) => h('span', { class: `state ${state}` }, state);

// A table: columns [{label, cell(row) -> node|text, num?, wide?}], rows; empty says so.
export function table(columns, rows, empty = 'Nothing yet.') {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  const cls = (c) => [c.num && 'num', c.wide && 'wide'].filter(Boolean).join(' ') || null;
  return h('div', { class: 'scroll' },
    h('table', {},
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: cls(c), scope: 'col' }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: cls(c) }, c.cell(r))))))));
}

export function time(ms) {
  if (!ms) return '–';
  const d = new Date(ms);
  return h('time', { datetime: d.toISOString(), title: d.toISOString() }, d.toLocaleString());
}

export function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function progress(done, total) {
  const pct = total ? Math.min(100, Math.round((100 * done) / total)) : 0;
  return h('span', { class: 'bar' },
    h('progress', { max: 100, value: pct, 'aria-label': `${pct}%` }), `${pct}%`);
}

// Counts of items by key(item), as [key, n] sorted by key.
export function countBy(items, key) {
  const m = new Map();
  for (const it of items) m.set(key(it), (m.get(key(it)) || 0) + 1);
  return [...m.entries()].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
}

// An error where it happened: the message, and the lines when the API gave some.
export function errorBox(err) {
  return h('div', { class: 'error', role: 'alert' }, err.message,
    err.lines && err.lines.length
      ? h('ul', { class: 'problems' }, err.lines.map((l) => h('li', {}, `line ${l.line}: ${l.message}`)))
      : null);
}

// Runs fn (async) with button disabled; shows its error in out (or clears out).
export async function busy(button, out, fn) {
  button.disabled = true;
  if (out) fill(out);
  try {
    return await fn();
  } catch (err) {
    if (out) fill(out, errorBox(err));
    else throw err;
  } finally {
    button.disabled = false;
  }
}
