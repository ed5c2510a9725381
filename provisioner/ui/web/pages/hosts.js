// Hosts: the inventory with filters (rack, state, image), enrolment of one host or of a CSV,
// and accepting discovered hosts.
import { get, post, api, allHosts } from '../api.js';
import { h, fill, table, stateBadge, busy } from '../dom.js';

const STATES = ['', 'discovered', 'enrolled', 'booting', 'imaging', 'imaged', 'ready', 'unreachable', 'failed', 'retired'];

function field(id, label, attrs = {}) {
  return h('label', { for: id }, label, h('input', { id, name: id, ...attrs }));
}

export async function mount(main, params, query) {
  const rack = h('input', { id: 'f-rack', value: query.get('rack') || '', placeholder: 'any' });
  const state = h('select', { id: 'f-state' }, STATES.map((s) => h('option', { value: s, selected: s === (query.get('state') || '') }, s || 'any')));
  const image = h('select', { id: 'f-image' }, h('option', { value: '' }, 'any'));
  const list = h('div');
  const one = h('form', { class: 'inline', id: 'enrol-one' },
    field('e-mac', 'MAC', { required: true, placeholder: '52:54:00:00:00:01' }), field('e-name', 'Name', { required: true }),
    field('e-ip', 'IP (optional)'), field('e-rack', 'Rack (optional)'),
    h('button', { type: 'submit', class: 'primary' }, 'Enrol'));
  const oneOut = h('div', { 'aria-live': 'polite' });
  const csv = h('textarea', { id: 'csv', rows: 5, placeholder: 'mac,name,ip,rack\n52:54:00:00:00:01,h1,10.0.0.11,r1' });
  const csvFile = h('input', { id: 'csv-file', type: 'file', accept: '.csv,text/csv' });
  const csvButton = h('button', { type: 'submit', class: 'primary', id: 'csv-import' }, 'Import CSV');
  const csvOut = h('div', { 'aria-live': 'polite' });
  fill(main, h('h1', {}, 'Hosts'),
    h('form', { class: 'inline', role: 'search', onsubmit: (e) => e.preventDefault() },
      h('label', { for: 'f-rack' }, 'Rack', rack), h('label', { for: 'f-state' }, 'State', state), h('label', { for: 'f-image' }, 'Image', image)),
    list,
    h('h2', {}, 'Enrol a host'), one, oneOut,
    h('h2', {}, 'Enrol from a CSV'),
    h('p', { class: 'muted' }, 'Columns mac,name,ip,rack (a header line is optional). All or nothing: one bad line and nothing is enrolled.'),
    h('form', { id: 'enrol-csv' }, h('label', { for: 'csv' }, 'CSV text', csv), h('label', { for: 'csv-file' }, 'or a file', csvFile), csvButton),
    csvOut);

  let hosts = [];
  let images = [];
  const imageName = (id) => { const i = images.find((x) => x.id === id); return i ? `${i.name}@${i.version}` : id ? `#${id}` : '–'; };
  const show = () => {
    const shown = hosts.filter((x) => (!rack.value || x.rack === rack.value) && (!state.value || x.state === state.value) &&
      (!image.value || String(x.image) === image.value));
    const q = new URLSearchParams();
    if (rack.value) q.set('rack', rack.value);
    if (state.value) q.set('state', state.value);
    history.replaceState(null, '', `#/hosts${q.toString() ? '?' + q : ''}`);
    fill(list, h('p', { class: 'muted' }, `${shown.length} of ${hosts.length} hosts`),
      table([
        { label: 'Name', cell: (x) => h('a', { href: `#/hosts/${encodeURIComponent(x.name)}` }, x.name) },
        { label: 'MAC', cell: (x) => h('span', { class: 'mono' }, x.mac), wide: true },
        { label: 'IP', cell: (x) => x.ip || '–' },
        { label: 'Rack', cell: (x) => x.rack || '–' },
        { label: 'State', cell: (x) => stateBadge(x.state) },
        ...(hosts.some((x) => x.power) ? [{ label: 'Power', cell: powerCell }] : []),
        { label: 'Image', cell: (x) => imageName(x.image), wide: true },
        { label: '', cell: (x) => x.state === 'discovered' ? acceptButton(x) : null },
      ], shown, hosts.length ? 'No host matches these filters.' : 'No hosts yet: enrol some below.'));
  };
  // A host's power as its BMC last read it, and its last BMC error (a host without a BMC: –).
  const powerCell = (x) => x.power
    ? h('span', { class: 'power', 'data-host': x.name, title: x.power.error || `${x.power.driver} ${x.power.address}` },
        stateBadge(`power-${x.power.power}`), x.power.error_kind ? h('span', { class: 'error' }, ` ${x.power.error_kind}`) : null)
    : '–';
  const acceptButton = (x) => {
    const b = h('button', { type: 'button' }, 'Accept');
    b.addEventListener('click', () => busy(b, null, () => post(`/api/v1/hosts/${encodeURIComponent(x.mac)}/accept`, {})).catch((err) => alert(err.message)));
    return b;
  };
  for (const el of [rack, state, image]) el.addEventListener('input', show);

  one.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = (id) => one.querySelector('#' + id).value.trim();
    const body = { mac: v('e-mac'), name: v('e-name') };
    if (v('e-ip')) body.ip = v('e-ip');
    if (v('e-rack')) body.rack = v('e-rack');
    busy(one.querySelector('button'), oneOut, async () => {
      const host = await post('/api/v1/hosts', body);
      one.reset();
      fill(oneOut, h('p', { class: 'ok' }, `Enrolled ${host.name}.`));
    });
  });
  csvFile.addEventListener('change', async () => { if (csvFile.files[0]) csv.value = await csvFile.files[0].text(); });
  main.querySelector('#enrol-csv').addEventListener('submit', (e) => {
    e.preventDefault();
    busy(csvButton, csvOut, async () => {
      const r = await api('POST', '/api/v1/hosts/import', csv.value, 'text/csv');
      fill(csvOut, h('p', { class: 'ok', id: 'csv-result' }, `Imported ${r.imported} hosts.`));
      csv.value = '';
    });
  });

  async function refresh() {
    [hosts, { images }] = await Promise.all([allHosts(), get('/api/v1/images')]);
    const chosen = image.value;
    fill(image, h('option', { value: '' }, 'any'), images.map((i) => h('option', { value: String(i.id), selected: String(i.id) === chosen }, `${i.name}@${i.version}`)));
    show();
  }
  await refresh();
  return { topics: ['hosts', 'images'], refresh };
}
