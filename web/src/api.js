// api.js — the console's only door to the server: JSON calls with the
// session's Bearer token, and the live stream (Server-Sent Events read
// through fetch, since EventSource cannot send an Authorization header).
const TOKEN_KEY = 'sg.token';

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || ('HTTP ' + status));
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.field = e.field || null;
    this.body = body;
  }
}

export function token() { return sessionStorage.getItem(TOKEN_KEY); }

export async function login(name, password) {
  const body = await call('POST', '/api/v1/login', { name, password }, false);
  sessionStorage.setItem(TOKEN_KEY, body.token);
  return body;
}

export async function logout() {
  try { await call('POST', '/api/v1/logout'); } catch (e) { /* the token is dropped either way */ }
  sessionStorage.removeItem(TOKEN_KEY);
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export async function call(method, path, body, auth = true) {
  const headers = {};
  if (auth && token()) headers.Authorization = 'Bearer ' + token();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
  if (!r.ok) {
    if (r.status === 401 && auth) onUnauthorized();
    throw new ApiError(r.status, data);
  }
  return data;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);

// Builds a query string from an object, leaving out empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}

/*
 * Follows /api/v1/stream until stop() is called: onEvent(type, data) for each
 * event (cases, units, dispatches), onState(true|false) as the connection comes and goes. After a
 * break it reconnects with Last-Event-ID so nothing is missed; "resync" (the
 * server could not replay everything) is passed on for the caller to reload.
 */
export function stream(onEvent, onState) {
  let lastId = null, stopped = false, ctrl = null, retry = 500;

  async function run() {
    while (!stopped) {
      ctrl = new AbortController();
      try {
        const headers = { Authorization: 'Bearer ' + token(), Accept: 'text/event-stream' };
        if (lastId) headers['Last-Event-ID'] = lastId;
        const r = await fetch('/api/v1/stream', { headers, signal: ctrl.signal });
        if (r.status === 401) { onUnauthorized(); return; }
        if (!r.ok || !r.body) throw new Error('stream ' + r.status);
        onState(true);
        retry = 500;
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let cut;
          while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
            dispatch(block);
          }
        }
      } catch (e) {
        if (stopped) return;
      }
      onState(false);
      await new Promise((res) => setTimeout(res, retry));
      retry = Math.min(retry * 2, 10000);
    }
  }

  function dispatch(block) {
    let type = 'message', data = '', id = null;
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data += (data ? '\n' : '') + value;
      else if (field === 'id') id = value;
    }
    if (id) lastId = id;
    if (type === 'message' && !data) return;
    let parsed = null;
    try { parsed = data ? JSON.parse(data) : null; } catch (e) { parsed = data; }
    onEvent(type, parsed);
  }

  run();
  return { stop() { stopped = true; if (ctrl) ctrl.abort(); } };
}
