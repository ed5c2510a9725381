// Events: the event log, live, newest first, filtered by host and by words in the reason.
import { get, allHosts } from '../api.js';
import { h, fill, time, stateBadge } from '../dom.js';

// One event as a list item; hosts names the host ids.
export function eventLine(e, hosts = []) {
  const host = hosts.find((x) => x.id === e.host);
  return h('li', {}, time(e.time),
    host ? h('a', { href: `#/hosts/${encodeURIComponent(host.name)}` }, host.name) : (e.mac || 'server'), ' ',
    e.to ? [stateBadge(e.from || '–'), ' → ', stateBadge(e.to), ' '] : null,
    e.reason);
}

export async function mount(main, params, query) {
  const hostFilter = h('input', { id: 'ev-host', value: query.get('host') || '', placeholder: 'any' });
  const textFilter = h('input', { id: 'ev-text', placeholder: 'words in the reason' });
  const list = h('ul', { class: 'events', 'aria-live': 'polite' });
  const count = h('span', { class: 'muted' });
  fill(main, h('h1', {}, 'Events ', count),
    h('form', { class: 'inline', role: 'search', onsubmit: (e) => e.preventDefault() },
      h('label', { for: 'ev-host' }, 'Host', hostFilter), h('label', { for: 'ev-text' }, 'Reason contains', textFilter)),
    list);
  let hosts = [];
  let events = [];
  const show = () => {
    const who = hostFilter.value.trim();
    const words = textFilter.value.trim().toLowerCase();
    const shown = events.filter((e) => {
      const host = hosts.find((x) => x.id === e.host);
      if (who && !(host && (host.name === who || host.mac === who)) && e.mac !== who) return false;
      return !words || e.reason.toLowerCase().includes(words);
    });
    fill(list, shown.slice().reverse().map((e) => eventLine(e, hosts)));
    count.textContent = `(${shown.length} of the last ${events.length})`;
  };
  hostFilter.addEventListener('input', show);
  textFilter.addEventListener('input', show);
  async function refresh() {
    [hosts, { events }] = await Promise.all([allHosts(), get('/api/v1/events?limit=200')]);
    show();
  }
  await refresh();
  return {
    topics: ['hosts'],
    refresh,
    onEvent: (e) => {
      if (events.some((x) => x.id === e.id)) return;
      events.push(e);
      if (events.length > 500) events.shift();
      show();
    },
  };
}
