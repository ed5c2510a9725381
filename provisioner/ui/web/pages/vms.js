// VMs (SO-MVDS's VM list and service list): each VM by host with its state, template and
// resources, its services with their states and access points; and recall: every VM whose
// name matches a pattern removed at once, after a confirmation that lists them.
import { get, post } from '../api.js';
import { h, fill, table, stateBadge, busy } from '../dom.js';

// Shell-style glob (* and ?), as the server matches a recall's selector.
function glob(pattern) {
  if (pattern === 'all') return () => true;
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return (name) => re.test(name);
}

export async function mount(main) {
  const list = h('div');
  const pattern = h('input', { id: 'recall-pattern', required: true, placeholder: 'web-* or all' });
  const recall = h('button', { type: 'submit', class: 'danger', id: 'recall' }, 'Recall…');
  const out = h('div', { 'aria-live': 'polite' });
  const confirmList = h('ul');
  const dialog = h('dialog', { id: 'recall-confirm', 'aria-labelledby': 'recall-title' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'recall-title' }, 'Recall these VMs?'), confirmList,
      h('p', {}, 'They are shut down and removed from their hosts, with their disks.'),
      h('div', { class: 'inline' },
        h('button', { value: 'cancel', autofocus: true }, 'Cancel'),
        h('button', { value: 'recall', class: 'danger', id: 'recall-yes' }, 'Recall'))));
  fill(main, h('h1', {}, 'VMs'), list,
    h('h2', {}, 'Recall'),
    h('form', { class: 'inline', id: 'recall-form' }, h('label', { for: 'recall-pattern' }, 'VM names', pattern), recall),
    out, dialog);

  let vms = [];
  main.querySelector('#recall-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const match = glob(pattern.value.trim());
    const chosen = vms.filter((v) => match(v.name));
    if (!chosen.length) {
      fill(out, h('p', { class: 'error', role: 'alert' }, `No VM matches ${pattern.value}.`));
      return;
    }
    fill(confirmList, chosen.map((v) => h('li', {}, `${v.name} on ${v.host}`)));
    dialog.returnValue = '';
    dialog.showModal();
  });
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'recall') return;
    busy(recall, out, async () => {
      const r = await post('/api/v1/vms/recall', { selector: pattern.value.trim() });
      fill(out, h('p', { class: 'ok', id: 'recall-result' }, `Recalling ${r.actions.length} VMs.`));
    });
  });

  const services = (v) => (v.services || []).length
    ? h('ul', { class: 'events' }, v.services.map((s) => h('li', {}, s.package, ' ', stateBadge(s.state),
        s.access ? [' ', h('span', { class: 'mono' }, s.access)] : null, s.error ? h('span', { class: 'error' }, ` ${s.error}`) : null)))
    : '–';
  async function refresh() {
    ({ vms } = await get('/api/v1/vms'));
    vms.sort((a, b) => String(a.host).localeCompare(String(b.host)) || a.name.localeCompare(b.name));
    fill(list, table([
      { label: 'VM', cell: (v) => h('a', { href: `#/vms/${encodeURIComponent(v.name)}` }, v.name) },
      { label: 'Host', cell: (v) => h('a', { href: `#/hosts/${encodeURIComponent(v.host)}` }, String(v.host)) },
      { label: 'State', cell: (v) => h('span', { class: 'vm-state', 'data-vm': v.name }, stateBadge(v.state)) },
      { label: 'Template', cell: (v) => v.template || '–', wide: true },
      { label: 'vCPUs', num: true, cell: (v) => v.vcpus },
      { label: 'Memory', num: true, cell: (v) => `${v.memory_mib} MiB` },
      { label: 'Address', cell: (v) => v.address || '–', wide: true },
      { label: 'Services', cell: services },
    ], vms, 'No VM reported: apply a site to place some.'));
  }
  await refresh();
  return { topics: ['vms', 'site'], refresh };
}
