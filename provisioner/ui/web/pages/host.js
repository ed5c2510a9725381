// A host's page: its record and facts, its BMC's power with on/off/cycle, its lifecycle events with their reasons, its VMs, and
// graphs of its metrics from the server's history (GET /api/v1/hosts/{host}/metrics).
import { get, del, post } from '../api.js';
import { h, fill, table, stateBadge, time, busy } from '../dom.js';
import { historyGraphs } from '../chart.js';

export async function mount(main, params) {
  const ref = encodeURIComponent(params.host);
  const head = h('div');
  const facts = h('section', { class: 'card' });
  const vmsBox = h('section', { class: 'card' });
  const graphs = h('section', { class: 'card' });
  const events = h('section', { class: 'card' });
  fill(main, head, h('div', { class: 'grid' }, facts, vmsBox), graphs, events);

  async function refresh() {
    const [host, vms] = await Promise.all([get(`/api/v1/hosts/${ref}`), get('/api/v1/vms')]);
    const remove = h('button', { type: 'button', class: 'danger' }, 'Remove from the inventory');
    const removeOut = h('div');
    remove.addEventListener('click', () => {
      if (!confirm(`Remove ${host.name} from the inventory?`)) return;
      busy(remove, removeOut, async () => { await del(`/api/v1/hosts/${ref}`); location.hash = '#/hosts'; });
    });
    fill(head, h('h1', {}, `Host ${host.name} `, stateBadge(host.state)), remove, removeOut, powerBox(host));
    const f = host.facts || {};
    fill(facts, h('h2', {}, 'Record and facts'),
      h('dl', { class: 'facts' },
        [['MAC', host.mac], ['IP', host.ip || '–'], ['Rack', host.rack || '–'], ['Image', host.image ?? '–'],
         ['Enrolled', time(host.created_at)], ['Changed', time(host.updated_at)],
         ...Object.entries(f).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)])]
          .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
    const mine = vms.vms.filter((v) => v.host === host.name || v.host === host.id);
    fill(vmsBox, h('h2', {}, 'VMs'),
      table([{ label: 'VM', cell: (v) => h('a', { href: `#/vms/${encodeURIComponent(v.name)}` }, v.name) }, { label: 'State', cell: (v) => stateBadge(v.state) },
             { label: 'vCPUs', num: true, cell: (v) => v.vcpus }, { label: 'Memory', num: true, cell: (v) => `${v.memory_mib} MiB` }],
            mine, 'No VM reported on this host.'));
    fill(events, h('h2', {}, 'Lifecycle'),
      table([{ label: 'When', cell: (e) => time(e.time) },
             { label: 'From', cell: (e) => e.from ? stateBadge(e.from) : '–' },
             { label: 'To', cell: (e) => e.to ? stateBadge(e.to) : '–' },
             { label: 'Reason', cell: (e) => e.reason }],
            (host.events || []).slice().reverse(), 'No events.'));
    await drawGraphs();
  }

  // Its BMC: the power state last read, the last error, and on/off/cycle (POST /api/v1/power).
  function powerBox(host) {
    const p = host.power;
    if (!p) return h('p', { class: 'muted' }, 'No BMC: ', h('code', {}, `provisioner host bmc set ${host.name} …`), ' gives it one.');
    const out = h('span', { 'aria-live': 'polite' });
    const button = (action, label, cls) => {
      const b = h('button', { type: 'button', class: cls || '', id: `power-${action}` }, label);
      b.addEventListener('click', () => {
        if (action !== 'on' && !confirm(`Power ${action} ${host.name}?`)) return;
        busy(b, out, async () => {
          const r = await post('/api/v1/power', { action, hosts: host.name });
          const one = r.results[0] || {};
          fill(out, one.ok ? h('span', { class: 'ok' }, ` power ${one.power}`) : h('span', { class: 'error' }, ` ${one.error_kind}: ${one.error}`));
          await refresh();
        });
      });
      return b;
    };
    return h('section', { class: 'card power-box' },
      h('div', { class: 'inline' },
        h('span', {}, `BMC: ${p.driver}${p.address ? ' ' + p.address : ''} `), stateBadge(`power-${p.power}`),
        button('on', 'Power on'), button('off', 'Power off', 'danger'), button('cycle', 'Power cycle', 'danger')),
      p.error ? h('p', { class: 'error', id: 'power-error' }, `Last BMC error: ${p.error_kind}: ${p.error}`) : null,
      h('p', {}, out));
  }

  const drawGraphs = () => historyGraphs(graphs, `/api/v1/hosts/${ref}/metrics?since=1h`, 12);

  await refresh();
  return { topics: ['hosts', 'vms'], refresh };
}
