// A metric's history as an inline SVG line: no library, nothing fetched; values that are
// null (no sample in that step) break the line; a lone sample is a dot.
import { h, fill, errorBox } from './dom.js';
import { get } from './api.js';

const NS = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs) => {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
};

function label(s) {
  const extra = Object.entries(s.labels || {}).filter(([k]) => k !== 'host' && k !== 'rack');
  return s.name + (extra.length ? `{${extra.map(([k, v]) => `${k}=${v}`).join(',')}}` : '');
}

function fmt(v) {
  if (v === null || v === undefined) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 2 ** 30).toFixed(1) + 'G';
  if (a >= 1e6) return (v / 2 ** 20).toFixed(1) + 'M';
  if (a >= 1e4) return (v / 1024).toFixed(1) + 'K';
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

// series: {name, labels, values}, one value per step of the history, oldest first.
export function chart(series) {
  const W = 300, H = 100, pad = 4;
  const vals = series.values;
  const known = vals.filter((v) => v !== null);
  const lo = Math.min(...known), hi = Math.max(...known);
  const span = hi - lo || 1;
  const x = (i) => pad + ((W - 2 * pad) * i) / Math.max(1, vals.length - 1);
  const y = (v) => H - pad - ((H - 2 * pad) * (v - lo)) / span;
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H + 14}`, role: 'img', preserveAspectRatio: 'none' });
  const title = svg('title', {});
  title.textContent = `${label(series)}: ${fmt(known[known.length - 1])} (min ${fmt(lo)}, max ${fmt(hi)})`;
  root.append(title);
  let points = [];
  // A run of one sample (the first report, or one between gaps) is a dot: a line of one
  // point draws nothing.
  const flush = () => {
    if (points.length === 1) root.append(svg('circle', { cx: points[0][0], cy: points[0][1], r: 2 }));
    else if (points.length) root.append(svg('polyline', { points: points.map((p) => p.join(',')).join(' ') }));
    points = [];
  };
  vals.forEach((v, i) => (v === null ? flush() : points.push([x(i).toFixed(1), y(v).toFixed(1)])));
  flush();
  const text = svg('text', { x: pad, y: H + 12 });
  text.textContent = `max ${fmt(hi)}  min ${fmt(lo)}  last ${fmt(known[known.length - 1])}`;
  root.append(text);
  return h('figure', { class: 'metric' }, h('figcaption', { class: 'mono' }, label(series)), root);
}

// A card's content: the graphs of an entity's history (GET url, the API's metrics history:
// {series: [{name, labels, values}]}), at most max of them, or why there are none.
export async function historyGraphs(card, url, max) {
  let history;
  try {
    history = await get(url);
  } catch (err) {
    fill(card, h('h2', {}, 'Metrics'), err.status === 404 ? h('p', { class: 'muted' }, err.message) : errorBox(err));
    return;
  }
  const series = (history.series || []).filter((s) => s.values && s.values.some((v) => v !== null));
  fill(card, h('h2', {}, 'Metrics, last hour'),
    series.length
      ? h('div', { class: 'grid graphs' }, series.slice(0, max).map((s) => chart(s)))
      : h('p', { class: 'muted no-metrics' }, 'No metrics recorded yet: they come with the Dom0 agent\u2019s reports.'));
}
