// The web UI's shell: sign-in, the navigation, the hash router (#/hosts/h1), the live stream,
// and errors shown where they happen (a page's own area, or the banner), never a blank page.
import { get, post, del, setCsrf } from './api.js';
import { h, fill, errorBox } from './dom.js';
import * as live from './live.js';
import { signinPage } from './pages/signin.js';

// Route pattern -> the module of its page; each page module exports mount(main, params).
const routes = [
  ['/', () => import('./pages/overview.js')],
  ['/hosts', () => import('./pages/hosts.js')],
  ['/hosts/:host', () => import('./pages/host.js')],
  ['/deployments', () => import('./pages/deployments.js')],
  ['/deployments/:id', () => import('./pages/deployment.js')],
  ['/images', () => import('./pages/images.js')],
  ['/templates', () => import('./pages/templates.js')],
  ['/site', () => import('./pages/site.js')],
  ['/vms', () => import('./pages/vms.js')],
  ['/vms/:vm', () => import('./pages/vm.js')],
  ['/events', () => import('./pages/events.js')],
];

const main = document.getElementById('main');
const banner = document.getElementById('banner');
let session = null;
let page = null;  // what the mounted page returned: {topics, refresh, onEvent, unmount}
let stopListening = null;
let routing = 0;  // which call of route() is the latest: an older one gives way
let routed = 0;   // pages shown so far

function match(path) {
  const parts = path.split('/').filter(Boolean);
  for (const [pattern, load] of routes) {
    const want = pattern.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    if (want.every((w, i) => (w.startsWith(':') ? ((params[w.slice(1)] = decodeURIComponent(parts[i])), true) : w === parts[i])))
      return { load, params };
  }
  return null;
}

function showBanner(message) {
  banner.textContent = message;
  banner.hidden = !message;
}

function markNav(path) {
  const top = '#/' + (path.split('/')[1] || '');
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === top) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// Refetches at most once per 300 ms however many changes arrive.
function debounced(fn) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => { timer = null; fn(); }, 300);
  };
}

async function route() {
  if (!session) return;
  const [path, query] = (location.hash.slice(1) || '/').split('?');
  if (page && page.unmount) page.unmount();
  if (stopListening) stopListening();
  page = null;
  markNav(path);
  const found = match(path);
  if (!found) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, path), '. ', h('a', { href: '#/' }, 'Overview')));
    return;
  }
  fill(main, h('p', { class: 'loading' }, 'Loading…'));
  const mine = ++routing;
  try {
    const module = await found.load();
    if (mine !== routing) return;
    const mounted = await module.mount(main, found.params, new URLSearchParams(query || ''));
    if (mine !== routing) return;
    const current = (page = mounted || {});
    // A refresh due after the page was left is dropped.
    const refresh = current.refresh
      ? debounced(() => page === current && current.refresh().catch(showPageError))
      : null;
    stopListening = live.listen({
      onChange: (topics) => {
        if (refresh && (current.topics || []).some((t) => topics.has(t))) refresh();
      },
      onEvent: (event) => current.onEvent && current.onEvent(event),
    });
  } catch (err) {
    if (mine === routing) showPageError(err);
  }
  // After a navigation, the keyboard goes on from the new page; on the first load it starts
  // at the top (the skip link).
  if (routed++) main.focus({ preventScroll: true });
}

function showPageError(err) {
  if (err.status === 401) return;  // the sign-in page takes over
  fill(main, h('h1', {}, 'This page could not be shown'), errorBox(err),
    h('p', {}, h('a', { href: location.hash || '#/' , onclick: () => setTimeout(route) }, 'Try again')));
}

function signedIn(s) {
  session = s;
  setCsrf(s.csrf);
  showBanner('');
  document.getElementById('who').textContent = s.name;
  document.getElementById('signout').hidden = false;
  live.connect(document.getElementById('live'));
  route();
}

function signedOut(message) {
  session = null;
  setCsrf('');
  live.disconnect();
  if (page && page.unmount) page.unmount();
  if (stopListening) stopListening();
  page = null;
  document.getElementById('who').textContent = '';
  document.getElementById('signout').hidden = true;
  document.getElementById('live').hidden = true;
  signinPage(main, message, async (token) => signedIn(await post('/api/v1/session', { token })));
}

function setupChrome() {
  const themeButton = document.getElementById('theme');
  const saved = localStorage.getItem('theme');
  if (saved) document.documentElement.dataset.theme = saved;
  themeButton.addEventListener('click', () => {
    const dark = getComputedStyle(document.documentElement).colorScheme === 'dark';
    const next = dark ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    localStorage.setItem('theme', next);
  });
  const menu = document.querySelector('.menu');
  const nav = document.getElementById('nav');
  menu.addEventListener('click', () => {
    nav.hidden = !nav.hidden;
    menu.setAttribute('aria-expanded', String(!nav.hidden));
  });
  nav.addEventListener('click', (e) => { if (e.target.tagName === 'A' && menu.offsetParent) nav.hidden = true; });
  document.getElementById('signout').addEventListener('click', async () => {
    live.disconnect();  // before the cookie goes, so the stream does not retry into a 401
    try { await del('/api/v1/session'); } catch (err) { showBanner(`Sign-out failed: ${err.message}`); return; }
    signedOut('Signed out.');
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('signed-out', () => signedOut('Your session ended; sign in again.'));
  window.addEventListener('error', (e) => showBanner(`Something failed on this page: ${e.message}`));
  window.addEventListener('unhandledrejection', (e) => showBanner(`Something failed on this page: ${e.reason && e.reason.message}`));
}

setupChrome();
get('/api/v1/session').then(signedIn, () => signedOut(''));
