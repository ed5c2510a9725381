// The API, as the pages call it: same-origin fetch with the session cookie, the CSRF header on
// every request that changes state, and the API's JSON errors turned into ApiError.

let csrf = '';

export function setCsrf(token) { csrf = token || ''; }

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || '';
    // The site file's and a CSV's problems: [{line, message}].
    this.lines = (body && body.lines) || e.lines || [];
  }
}

// fetch + JSON; throws ApiError for any status >= 400. A 401 also tells the app (the session
// expired or was signed out elsewhere), which then shows the sign-in page.
export async function api(method, path, body, contentType = 'application/json') {
  const headers = {};
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = contentType;
    payload = contentType === 'application/json' ? JSON.stringify(body) : body;
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, json);
    if (res.status === 401 && path !== '/api/v1/session') window.dispatchEvent(new Event('signed-out'));
    throw err;
  }
  return json;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const del = (path) => api('DELETE', path);

// Every host (the list endpoint pages; the UI wants them all for counts and filters).
export async function allHosts(selector = 'all') {
  const out = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await get(`/api/v1/hosts?selector=${encodeURIComponent(selector)}&limit=1000&offset=${offset}`);
    out.push(...page.hosts);
    if (out.length >= page.total || page.hosts.length === 0) return out;
  }
}
