// Site: the last applied site file, edited or uploaded here, diffed against the running site
// (with the site file's own line-numbered errors), applied, and its progress step by step.
import { get, post } from '../api.js';
import { h, fill, table, stateBadge, time, busy } from '../dom.js';

// A textarea with line numbers beside it; marks the lines an error names.
function editor() {
  const gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
  const area = h('textarea', { id: 'site-text', spellcheck: 'false', 'aria-label': 'Site file (XML)', wrap: 'off' });
  let bad = new Set();
  const number = () => {
    const n = area.value.split('\n').length;
    fill(gutter, Array.from({ length: n }, (_, i) => [bad.has(i + 1) ? h('span', { class: 'bad' }, String(i + 1)) : String(i + 1), '\n']));
    area.rows = Math.max(12, n + 1);
  };
  area.addEventListener('input', () => { bad = new Set(); number(); });
  return {
    node: h('div', { class: 'editor' }, gutter, area),
    area,
    set(text) { area.value = text; bad = new Set(); number(); },
    mark(lines) { bad = new Set(lines); number(); },
  };
}

export async function mount(main) {
  const ed = editor();
  const file = h('input', { id: 'site-file', type: 'file', accept: '.xml,text/xml' });
  const diff = h('button', { type: 'button', id: 'site-diff' }, 'Diff against the running site');
  const apply = h('button', { type: 'button', class: 'primary', id: 'site-apply' }, 'Apply');
  const out = h('div', { id: 'site-out', 'aria-live': 'polite' });
  const status = h('div', { id: 'site-status' });
  fill(main, h('h1', {}, 'Site'),
    h('p', { class: 'muted' }, 'The site file (XSM\u2019s XML, provisioner/site/SITE_FILE.md). Shown: the last one applied.'),
    h('label', { for: 'site-file' }, 'Upload a site file', file),
    ed.node, h('div', { class: 'inline' }, diff, apply), out,
    h('h2', {}, 'Applies'), status);

  file.addEventListener('change', async () => { if (file.files[0]) ed.set(await file.files[0].text()); });
  const plan = (r, verb) => h('div', {},
    h('p', { class: 'ok' }, verb, ` ${r.plan.length} steps`,
      r.services_changed && r.services_changed.length ? `; services change for ${r.services_changed.join(', ')}` : ''),
    h('pre', { class: 'plan' }, r.text || 'Nothing to change.'));
  const send = (button, path, verb) => busy(button, null, async () => {
    fill(out);
    try {
      const r = await post(path, { site: ed.area.value });
      ed.mark([]);
      fill(out, plan(r, verb));
    } catch (err) {
      const lines = err.lines || [];
      ed.mark(lines.map((l) => l.line));
      fill(out, h('div', { class: 'error', role: 'alert', id: 'site-errors' }, err.message,
        h('ul', { class: 'problems' }, lines.map((l) => h('li', {}, `line ${l.line}: ${l.message}`)))));
    }
  });
  diff.addEventListener('click', () => send(diff, '/api/v1/site/diff', 'Would make'));
  apply.addEventListener('click', () => send(apply, '/api/v1/site/apply', 'Applying:'));

  async function refresh() {
    const { applies } = await get('/api/v1/site/status');
    fill(status, applies.length ? applies.slice(0, 5).map((a) => h('div', { class: 'card' },
      h('h3', {}, `Apply ${a.id} `, stateBadge(a.state), ' ', time(a.created_at)),
      table([{ label: 'Step', cell: (s) => `${s.kind} ${s.vm}` }, { label: 'Host', cell: (s) => s.host || '–' },
             { label: 'State', cell: (s) => stateBadge(s.state) }, { label: 'Error', cell: (s) => s.error ? h('span', { class: 'error' }, s.error) : '' }],
            a.steps, 'No steps: nothing to change.')))
      : h('p', { class: 'muted' }, 'Nothing applied yet.'));
  }
  const current = await get('/api/v1/site');
  ed.set(current.site || '<XSMConfig>\n</XSMConfig>\n');
  await refresh();
  return { topics: ['site'], refresh };
}
