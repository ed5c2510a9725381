// Deployments: start one (an image, hosts by selector, a transport) and the history.
import { get, post } from '../api.js';
import { h, fill, table, stateBadge, time, busy } from '../dom.js';

const TRANSPORTS = [
  ['auto', 'auto: delta for a few hosts or re-imaging, multicast for many (the server\u2019s --auto-threshold)'],
  ['delta', 'delta: rsync-like, per host; best when the disks already hold an older image'],
  ['multicast', 'multicast: one stream for every host of the rack at once'],
  ['torrent', 'torrent: BitTorrent, hosts serve each other, same-rack peers first'],
];

export async function mount(main) {
  const image = h('select', { id: 'd-image', required: true });
  const hosts = h('input', { id: 'd-hosts', required: true, value: 'all', 'aria-describedby': 'd-hosts-help' });
  const transport = h('select', { id: 'd-transport' }, TRANSPORTS.map(([v, text]) => h('option', { value: v }, text)));
  const start = h('button', { type: 'submit', class: 'primary', id: 'd-start' }, 'Deploy');
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { id: 'deploy' },
    h('div', { class: 'inline' },
      h('label', { for: 'd-image' }, 'Image', image),
      h('label', { for: 'd-hosts' }, 'Hosts', hosts),
      h('label', { for: 'd-transport' }, 'Transport', transport), start),
    h('p', { id: 'd-hosts-help', class: 'muted' },
      'Hosts by selector: all, a name glob (web-*), or rack=r1,state=enrolled.'));
  const list = h('div');
  fill(main, h('h1', {}, 'Deployments'), h('section', { class: 'card' }, h('h2', {}, 'Start a deployment'), form, out),
    h('h2', {}, 'History'), list);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(start, out, async () => {
      const d = await post('/api/v1/deployments', { image: image.value, hosts: hosts.value.trim(), transport: transport.value });
      location.hash = `#/deployments/${d.id}`;
    });
  });

  async function refresh() {
    const [{ images }, { deployments }] = await Promise.all([get('/api/v1/images'), get('/api/v1/deployments')]);
    const chosen = image.value;
    fill(image, images.length ? images.map((i) => h('option', { value: `${i.name}@${i.version}`, selected: `${i.name}@${i.version}` === chosen }, `${i.name}@${i.version}`))
      : h('option', { value: '' }, 'no image imported'));
    fill(list, table([
      { label: 'Id', cell: (d) => h('a', { href: `#/deployments/${d.id}` }, String(d.id)) },
      { label: 'Image', cell: (d) => `${d.image.name || d.image.id}@${d.image.version || ''}` },
      { label: 'Transport', cell: (d) => d.transport },
      { label: 'State', cell: (d) => stateBadge(d.state) },
      { label: 'Started', cell: (d) => time(d.created_at), wide: true },
      { label: 'Finished', cell: (d) => time(d.finished_at), wide: true },
    ], deployments, 'No deployment yet.'));
  }
  await refresh();
  return { topics: ['deployments', 'images'], refresh };
}
