// Overview: the site at a glance: hosts by state and by rack, active deployments with each
// host's progress, VMs and services by state, unreachable hosts, and the latest events.
import { get, allHosts } from '../api.js';
import { h, fill, table, stateBadge, countBy, progress, time } from '../dom.js';
import { eventLine } from './events.js';

const STATES = ['discovered', 'enrolled', 'booting', 'imaging', 'imaged', 'ready', 'unreachable', 'failed', 'retired'];

export async function mount(main) {
  const hostsBox = h('section', { class: 'card', 'aria-labelledby': 'ov-hosts' });
  const racksBox = h('section', { class: 'card', 'aria-labelledby': 'ov-racks' });
  const siteBox = h('section', { class: 'card', 'aria-labelledby': 'ov-site' });
  const deployBox = h('section', { class: 'card', 'aria-labelledby': 'ov-deploy' });
  const eventsList = h('ul', { class: 'events' });
  fill(main, h('h1', {}, 'Overview'),
    h('div', { class: 'grid' }, hostsBox, racksBox, siteBox),
    deployBox,
    h('section', { class: 'card', 'aria-labelledby': 'ov-events' },
      h('h2', { id: 'ov-events' }, 'Recent events ', h('a', { href: '#/events' }, 'all')), eventsList));

  async function refresh() {
    const [hosts, deployments, vms, events] = await Promise.all([
      allHosts(), get('/api/v1/deployments'), get('/api/v1/vms'), get('/api/v1/events?limit=10')]);
    const byState = new Map(countBy(hosts, (x) => x.state));
    fill(hostsBox, h('h2', { id: 'ov-hosts' }, `Hosts (${hosts.length})`),
      table([{ label: 'State', cell: (s) => h('a', { href: `#/hosts?state=${s}` }, stateBadge(s)) },
             { label: 'Hosts', num: true, cell: (s) => byState.get(s) || 0 }],
            STATES.filter((s) => byState.get(s)), 'No hosts enrolled yet.'));
    const racks = countBy(hosts, (x) => x.rack || '(none)');
    fill(racksBox, h('h2', { id: 'ov-racks' }, 'Racks'),
      table([{ label: 'Rack', cell: ([r]) => h('a', { href: `#/hosts?rack=${encodeURIComponent(r === '(none)' ? '' : r)}` }, r) },
             { label: 'Hosts', num: true, cell: ([, n]) => n },
             { label: 'Ready', num: true, cell: ([r]) => hosts.filter((x) => (x.rack || '(none)') === r && x.state === 'ready').length }],
            racks, 'No racks.'));
    const unreachable = hosts.filter((x) => x.state === 'unreachable');
    const services = vms.vms.flatMap((v) => (v.services || []).map((s) => s.state));
    fill(siteBox, h('h2', { id: 'ov-site' }, 'Site health'),
      h('p', {}, `${vms.vms.length} VMs: `, countBy(vms.vms, (v) => v.state).map(([s, n]) => [stateBadge(s), ` ${n} `])),
      h('p', {}, `${services.length} services: `, countBy(services, (s) => s).map(([s, n]) => [stateBadge(s), ` ${n} `])),
      unreachable.length
        ? h('p', { class: 'error' }, 'Unreachable: ', unreachable.map((x) => [h('a', { href: `#/hosts/${encodeURIComponent(x.name)}` }, x.name), ' ']))
        : h('p', { class: 'ok' }, 'No host is unreachable.'));
    const active = deployments.deployments.filter((d) => d.state === 'running');
    const details = await Promise.all(active.map((d) => get(`/api/v1/deployments/${d.id}`)));
    fill(deployBox, h('h2', { id: 'ov-deploy' }, 'Active deployments'),
      details.length ? details.map((d) => h('div', {},
        h('h3', {}, h('a', { href: `#/deployments/${d.id}` }, `Deployment ${d.id}`), ` ${d.image.name}@${d.image.version} by ${d.transport}`),
        table([{ label: 'Host', cell: (t) => t.name }, { label: 'State', cell: (t) => stateBadge(t.state) },
               { label: 'Progress', cell: (t) => progress(t.bytes_done, t.bytes_total) }], d.targets)))
        : h('p', { class: 'muted' }, 'None running. ', h('a', { href: '#/deployments' }, 'Start one')));
    fill(eventsList, events.events.slice().reverse().map((e) => eventLine(e, hosts)));
  }
  await refresh();
  return { topics: ['hosts', 'deployments', 'vms', 'site', 'events'], refresh };
}
