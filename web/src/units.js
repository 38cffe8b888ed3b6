// units.js — the forces on the command map and wherever units are named:
// the units layer (a marker per unit in view, coloured by status, marked by
// type), the paged load of the units list it polls, and the look-ups the
// case board uses to name the units it suggests and dispatches.
//
// Positions are not on the live stream (thousands a minute would drown it):
// the layer re-reads the units list every UNIT_POLL_MS while it is on screen,
// and takes status changes from unit.updated events in between (live.js).
// Everything comes from the API, so a unit outside the caller's jurisdiction
// never reaches the browser.
import * as api from './api.js';
import * as live from './live.js';
import { t, label, onLangChange, fmtTime } from './i18n.js';
import { toDisplay } from './coord.js';
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

// Every unit in the caller's scope, page by page, into live.js.
export async function loadUnits(params = {}) {
  let cursor = '', n = 0;
  do {
    const r = await api.get('/api/v1/units' + api.qs({ ...params, limit: PAGE, cursor }));
    for (const u of r.units) live.upsertUnit(u);
    n += r.units.length;
    cursor = r.next_cursor;
  } while (cursor);
  return n;
}

// Makes sure the units with these ids are known (with their callsigns):
// dispatches carry only ids, and the list may not be loaded.
export async function ensureUnits(ids) {
  const missing = [...new Set(ids)].filter((id) => !live.getUnit(id) || !live.getUnit(id).callsign);
  await Promise.all(missing.map((id) => api.get('/api/v1/units/' + id).then((u) => live.upsertUnit(u)).catch(() => {})));
}

/*
 * The units layer of the command map. Only units inside the padded viewport
 * get a marker (the city has thousands); the set follows the view, the polls
 * and the stream. opts.visible() says whether the map is on screen (no
 * polling behind another view). Returns { setEnabled, poll, markers }.
 */
export function createUnitLayer(map, ctx, opts) {
  const markers = new Map();
  let enabled = false, polling = null, timer = null, loadedOnce = false;

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
    return u.position && bounds.contains(toDisplay(u.position.lon, u.position.lat));
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

  async function poll() {
    if (polling) return polling;
    polling = loadUnits().then(() => { loadedOnce = true; redraw(); }).finally(() => { polling = null; });
    return polling;
  }

  function tick() {
    if (enabled && opts.visible() && !document.hidden) poll().catch(() => {});
  }

  live.subscribeUnits((kind, u) => {
    if (kind === 'resync') { if (enabled) poll().catch(ctx.error); return; }
    place(u);
  });
  map.on('moveend', () => { if (enabled) redraw(); });
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
