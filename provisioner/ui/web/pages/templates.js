// Templates (SO-MVDS's template list): VM disk templates by name and version, their labels,
// the backing chain each is an overlay on, hot or cold (a template used within the server's
// cool-down, the newest version of its name and what they are overlays on are hot: kept on and
// pre-copied to every Dom0), the hosts whose Dom0 reports holding it, and when a VM last used
// it.
import { get } from '../api.js';
import { h, fill, table, time, bytes, stateBadge } from '../dom.js';

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
    const { templates, cool_down: coolDown } = await get('/api/v1/templates');
    fill(list, table([
      { label: 'Template', cell: (t) => t.ref },
      { label: 'Labels', cell: (t) => (t.labels || []).join(', ') || '–' },
      { label: 'Backing chain', cell: (t) => chain(t, templates) },
      { label: 'Hot', cell: (t) => h('span', { class: 'template-heat', 'data-template': t.ref,
          title: t.hot ? 'kept on and pre-copied to every Dom0' : `unused for ${Math.round(coolDown / 86400)} days: the Dom0s dispose of it` },
          stateBadge(t.hot ? 'hot' : 'cold')) },
      { label: 'Pre-copied on', cell: (t) => h('span', { class: 'template-hosts', 'data-template': t.ref },
          (t.hosts || []).length ? t.hosts.join(', ') : '–') },
      { label: 'Format', cell: (t) => t.format, wide: true },
      { label: 'Size', num: true, cell: (t) => bytes(t.size) },
      { label: 'Last used', cell: (t) => (t.last_used_at ? time(t.last_used_at) : 'never') },
    ], templates, 'No template in the catalog yet.'));
  }
  await refresh();
  return { topics: ['templates', 'site'], refresh };
}
