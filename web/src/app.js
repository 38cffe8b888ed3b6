// app.js — the console's entry: login, the shell (navigation, language,
// settings, live status) and the four views, each created on first visit.
// One live stream (cases, units, dispatches) feeds live.js, which the views
// subscribe to.
import * as api from './api.js';
import * as live from './live.js';
import { t, applyLabels, setLang, currentLang, label, onLangChange } from './i18n.js';
import { setDisplayCrs } from './coord.js';
import { createMapView } from './map.js';
import { createIntakeView } from './intake.js';
import { createBoardView } from './board.js';
import { createDashboardView } from './dashboard.js';
import { createAlerts } from './alerts.js';

const $ = (s) => document.querySelector(s);
const SETTINGS_KEY = 'sg.map';
const DEFAULT_SETTINGS = { tiles: '', crs: 'wgs84', sound: true };

// What every view may use: the caller, the taxonomy, settings, navigation.
const ctx = {
  me: null,
  categories: [],
  departments: [],
  settings: loadSettings(),
  category(id) { return this.categories.find((c) => c.id === id); },
  department(id) { return this.departments.find((d) => d.id === id); },
  go(view, arg) { pendingArg = { view, arg }; location.hash = '#' + view; route(); },
  // A case's detail was opened: its first-priority alert has been seen.
  seen(id) { if (alerts) alerts.seen(id); },
  toast,
};
let views = {}, current = null, pendingArg = null, streamHandle = null, alerts = null;

function loadSettings() {
  try { return Object.assign({ ...DEFAULT_SETTINGS }, JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}')); }
  catch (e) { return { ...DEFAULT_SETTINGS }; }
}

function toast(msg, ms = 3000) {
  const el = $('#toast');
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, ms);
}
ctx.error = (e) => toast(t('error.generic') + ': ' + (e.message || e) + (e.field ? ' (' + t('error.field') + ' ' + e.field + ')' : ''), 5000);

const factories = { map: createMapView, intake: createIntakeView, board: createBoardView, dashboard: createDashboardView };

function route() {
  const name = (location.hash || '#map').slice(1).split('/')[0];
  const view = factories[name] ? name : 'map';
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === view);
  for (const k of Object.keys(factories)) $('#view-' + k).hidden = k !== view;
  if (!views[view]) views[view] = factories[view]($('#view-' + view), ctx);
  if (current && current !== views[view] && current.hide) current.hide();
  current = views[view];
  if (current.show) current.show(pendingArg && pendingArg.view === view ? pendingArg.arg : undefined);
  pendingArg = null;
}

async function start() {
  ctx.me = await api.get('/api/v1/me');
  const cat = await api.get('/api/v1/categories');
  ctx.categories = cat.categories;
  ctx.departments = cat.departments || [];
  $('#login').hidden = true;
  $('#shell').hidden = false;
  renderWho();
  setDisplayCrs(ctx.settings.tiles ? ctx.settings.crs : 'wgs84');
  // An analyst reads; the others act on a first-priority case at once.
  if (ctx.me.role !== 'analyst') alerts = createAlerts($('#alerts'), $('#alert-list'), ctx);
  streamHandle = api.stream((type, data) => {
    if (type === 'resync') live.resync();
    else if (!data || !data.id) return;
    else if (type.startsWith('case.')) { live.upsert(data, type); if (alerts) alerts.onEvent(type, data); }
    else if (type === 'unit.updated') live.upsertUnit(data, type);
    else if (type === 'dispatch.updated') live.upsertDispatch(data, type);
  }, (on) => {
    const el = $('#live');
    el.className = 'live ' + (on ? 'on' : 'off');
    el.dataset.i18n = on ? 'live.on' : 'live.off';
    el.textContent = t(el.dataset.i18n);
  });
  route();
}

function renderWho() {
  if (!ctx.me) return;
  const scope = (ctx.me.scope || []).map((a) => a.name).join('、');
  $('#who').textContent = ctx.me.name + ' · ' + label('role', ctx.me.role) + (scope ? ' · ' + scope : '');
}

function showLogin() {
  if (streamHandle) { streamHandle.stop(); streamHandle = null; }
  $('#shell').hidden = true;
  $('#login').hidden = false;
}

function init() {
  applyLabels();
  document.title = t('app.title');
  api.setUnauthorizedHandler(() => { sessionStorage.removeItem('sg.token'); location.reload(); });
  for (const b of document.querySelectorAll('.lang-toggle'))
    b.addEventListener('click', () => setLang(currentLang() === 'en' ? 'zh-CN' : 'en'));
  onLangChange(() => { document.title = t('app.title'); renderWho(); });
  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    $('#login-error').hidden = true;
    try {
      await api.login(f.name.value.trim(), f.password.value);
      f.password.value = '';
      await start();
    } catch (e) {
      $('#login-error').hidden = false;
    }
  });
  $('#logout').addEventListener('click', async () => { await api.logout(); location.hash = ''; location.reload(); });
  $('#settings-btn').addEventListener('click', () => {
    const f = $('#settings-form');
    f.tiles.value = ctx.settings.tiles;
    f.crs.value = ctx.settings.crs;
    f.sound.checked = !!ctx.settings.sound;
    $('#settings').showModal();
  });
  $('#settings').addEventListener('close', () => {
    if ($('#settings').returnValue !== 'save') return;
    const f = $('#settings-form');
    localStorage.setItem(SETTINGS_KEY, JSON.stringify({ tiles: f.tiles.value.trim(), crs: f.crs.value, sound: f.sound.checked }));
    location.reload(); // every layer is redrawn in the new datum
  });
  window.addEventListener('hashchange', () => { if (ctx.me) route(); });
  if (api.token()) start().catch(showLogin);
  else showLogin();
}

// For tests and operators' consoles: the live state and the charts.
window.sgConsole = { ctx, live, views: () => views, alerts: () => alerts };
init();
