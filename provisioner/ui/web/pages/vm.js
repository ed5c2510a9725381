// A VM's page: where it runs and how (host, state, template, resources, the domain kind its
// hypervisor gave it, its Dom0 network services, its error if the driver refused it), its services with their access
// points, and graphs of its metrics from the server's history (GET /api/v1/vms/{vm}/metrics).
import { get } from '../api.js';
import { h, fill, stateBadge } from '../dom.js';
import { historyGraphs } from '../chart.js';

export async function mount(main, params) {
  const name = params.vm;
  const head = h('div');
  const record = h('section', { class: 'card' });
  const servicesBox = h('section', { class: 'card' });
  const graphs = h('section', { class: 'card' });
  fill(main, head, h('div', { class: 'grid' }, record, servicesBox), graphs);

  async function refresh() {
    const { vms } = await get('/api/v1/vms');
    const vm = vms.find((v) => v.name === name);
    if (!vm) {
      fill(head, h('h1', {}, `VM ${name}`),
        h('p', { class: 'muted', id: 'vm-absent' }, 'No host reports this VM: it was recalled, or the site has not placed it yet.'));
      fill(record); fill(servicesBox); fill(graphs);
      return;
    }
    fill(head, h('h1', {}, `VM ${vm.name} `, stateBadge(vm.state)));
    const rows = [
      ['Host', h('a', { href: `#/hosts/${encodeURIComponent(vm.host)}` }, String(vm.host))],
      ['Template', vm.template || '–'], ['vCPUs', String(vm.vcpus)], ['Memory', `${vm.memory_mib} MiB`],
      ['Address', vm.address || '–'], ['Domain', vm.domain_type || '–'],
    ];
    if ((vm.netservices || []).length)
      rows.push(['Network services', vm.netservices.map((n) => h('div', { class: 'mono' }, n.text || n.type))]);
    if (vm.error) rows.push(['Error', h('span', { class: 'error' }, vm.error)]);
    fill(record, h('h2', {}, 'Record'),
      h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
    const services = vm.services || [];
    fill(servicesBox, h('h2', {}, 'Services'),
      services.length
        ? h('ul', { class: 'events' }, services.map((s) => h('li', {}, s.package, ' ', stateBadge(s.state),
            s.access ? [' ', h('span', { class: 'mono' }, s.access)] : null,
            s.error ? h('span', { class: 'error' }, ` ${s.error}`) : null)))
        : h('p', { class: 'muted' }, 'No service in the site for this VM.'));
    await historyGraphs(graphs, `/api/v1/vms/${encodeURIComponent(name)}/metrics?since=1h`, 12);
  }

  await refresh();
  return { topics: ['vms', 'site'], refresh };
}
