// One deployment, live: each host's state, bytes, rate and transport, updated as its agent
// reports (the stream says "deployments" changed; nothing polls).
import { get } from '../api.js';
import { h, fill, table, stateBadge, time, bytes, progress } from '../dom.js';

export async function mount(main, params) {
  const id = encodeURIComponent(params.id);
  const head = h('div');
  const body = h('div');
  fill(main, head, body);

  async function refresh() {
    const d = await get(`/api/v1/deployments/${id}`);
    const now = Date.now();
    const counts = d.counts || {};
    fill(head, h('h1', {}, `Deployment ${d.id} `, h('span', { id: 'deployment-state' }, stateBadge(d.state))),
      h('p', {}, `${d.image.name}@${d.image.version} by ${d.transport}, started `, time(d.created_at),
        d.finished_at ? [', finished ', time(d.finished_at)] : null),
      h('p', { class: 'muted' }, Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')));
    fill(body, table([
      { label: 'Host', cell: (t) => h('a', { href: `#/hosts/${encodeURIComponent(t.name || t.host)}` }, t.name || String(t.host)) },
      { label: 'State', cell: (t) => h('span', { class: 'target-state', 'data-host': t.name }, stateBadge(t.state)) },
      { label: 'Transport', cell: (t) => t.transport },
      { label: 'Progress', cell: (t) => progress(t.bytes_done, t.bytes_total) },
      { label: 'Bytes', num: true, cell: (t) => `${bytes(t.bytes_done)} / ${bytes(t.bytes_total)}`, wide: true },
      { label: 'Rate', num: true, cell: (t) => rate(t, now) },
      { label: 'Error', cell: (t) => t.error ? h('span', { class: 'error' }, t.error) : '' },
    ], d.targets || [], 'No hosts in this deployment.'));
  }
  await refresh();
  return { topics: ['deployments'], refresh };
}

// Mean rate since the host started: bytes over the time from its start to its end (or now).
function rate(t, now) {
  if (!t.started_at || !t.bytes_done) return '–';
  const seconds = ((t.finished_at || now) - t.started_at) / 1000;
  return seconds > 0 ? `${bytes(t.bytes_done / seconds)}/s` : '–';
}
