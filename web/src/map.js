// map.js — the command map (指挥地图): area layers, the grid-fusion view, live
// cases as markers, units by type and status (units.js), a place panel
// (every area a clicked point belongs to, the grid's team and its open
// cases) and a search for an area by name or code (areasearch.js). No base
// map unless a tile template is set; vector layers and markers are drawn in
// the tiles' datum (coord.js).
import * as api from './api.js';
import * as live from './live.js';
import { t, label, nameOf, onLangChange, applyLabels } from './i18n.js';
import { toDisplay, geometryToDisplay, getDisplayCrs, queryBox } from './coord.js';
import { esc, caseMini } from './dom.js';
import { createUnitLayer, UNIT_STATUSES } from './units.js';
import { teamHtml } from './team.js';
import { createAreaSearch, interiorPoint } from './areasearch.js';

const GRID_MIN_ZOOM = 14; // governance grids (11,834 city-wide) load by viewport from here
const PRIO_COLOR = { 1: '#d7263d', 2: '#f46036', 3: '#e2b714', 4: '#7d8b99' };
const STATIC_LAYERS = {
  district: { simplify: 30, style: { color: '#14202e', weight: 2.5, fill: false } },
  station: { simplify: 10, style: { color: '#1f6feb', weight: 1.5, fillOpacity: 0.03 } },
  police_grid: { simplify: 5, style: { color: '#7b3fbf', weight: 1, fillOpacity: 0.02, dashArray: '3 3' } },
};

// A stable, distinct colour per police grid id (golden-angle hues).
function gridColor(id) { return 'hsl(' + ((id * 137.508) % 360).toFixed(0) + ',65%,55%)'; }

export function createMapView(root, ctx) {
  root.innerHTML = `
    <div class="mapview">
      <div class="map" id="cmd-map"></div>
      <aside class="side">
        <div class="card search" id="map-search"></div>
        <div class="layers card">
          <h3 data-i18n="layer.title"></h3>
          ${['district', 'station', 'police_grid', 'gov_grid', 'fusion', 'cases', 'units'].map((k) =>
            `<label><input type="checkbox" data-layer="${k}" ${['district', 'station', 'cases', 'units'].includes(k) ? 'checked' : ''}><span data-i18n="layer.${k}"></span></label>`).join('')}
          <div class="legend" id="grid-hint" data-i18n="layer.zoom_hint"></div>
          <div class="legend" data-i18n="layer.split_legend"></div>
          <div class="legend">${[1, 2, 3, 4].map((p) => `<span class="dot prio-${p}"></span><span data-i18n="prio.${p}"></span> `).join('')}</div>
          <div class="legend" id="unit-legend">${UNIT_STATUSES.map((st) => `<span class="ustat st-${st}" data-i18n="ustatus.${st}"></span> `).join('')}<span data-i18n="layer.units_stale"></span></div>
        </div>
        <div class="card" id="place"><span class="muted" data-i18n="map.click_hint"></span></div>
      </aside>
    </div>`;
  applyLabels(root);

  const map = L.map(root.querySelector('#cmd-map'), { zoomControl: true, attributionControl: !!ctx.settings.tiles });
  if (ctx.settings.tiles) L.tileLayer(ctx.settings.tiles, { maxZoom: 19 }).addTo(map);
  map.setView(toDisplay(120.62, 31.32), 10);

  const layers = {};
  const markers = new Map();
  // Cases and the picked place draw above every area layer, whatever loads last.
  map.createPane('cases').style.zIndex = 650;
  const caseLayer = L.layerGroup().addTo(map);
  let gridLayer = null, gridKind = null, gridSeq = 0;
  let clickMarker = null;
  const unitLayer = createUnitLayer(map, ctx, { visible: () => !root.hidden });

  function onEach(feature, layer) {
    const p = feature.properties;
    layer.bindTooltip(esc(p.name) + (p.split ? ' · ' + esc(t('place.split')) : ''), { sticky: true });
  }

  async function loadStatic(kind) {
    const def = STATIC_LAYERS[kind];
    const fc = await api.get('/api/v1/areas' + api.qs({ kind, format: 'geojson', simplify: def.simplify }));
    for (const f of fc.features) geometryToDisplay(f.geometry);
    layers[kind] = L.geoJSON(fc, { style: def.style, onEachFeature: onEach, interactive: false });
    return layers[kind];
  }

  async function toggleStatic(kind, on) {
    if (on) {
      const layer = layers[kind] || await loadStatic(kind);
      if (root.querySelector(`[data-layer=${kind}]`).checked) layer.addTo(map);
    } else if (layers[kind]) {
      map.removeLayer(layers[kind]);
    }
  }

  // Governance grids (plain, or coloured by fused police grid) for the viewport.
  async function refreshGrids() {
    const wantFusion = root.querySelector('[data-layer=fusion]').checked;
    const wantGrid = root.querySelector('[data-layer=gov_grid]').checked;
    const kind = wantFusion ? 'fusion' : wantGrid ? 'gov_grid' : null;
    const zoomOk = map.getZoom() >= GRID_MIN_ZOOM;
    root.querySelector('#grid-hint').hidden = !kind || zoomOk;
    const seq = ++gridSeq;
    if (!kind || !zoomOk) {
      if (gridLayer) { map.removeLayer(gridLayer); gridLayer = null; }
      return;
    }
    const bbox = queryBox(map.getBounds().pad(0.2)).join(',');
    const simplify = Math.max(0.5, 2 ** (17 - map.getZoom()) * 0.6).toFixed(1);
    const fc = await api.get('/api/v1/areas' + api.qs({ kind: 'gov_grid', format: 'geojson', bbox, simplify }));
    if (seq !== gridSeq) return; // a newer view superseded this one
    for (const f of fc.features) geometryToDisplay(f.geometry);
    const style = kind === 'fusion'
      ? (f) => ({ color: f.properties.split ? '#d7263d' : '#ffffff', weight: f.properties.split ? 2 : 0.6,
          dashArray: f.properties.split ? '5 4' : null, fillColor: gridColor(f.properties.fused_police || 0), fillOpacity: 0.55,
          className: 'sg-grid' + (f.properties.split ? ' sg-split' : '') })
      : (f) => ({ color: '#2e9e5b', weight: 1, fillOpacity: 0.05, className: 'sg-grid' });
    const next = L.geoJSON(fc, { style, onEachFeature: onEach, interactive: true });
    next.on('click', (e) => showPlace(e.latlng));
    if (gridLayer) map.removeLayer(gridLayer);
    gridLayer = next.addTo(map);
    gridKind = kind;
    for (const l of Object.values(layers)) if (map.hasLayer(l)) l.bringToFront();
  }

  // ---- live cases ----
  function markerStyle(c) {
    const open = live.isOpen(c);
    return {
      radius: c.priority === 1 ? 9 : c.priority === 2 ? 7 : 6,
      color: live.isEscalated(c) ? '#000' : (open ? '#fff' : '#555'),
      weight: live.isEscalated(c) ? 3 : 2,
      dashArray: c.police ? null : '3 2',
      fillColor: PRIO_COLOR[c.priority] || '#888',
      fillOpacity: open ? 0.9 : 0.3,
      className: `sg-case sg-case-${c.id} sg-state-${c.status}` + (open ? '' : ' sg-closed'),
    };
  }

  function tooltipOf(c) {
    const cat = ctx.category(c.category);
    return esc(`#${c.id} ${nameOf(cat) || c.category} · ${label('state', c.status)} · ${nameOf(c.org)}`);
  }

  function placeCase(c) {
    let m = markers.get(c.id);
    if (['closed', 'cancelled'].includes(c.status)) {
      if (m) { caseLayer.removeLayer(m); markers.delete(c.id); }
      return;
    }
    if (!m) {
      m = L.circleMarker(toDisplay(c.lon, c.lat), { ...markerStyle(c), pane: 'cases' });
      m.on('click', () => ctx.go('board', c.id));
      m.bindTooltip(tooltipOf(c));
      m.addTo(caseLayer);
      markers.set(c.id, m);
    } else {
      m.setLatLng(toDisplay(c.lon, c.lat));
      m.setStyle(markerStyle(c));
      m.setTooltipContent(tooltipOf(c));
      // className is fixed at creation in SVG: keep the classes current by hand.
      if (m._path) m._path.setAttribute('class', 'leaflet-interactive ' + markerStyle(c).className);
    }
  }

  // The cases still to be handled, however old (newest 500 first); the
  // stream adds what comes and fades what is resolved.
  async function loadCases() {
    const r = await api.get('/api/v1/cases' + api.qs({ open: 'true', limit: 500 }));
    for (const c of r.cases) live.upsert(c);
  }

  live.subscribe((kind, c) => {
    if (kind === 'resync') { loadCases().catch(() => {}); return; }
    placeCase(c);
  });

  // ---- a clicked place ----
  // latlng in the display datum; focus: an area of the place whose open
  // cases to list (a searched one), else the place's police grid.
  async function showPlace(latlng, focus = null) {
    const el = root.querySelector('#place');
    el.innerHTML = `<span class="muted">${t('map.loading')}</span>`;
    if (clickMarker) map.removeLayer(clickMarker);
    clickMarker = L.circleMarker(latlng, { radius: 5, color: '#1f6feb', fillOpacity: 1, pane: 'cases' }).addTo(map);
    try {
      const loc = await api.get('/api/v1/locate' + api.qs({ lon: latlng.lng.toFixed(7), lat: latlng.lat.toFixed(7), crs: getDisplayCrs() }));
      if (!loc.areas.length) { el.innerHTML = `<p>${t('place.outside')}</p>`; return; }
      let html = `<h3>${t('place.title')}</h3><ul class="areas-list">`;
      for (const a of loc.areas) html += `<li><span class="kind">${label('kind', a.kind)}</span>${esc(a.name)} <span class="muted">${esc(a.code || '')}</span></li>`;
      html += '</ul>';
      const grid = loc.areas.find((a) => a.kind === 'gov_grid');
      if (grid) {
        const g = await api.get('/api/v1/areas/' + grid.id);
        if (g.fusion) html += `<p class="muted">${t('place.fused')}: ${esc(g.fusion.police_grid.name)} · ${t('place.ratio')} ${(g.fusion.ratio * 100).toFixed(0)}%${g.fusion.split ? ' · <b class="error">' + t('place.split') + '</b>' : ''}</p>`;
      }
      html += `<div id="team">${await teamHtml(loc.areas)}</div>`;
      const finest = focus || loc.areas.find((a) => a.kind === 'police_grid') || loc.areas[0];
      const r = await api.get('/api/v1/cases' + api.qs({ area: finest.id, open: 'true', limit: 200 }));
      const open = r.cases;
      html += `<h3>${t('place.open_cases')} · ${esc(finest.name)} (${open.length}${r.next_cursor ? '+' : ''})</h3>`;
      html += open.length ? open.slice(0, 30).map((c) => caseMini(c, ctx)).join('') : `<p class="muted">${t('place.none')}</p>`;
      el.innerHTML = html;
      for (const row of el.querySelectorAll('[data-case]')) row.addEventListener('click', () => ctx.go('board', +row.dataset.case));
      for (const row of el.querySelectorAll('[data-unit]')) row.addEventListener('click', () => focusUnit(+row.dataset.unit));
    } catch (e) {
      el.innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  }
  map.on('click', (e) => showPlace(e.latlng));

  // ---- an area found by name or code ----
  // Frames the area, outlines it, and shows a place inside it with its open cases.
  let foundLayer = null;
  async function focusArea(a) {
    const [lon, lat] = interiorPoint(a.geometry);
    const shape = { type: 'Feature', properties: {}, geometry: geometryToDisplay(JSON.parse(JSON.stringify(a.geometry))) };
    if (foundLayer) map.removeLayer(foundLayer);
    foundLayer = L.geoJSON(shape, { style: { color: '#ff7a00', weight: 3, fill: false, className: 'sg-found' }, interactive: false, pane: 'cases' }).addTo(map);
    map.fitBounds(foundLayer.getBounds(), { maxZoom: 17 });
    await showPlace(L.latLng(toDisplay(lon, lat)), a);
  }
  createAreaSearch(root.querySelector('#map-search'), ctx, focusArea);

  // A case from the board: centred close enough to see the units around it.
  let focused = false;
  async function focusCase(id) {
    focused = true;
    let c = live.getCase(id);
    if (!c) {
      const d = await api.get('/api/v1/cases/' + id);
      delete d.reports_list; // the map draws the case, never its callers
      delete d.history;
      c = live.upsert(d);
    }
    placeCase(c);
    map.setView(toDisplay(c.lon, c.lat), Math.max(map.getZoom(), 16));
    const m = markers.get(id);
    if (m) m.openTooltip();
  }

  // A unit named in the panel: centre it and show its tooltip.
  function focusUnit(id) {
    const u = live.getUnit(id);
    if (!u || !u.position) { ctx.toast(t('force.no_position')); return; }
    map.setView(toDisplay(u.position.lon, u.position.lat), Math.max(map.getZoom(), 15));
    // The layer places the marker when the move ends (it may not have been in view).
    setTimeout(() => { const m = unitLayer.markers.get(id); if (m) m.openTooltip(); }, 400);
  }

  for (const cb of root.querySelectorAll('[data-layer]')) {
    cb.addEventListener('change', () => {
      const k = cb.dataset.layer;
      if (STATIC_LAYERS[k]) toggleStatic(k, cb.checked).catch(ctx.error);
      else if (k === 'cases') cb.checked ? caseLayer.addTo(map) : map.removeLayer(caseLayer);
      else if (k === 'units') unitLayer.setEnabled(cb.checked).catch(ctx.error);
      else refreshGrids().catch(ctx.error);
    });
  }
  let moveTimer = null;
  map.on('moveend', () => { clearTimeout(moveTimer); moveTimer = setTimeout(() => refreshGrids().catch(ctx.error), 250); });
  onLangChange(() => { for (const [id, m] of markers) m.setTooltipContent(tooltipOf(live.getCase(id))); });

  // Start framed on the caller's jurisdiction, unless a case was asked for meanwhile.
  (async () => {
    const first = (ctx.me.scope || [])[0];
    if (first) {
      const a = await api.get('/api/v1/areas/' + first.id);
      const [w, s, e, n] = a.bbox;
      if (!focused) map.fitBounds([toDisplay(w, s), toDisplay(e, n)]);
    }
    await Promise.all(['district', 'station'].map((k) => toggleStatic(k, true)));
    await loadCases();
    for (const c of live.allCases()) placeCase(c);
    refreshGrids().catch(ctx.error);
    await unitLayer.setEnabled(root.querySelector('[data-layer=units]').checked);
  })().catch(ctx.error);

  return {
    map,
    markers,
    units: unitLayer,
    // arg: a case id to centre on (from the board's "on the map"), its marker's tooltip open.
    show(arg) {
      setTimeout(() => {
        map.invalidateSize();
        if (arg) focusCase(arg).catch(ctx.error);
      }, 0);
    },
    gridKind: () => gridKind,
    showPlace,
    focusArea,
  };
}
