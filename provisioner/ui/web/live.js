// The server's live stream (GET /api/v1/stream, server-sent events): the page in view hears
// of the topics that changed and of each new event. EventSource reconnects by itself; each
// (re)connection says "hello", after which the page refetches everything it shows, so
// nothing missed while disconnected stays missing.

const ALL = ['hosts', 'deployments', 'images', 'templates', 'site', 'vms', 'events', 'tokens'];
let source = null;
const listeners = new Set();

// listener: {onChange(topics: Set), onEvent(event)}; returns a function that removes it.
export function listen(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function tell(topics, event) {
  for (const l of listeners) {
    try {
      if (topics && l.onChange) l.onChange(topics);
      if (event && l.onEvent) l.onEvent(event);
    } catch (err) {
      console.warn('a page failed to follow a change', err);
    }
  }
}

export function connect(indicator) {
  if (source) return;
  source = new EventSource('/api/v1/stream');
  source.addEventListener('hello', () => {
    indicator.hidden = false;
    indicator.classList.remove('off');
    indicator.textContent = 'live';
    tell(new Set(ALL));
  });
  source.addEventListener('change', (m) => tell(new Set(JSON.parse(m.data).topics)));
  source.addEventListener('event', (m) => {
    // A host changed state: its lists and the deployments it is part of too.
    tell(new Set(['events', 'hosts', 'deployments']), JSON.parse(m.data));
  });
  source.onerror = () => {
    indicator.classList.add('off');
    indicator.textContent = 'reconnecting';
  };
}

export function disconnect() {
  if (source) source.close();
  source = null;
}
