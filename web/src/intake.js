// intake.js — the intake desk (接警台) for 110/12345 operators: a report's
// source, text, caller and place (typed, clicked on the map, or a point inside
// an area found by name: the caller says "山塘社区"). Before it is
// saved, POST /api/v1/reports/check shows how it will be classified, where
// it will go and which open cases nearby it may duplicate; one click files
// it, or files and diverts it to a department. A number the caller gives is
// looked up (重复来电): what it reported in the last 30 days.
import * as api from './api.js';
import { t, label, nameOf, onLangChange, applyLabels, fmtTime } from './i18n.js';
import { toDisplay, getDisplayCrs, geometryToDisplay, queryBox } from './coord.js';
import { esc, caseMini } from './dom.js';
import { createAreaSearch, interiorPoint } from './areasearch.js';
import { mayLookUp, lookUpCaller, renderCallerHistory } from './callers.js';

export function createIntakeView(root, ctx) {
  const mayFile = ctx.me.role !== 'analyst';
  root.innerHTML = `
    <div class="intake">
      <form id="intake-form" autocomplete="off">
        <h2 data-i18n="intake.title"></h2>
        <label><span data-i18n="intake.source"></span>
          <select name="source">${['110', '12345', 'app', 'walk_in'].map((s) => `<option value="${s}" data-i18n="source.${s}"></option>`).join('')}</select></label>
        <label><span data-i18n="intake.text"></span><textarea name="text" required></textarea></label>
        <div class="row">
          <label style="flex:1"><span data-i18n="intake.caller_name"></span><input name="caller_name" maxlength="64"></label>
          <label style="flex:1"><span data-i18n="intake.caller_phone"></span><input name="caller_phone" maxlength="24"></label>
        </div>
        <div class="caller-history" id="caller-history" hidden></div>
        <div class="row">
          <label style="flex:1"><span data-i18n="intake.lon"></span><input name="lon" inputmode="decimal"></label>
          <label style="flex:1"><span data-i18n="intake.lat"></span><input name="lat" inputmode="decimal"></label>
        </div>
        <p class="muted" data-i18n="intake.pick"></p>
        <div class="search" id="intake-search"></div>
        <label><span data-i18n="intake.category"></span><select name="category"></select></label>
        <div class="row">
          <button type="button" id="check-btn" data-i18n="intake.check"></button>
          <button type="submit" class="primary" id="file-btn" data-i18n="intake.file" ${mayFile ? '' : 'disabled'}></button>
        </div>
        <div class="row">
          <label style="flex:1"><span data-i18n="intake.divert_to"></span><select name="department"></select></label>
          <button type="button" class="warn" id="divert-btn" data-i18n="intake.file_divert" ${mayFile ? '' : 'disabled'}></button>
        </div>
        <div id="intake-result"></div>
      </form>
      <div class="right">
        <div class="pick-map" id="pick-map"></div>
        <div class="preview" id="preview"><h3 data-i18n="intake.preview"></h3><p class="muted" data-i18n="intake.need_place"></p></div>
      </div>
    </div>`;
  const form = root.querySelector('#intake-form');
  const preview = root.querySelector('#preview');

  function fillSelects() {
    const cat = form.category.value, dep = form.department.value;
    form.category.innerHTML = `<option value="">${esc(t('intake.category_auto'))}</option>` +
      ctx.categories.map((c) => `<option value="${esc(c.id)}">${esc(nameOf(c))}</option>`).join('');
    form.department.innerHTML = ctx.departments.filter((d) => d.kind !== 'police')
      .map((d) => `<option value="${esc(d.id)}">${esc(nameOf(d))}</option>`).join('');
    form.category.value = cat;
    if (dep) form.department.value = dep;
  }
  fillSelects();
  applyLabels(root);

  const map = L.map(root.querySelector('#pick-map'), { attributionControl: false });
  if (ctx.settings.tiles) L.tileLayer(ctx.settings.tiles, { maxZoom: 19 }).addTo(map);
  map.setView(toDisplay(120.62, 31.32), 11);
  let pin = null;
  const nearbyLayer = L.layerGroup().addTo(map);
  // The typed coordinates are WGS-84 unless the base map is GCJ-02; a click is in the map's datum.
  map.on('click', (e) => {
    form.lon.value = e.latlng.lng.toFixed(6);
    form.lat.value = e.latlng.lat.toFixed(6);
    schedule(0);
  });
  // Districts and station areas as a guide: which station a click falls to.
  for (const [kind, simplify, style] of [['station', 10, { color: '#1f6feb', weight: 1, fillOpacity: 0.04 }],
    ['district', 30, { color: '#14202e', weight: 2, fill: false }]]) {
    api.get('/api/v1/areas' + api.qs({ kind, format: 'geojson', simplify })).then((fc) => {
      for (const f of fc.features) geometryToDisplay(f.geometry);
      L.geoJSON(fc, { style, interactive: false }).addTo(map);
    }).catch(() => {});
  }
  // Zoomed in, the governance grids of the view (as on the command map), so
  // that a click lands in the grid the caller names; a newer view wins.
  const GRID_MIN_ZOOM = 14;
  let grids = null, gridSeq = 0;
  async function refreshGrids() {
    const seq = ++gridSeq;
    if (map.getZoom() < GRID_MIN_ZOOM) {
      if (grids) { map.removeLayer(grids); grids = null; }
      return;
    }
    const bbox = queryBox(map.getBounds().pad(0.2)).join(',');
    const fc = await api.get('/api/v1/areas' + api.qs({ kind: 'gov_grid', format: 'geojson', bbox, simplify: 2 }));
    if (seq !== gridSeq) return;
    for (const f of fc.features) geometryToDisplay(f.geometry);
    const next = L.geoJSON(fc, { style: { color: '#2e9e5b', weight: 1, fillOpacity: 0, className: 'sg-intake-grid' }, interactive: false });
    if (grids) map.removeLayer(grids);
    grids = next.addTo(map);
  }
  let moveTimer = null;
  map.on('moveend', () => { clearTimeout(moveTimer); moveTimer = setTimeout(() => refreshGrids().catch(ctx.error), 250); });

  const first = (ctx.me.scope || [])[0];
  if (first) api.get('/api/v1/areas/' + first.id).then((a) => {
    const [w, s, e, n] = a.bbox;
    map.fitBounds([toDisplay(w, s), toDisplay(e, n)]);
  }).catch(() => {});

  // A named area stands for the place: a point surely inside it, in the
  // typed coordinates' datum, framed and outlined on the map.
  let areaOutline = null;
  createAreaSearch(root.querySelector('#intake-search'), ctx, async (a) => {
    const [lon, lat] = interiorPoint(a.geometry);
    const [dlat, dlon] = toDisplay(lon, lat);
    form.lon.value = dlon.toFixed(6);
    form.lat.value = dlat.toFixed(6);
    if (areaOutline) map.removeLayer(areaOutline);
    areaOutline = L.geoJSON({ type: 'Feature', properties: {}, geometry: geometryToDisplay(JSON.parse(JSON.stringify(a.geometry))) },
      { style: { color: '#ff7a00', weight: 2, fill: false, className: 'sg-found' }, interactive: false }).addTo(map);
    map.fitBounds(areaOutline.getBounds(), { maxZoom: 16 });
    schedule(0);
  }, { id: 'intake-place-search', placeholder: 'intake.place_search' });

  // 重复来电: when the operator leaves the phone field, the number's reports
  // of the last days (callers.js): once per number typed, never per keystroke.
  const history = root.querySelector('#caller-history');
  let lookedUp = '', lookupSeq = 0, lastHistory = null;
  async function showCallerHistory() {
    const phone = form.caller_phone.value.trim();
    if (phone === lookedUp) return;
    lookedUp = phone;
    const mine = ++lookupSeq;
    lastHistory = null;
    renderHistory();
    if (!mayLookUp(ctx, phone)) return;
    try {
      const r = await lookUpCaller(phone);
      if (mine !== lookupSeq) return;
      lastHistory = r;
      renderHistory();
    } catch (e) {
      if (mine !== lookupSeq) return;
      lookedUp = ''; /* a failed lookup is tried again at the next change */
      ctx.error(e);
    }
  }
  const renderHistory = () => renderCallerHistory(history, lastHistory, ctx);
  form.caller_phone.addEventListener('change', () => showCallerHistory());

  function body() {
    const b = { source: form.source.value, text: form.text.value.trim(), lon: Number(form.lon.value), lat: Number(form.lat.value) };
    if (getDisplayCrs() !== 'wgs84') b.crs = getDisplayCrs();
    const caller = {};
    if (form.caller_name.value.trim()) caller.name = form.caller_name.value.trim();
    if (form.caller_phone.value.trim()) caller.phone = form.caller_phone.value.trim();
    if (Object.keys(caller).length) b.caller = caller;
    if (form.category.value) b.category = form.category.value;
    return b;
  }
  const ready = () => form.text.value.trim() && form.lon.value.trim() && form.lat.value.trim();

  let timer = null, seq = 0, last = null;
  function schedule(ms = 500) { clearTimeout(timer); timer = setTimeout(check, ms); }

  async function check() {
    if (!ready()) return;
    const mine = ++seq;
    try {
      const r = await api.post('/api/v1/reports/check', body());
      if (mine !== seq) return;
      last = r;
      renderPreview();
    } catch (e) {
      if (mine !== seq) return;
      last = null;
      preview.innerHTML = `<h3>${t('intake.preview')}</h3><p class="error">${esc(e.message)}${e.field ? ' (' + esc(e.field) + ')' : ''}</p>`;
    }
  }

  // The time the case will have, as the operator says it to a caller: "within 5 minutes (by 09:15)".
  function within(c) {
    const s = (Date.parse(c.deadline_at) - Date.parse(c.created_at)) / 1000;
    if (!(s > 0)) return fmtTime(c.deadline_at, false);
    const d = s >= 3600 ? +(s / 3600).toFixed(1) + ' ' + t('unit.hours') : Math.round(s / 60) + ' ' + t('unit.min');
    return t('intake.within').replace('{d}', d).replace('{t}', fmtTime(c.deadline_at, false));
  }

  function renderPreview() {
    if (!last) return;
    const r = last, c = r.case, cl = r.classification;
    const cat = ctx.category(c.category);
    const pos = toDisplay(c.lon, c.lat);
    if (pin) map.removeLayer(pin);
    pin = L.marker(pos).addTo(map);
    nearbyLayer.clearLayers();
    for (const n of r.nearby) L.circleMarker(toDisplay(n.case.lon, n.case.lat), { radius: 6, color: '#d7263d' }).bindTooltip('#' + n.case.id).addTo(nearbyLayer);
    let html = `<h3>${t('intake.preview')}</h3><dl>
      <dt>${t('intake.classification')}</dt><dd id="pv-category" data-category="${esc(c.category)}">${esc(nameOf(cat) || c.category)}
        <span class="badge ${c.police ? 'police' : 'nonpolice'}">${t(c.police ? 'intake.police' : 'intake.non_police')}</span>
        <span class="badge">${label('prio', c.priority)}</span></dd>
      <dt>${t('intake.terms')}</dt><dd>${cl.terms.map(esc).join('、') || '—'} <span class="muted">(${t('intake.score')} ${cl.score})</span></dd>
      <dt>${t('intake.goes_to')}</dt><dd id="pv-org">${esc(nameOf(c.org.kind === 'department' ? (ctx.department(c.org.id) || c.org) : c.org))}</dd>
      <dt>${t('col.place')}</dt><dd>${c.areas.slice(0, 3).map((a) => esc(a.name)).join(' · ')}</dd>
      <dt>${t('intake.deadline')}</dt><dd id="pv-deadline">${esc(within(c))}</dd>`;
    if (r.would_join) html += `<dt>${t('intake.would_join')}</dt><dd><b>#${r.would_join}</b></dd>`;
    html += `</dl><h3>${t('intake.nearby')}</h3>`;
    html += r.nearby.length
      ? r.nearby.map((n) => `<div class="nearby">${caseMini(n.case, ctx).replace('</div>', ` · ${n.distance_m} m</div>`)}</div>`).join('')
      : `<p class="muted">${t('intake.no_nearby')}</p>`;
    preview.innerHTML = html;
    for (const row of preview.querySelectorAll('[data-case]')) row.addEventListener('click', () => ctx.go('board', +row.dataset.case));
  }

  async function file(divert) {
    if (!ready()) { ctx.toast(t('intake.need_place')); return; }
    const out = root.querySelector('#intake-result');
    try {
      const r = await api.post('/api/v1/reports', body());
      let c = r.case, msg = (r.joined ? t('intake.joined') : t('intake.filed')) + ` #${c.id}`;
      // The classifier may already have routed it to the chosen department:
      // then there is nothing to divert. A divert that fails leaves the
      // report filed, and the desk says so next to the error.
      if (divert && c.department !== form.department.value) {
        try {
          c = await api.post(`/api/v1/cases/${c.id}/divert`, { department: form.department.value, version: c.version });
        } catch (e) {
          out.innerHTML = `<p class="result" id="filed" data-case="${c.id}">${esc(msg)}</p>`;
          throw e;
        }
      }
      if (divert) msg += ' · ' + t('intake.diverted') + ' ' + nameOf(ctx.department(c.department) || { name_zh: c.department_zh });
      out.innerHTML = `<p class="result" id="filed" data-case="${c.id}">${esc(msg)}</p>`;
      out.querySelector('#filed').addEventListener('click', () => ctx.go('board', c.id));
      form.text.value = '';
      form.caller_name.value = '';
      form.caller_phone.value = '';
      lookedUp = '';
      lookupSeq++; /* a lookup still running was for the report just filed */
      lastHistory = null;
      renderHistory();
      form.category.value = '';
      last = null;
      preview.innerHTML = `<h3>${t('intake.preview')}</h3>`;
    } catch (e) {
      ctx.error(e);
    }
  }

  form.addEventListener('input', (e) => { if (e.target.name !== 'department' && e.target.name !== 'q') schedule(); });
  form.addEventListener('change', (e) => { if (e.target.name === 'category' || e.target.name === 'source') schedule(0); });
  root.querySelector('#check-btn').addEventListener('click', () => check());
  form.addEventListener('submit', (e) => { e.preventDefault(); file(false); });
  root.querySelector('#divert-btn').addEventListener('click', () => file(true));
  onLangChange(() => { fillSelects(); renderPreview(); renderHistory(); });

  return { map, show() { setTimeout(() => map.invalidateSize(), 0); } };
}
