// units.js — the forces on the command map and wherever units are named:
// the units layer (a marker per unit in view, coloured by status, marked by
// type), the paged load of the units list it polls, and the look-ups the
// case board uses to name the units it suggests and dispatches.
//
// Positions are not on the live stream (thousands a minute would drown it):
// the layer re-reads the units around the view every UNIT_POLL_MS while it is
// on screen (only those changed since the last read, see createUnitLayer),
// and takes status changes from unit.updated events in between (live.js).
// Everything comes from the API, so a unit outside the caller's jurisdiction
// never reaches the browser.
import * as api from './api.js';
import * as live from './live.js';
import { t, label, onLangChange, fmtTime } from './i18n.js';
import { toDisplay, queryBox } from './coord.js';
import { esc } from './dom.js';

export const UNIT_TYPES = ['patrol_car', 'foot_patrol', 'motorcycle', 'grid_team', 'swat_team', 'traffic_unit',
  'investigation_team', 'guard_patrol', 'volunteer_team', 'mediation_team'];
export const UNIT_STATUSES = ['available', 'dispatched', 'on_scene', 'busy', 'off_duty'];
export const UNIT_POLL_MS = 30000;
// The dispatch policy's max_position_age_s: an older position is never used for
// suggestions, so the map shows it faded.
const STALE_MS = 300e3;
const PAGE = 500;

export function unitName(u) { return u ? (u.callsign || '#' + u.id) : ''; }
export function isStale(u, now = Date.now()) { return !u.position || now - u.position.at_ms > STALE_MS; }

// A unit's status as a coloured badge.
export function statusBadge(status) {
  return `<span class="ustat st-${esc(status)}">${esc(label('ustatus', status))}</span>`;
}

// The units in the caller's scope that match params (bbox, since, ...),
// page by page, into live.js. Returns their ids and the first page's as_of
// (the since of the next poll: it comes from the server's clock, not ours).
export async function loadUnits(params = {}) {
  let cursor = '', asOf = null;
  const ids = new Set();
  do {
    const r = await api.get('/api/v1/units' + api.qs({ ...params, limit: PAGE, cursor }));
    for (const u of r.units) { live.upsertUnit(u); ids.add(u.id); }
    if (!asOf) asOf = r.as_of;
    cursor = r.next_cursor;
  } while (cursor);
  return { ids, asOf };
}

// Makes sure the units with these ids are known (with their callsigns):
// dispatches carry only ids, and the list may not be loaded.
export async function ensureUnits(ids) {
  const missing = [...new Set(ids)].filter((id) => !live.getUnit(id) || !live.getUnit(id).callsign);
  await Promise.all(missing.map((id) => api.get('/api/v1/units/' + id).then((u) => live.upsertUnit(u)).catch(() => {})));
}

// Every FULL_EVERY-th poll re-reads its whole box, not only what changed: a
// safety net for what a poll of changes cannot tell (a unit that left the box
// and moved on again between two polls, one taken out of the caller's scope).
// A unit that left the box, or reported late, comes with the changes.
const FULL_EVERY = 10;

function boxCovers(a, b) { return a && a[0] <= b[0] && a[1] <= b[1] && a[2] >= b[2] && a[3] >= b[3]; }
function inBox(b, p) { return p && p.lon >= b[0] && p.lon <= b[2] && p.lat >= b[1] && p.lat <= b[3]; }

/*
 * The units layer of the command map. Only units inside the padded viewport
 * get a marker (the city has thousands); the set follows the view, the polls
 * and the stream. A poll asks only for a box around the view (bbox), and
 * once that box is loaded only for what changed since the last poll (since);
 * a view that leaves the box loads a new one. opts.visible() says whether
 * the map is on screen (no polling behind another view).
 * Returns { setEnabled, poll, markers }.
 */
export function createUnitLayer(map, ctx, opts) {
  const markers = new Map();
  let enabled = false, polling = null, timer = null, loadedOnce = false;
  // The loaded box ([minlon,minlat,maxlon,maxlat], WGS-84), the server time
  // to ask changes since, and the polls since the box was read whole.
  let box = null, asOf = null, deltas = 0;
  // Units a whole read of the box did not return although live.js still
  // places them inside it (they moved out, or out of scope): id -> the
  // position time they were left at; drawn again once they report anew.
  const away = new Map();

  function icon(u) {
    const cls = `sg-unit sg-unit-${u.id} st-${u.status} ty-${u.type}` + (isStale(u) ? ' sg-stale' : '') + (u.case_id ? ' sg-on-case' : '');
    return L.divIcon({ className: cls, html: esc(t('uglyph.' + u.type)), iconSize: [22, 16], iconAnchor: [11, 8] });
  }

  function tooltipOf(u) {
    const pos = u.position ? fmtTime(u.position.at, false) : '—';
    return `<b>${esc(unitName(u))}</b> · ${esc(label('utype', u.type))}<br>${statusBadge(u.status)}` +
      (u.case_id ? ` → #${u.case_id}` : '') +
      `<br><span class="muted">${esc(u.area ? u.area.name : '')} · ${esc(t('force.position_at'))} ${esc(pos)}</span>`;
  }

  function inView(u, bounds) {
    if (!u.position || away.get(u.id) === u.position.at_ms) return false;
    return bounds.contains(toDisplay(u.position.lon, u.position.lat));
  }

  // One unit: a marker when it is in view, none otherwise; the icon is
  // rebuilt only when what it shows changed.
  function place(u, bounds = map.getBounds().pad(0.25)) {
    let m = markers.get(u.id);
    if (!enabled || !inView(u, bounds)) {
      if (m) { map.removeLayer(m); markers.delete(u.id); }
      return;
    }
    const key = u.status + '|' + u.case_id + '|' + isStale(u);
    if (!m) {
      m = L.marker(toDisplay(u.position.lon, u.position.lat), { icon: icon(u), keyboard: false, riseOnHover: true });
      m.bindTooltip(() => tooltipOf(live.getUnit(u.id) || u));
      m.on('click', () => { const cur = live.getUnit(u.id); if (cur && cur.case_id) ctx.go('board', cur.case_id); });
      m.sgKey = key;
      m.sgAt = u.position.at_ms;
      m.addTo(map);
      markers.set(u.id, m);
      return;
    }
    if (m.sgAt !== u.position.at_ms) { m.setLatLng(toDisplay(u.position.lon, u.position.lat)); m.sgAt = u.position.at_ms; }
    if (m.sgKey !== key) { m.setIcon(icon(u)); m.sgKey = key; }
  }

  function redraw() {
    const b = map.getBounds().pad(0.25);
    for (const u of live.allUnits()) place(u, b);
    map.getContainer().classList.toggle('units-small', map.getZoom() < 13);
  }

  // One read: changes inside the loaded box while it still covers the view,
  // else (or every FULL_EVERY-th time) the whole box around the view.
  async function load() {
    const view = queryBox(map.getBounds().pad(0.25));
    if (boxCovers(box, view) && asOf && deltas < FULL_EVERY - 1) {
      const r = await loadUnits({ bbox: box.join(','), since: asOf });
      asOf = r.asOf;
      deltas++;
      for (const id of r.ids) away.delete(id);
      return;
    }
    const want = boxCovers(box, view) ? box : queryBox(map.getBounds().pad(0.75));
    const r = await loadUnits({ bbox: want.join(',') });
    for (const u of live.allUnits())
      if (!r.ids.has(u.id) && inBox(want, u.position)) away.set(u.id, u.position.at_ms);
    for (const id of r.ids) away.delete(id);
    box = want;
    asOf = r.asOf;
    deltas = 0;
  }

  // A poll asked for while one runs (the view moved) runs once after it.
  let again = false;
  async function poll() {
    if (polling) { again = true; return polling; }
    polling = load().then(() => { loadedOnce = true; redraw(); }).finally(() => {
      polling = null;
      if (again && enabled) { again = false; poll().catch(() => {}); }
    });
    return polling;
  }

  function tick() {
    if (enabled && opts.visible() && !document.hidden) poll().catch(() => {});
  }

  live.subscribeUnits((kind, u) => {
    if (kind === 'resync') { if (enabled) poll().catch(ctx.error); return; }
    place(u);
  });
  map.on('moveend', () => {
    if (!enabled) return;
    redraw();
    // A view beyond the loaded box has units not read yet.
    if (!boxCovers(box, queryBox(map.getBounds().pad(0.25))) && opts.visible()) poll().catch(() => {});
  });
  onLangChange(() => { for (const [id, m] of markers) { const u = live.getUnit(id); if (u) m.setIcon(icon(u)); } });

  return {
    markers,
    poll,
    async setEnabled(on) {
      enabled = on;
      clearInterval(timer);
      if (!on) { for (const m of markers.values()) map.removeLayer(m); markers.clear(); return; }
      timer = setInterval(tick, UNIT_POLL_MS);
      redraw();
      if (!loadedOnce) await poll();
    },
  };
}
