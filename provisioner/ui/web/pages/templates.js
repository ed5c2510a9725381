// Templates (SO-MVDS's template list): VM disk templates by name and version, their labels,
// the backing chain each is an overlay on, and when a VM last used it (a template used within
// the server's cool-down is hot: pre-copied to every Dom0).
import { get } from '../api.js';
import { h, fill, table, time, bytes } from '../dom.js';

function chain(t, all) {
  const out = [];
  for (let b = t.backing; b && out.length < 16; b = (all.find((x) => x.ref === b) || {}).backing) out.push(b);
  return out.length ? out.join(' → ') : 'base';
}

export async function mount(main) {
  const list = h('div');
  fill(main, h('h1', {}, 'Templates'),
    h('p', { class: 'muted' }, 'Add one with ', h('code', {}, 'provisioner template add FILE --name N --version V'), '.'),
    list);
  async function refresh() {
    const { templates } = await get('/api/v1/templates');
    fill(list, table([
      { label: 'Template', cell: (t) => t.ref },
      { label: 'Labels', cell: (t) => (t.labels || []).join(', ') || '–' },
      { label: 'Backing chain', cell: (t) => chain(t, templates) },
      { label: 'Format', cell: (t) => t.format, wide: true },
      { label: 'Size', num: true, cell: (t) => bytes(t.size) },
      { label: 'Last used', cell: (t) => (t.last_used_at ? time(t.last_used_at) : 'never') },
    ], templates, 'No template in the catalog yet.'));
  }
  await refresh();
  return { topics: ['templates', 'site'], refresh };
}
