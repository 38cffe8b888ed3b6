// dashboard.js — the situation dashboard (大屏), for a 1920x1080 wall screen
// and a laptop alike: today's totals and diversion share, cases by category
// against a year and a month before, a district choropleth and the trend
// over twelve months, all from /api/v1/stats within the caller's scope.
// Refreshes every minute and shortly after live case events.
import * as api from './api.js';
import * as live from './live.js';
import { t, nameOf, onLangChange, applyLabels, fmtTime } from './i18n.js';

const DAY = 86400e3;
// A local day (China Standard Time, as the statistics count) as YYYY-MM-DD.
function cstDay(ms) { return new Date(ms + 8 * 3600e3).toISOString().slice(0, 10); }
function monthRange(back) {
  const now = new Date(Date.now() + 8 * 3600e3);
  const y = now.getUTCFullYear(), m = now.getUTCMonth() - back;
  const first = new Date(Date.UTC(y, m, 1)), last = new Date(Date.UTC(y, m + 1, 0));
  const today = cstDay(Date.now());
  const to = last.toISOString().slice(0, 10);
  return { from: first.toISOString().slice(0, 10), to: to > today ? today : to, label: first.toISOString().slice(0, 7) };
}
function pct(v) { return v === null || v === undefined ? '—' : (v > 0 ? '+' : '') + v.toFixed(1) + '%'; }
function dur(s) {
  if (!s) return '—';
  return s >= 3600 ? (s / 3600).toFixed(1) + ' ' + t('unit.hours') : Math.round(s / 60) + ' ' + t('unit.min');
}

export function createDashboardView(root, ctx) {
  root.innerHTML = `
    <div class="dash">
      <h2><span data-i18n="dash.title"></span><span class="muted" style="font-size:13px"><span data-i18n="dash.updated"></span> <span id="dash-at">—</span></span></h2>
      <div class="kpi"><div class="v" id="kpi-total">—</div><div class="l" data-i18n="dash.today"></div></div>
      <div class="kpi"><div class="v" id="kpi-police">—</div><div class="l" data-i18n="dash.police"></div></div>
      <div class="kpi"><div class="v" id="kpi-diverted">—</div><div class="l" data-i18n="dash.diverted"></div></div>
      <div class="kpi"><div class="v" id="kpi-share">—</div><div class="l" data-i18n="dash.share"></div></div>
      <div class="kpi"><div class="v" id="kpi-resolved">—</div><div class="l" data-i18n="dash.resolved"></div></div>
      <div class="kpi"><div class="v" id="kpi-meanres">—</div><div class="l" data-i18n="dash.mean_res"></div></div>
      <div class="panel p-cat"><h3 data-i18n="dash.by_category"></h3><div class="chart" id="chart-category"></div></div>
      <div class="panel p-dist"><h3 data-i18n="dash.by_district"></h3><div class="chart" id="chart-district"></div></div>
      <div class="panel p-trend"><h3 data-i18n="dash.trend"></h3><div class="chart" id="chart-trend"></div></div>
    </div>`;
  applyLabels(root);
  const charts = {
    category: echarts.init(root.querySelector('#chart-category'), 'dark', { renderer: 'canvas' }),
    district: echarts.init(root.querySelector('#chart-district'), 'dark'),
    trend: echarts.init(root.querySelector('#chart-trend'), 'dark'),
  };
  const data = { today: null, yoy: null, mom: null, district: null, months: [] };
  let mapReady = null, districtNames = {}, loading = null;

  // The district outlines for the choropleth, registered once.
  function ensureMap() {
    if (!mapReady) mapReady = api.get('/api/v1/areas' + api.qs({ kind: 'district', format: 'geojson', simplify: 50 })).then((fc) => {
      for (const f of fc.features) { districtNames[f.properties.code] = f.properties.name; f.properties.name = f.properties.code; }
      echarts.registerMap('sg-districts', fc);
    });
    return mapReady;
  }

  async function refresh() {
    const today = cstDay(Date.now()), from30 = cstDay(Date.now() - 29 * DAY);
    const st = (p) => api.get('/api/v1/stats' + api.qs({ measure: 'cases', ...p }));
    const months = Array.from({ length: 12 }, (_, i) => monthRange(11 - i));
    const [td, yoy, mom, dist, ...ms] = await Promise.all([
      st({ group: 'police', from: today, to: today }),
      st({ group: 'category', from: from30, to: today, compare: 'yoy' }),
      st({ group: 'category', from: from30, to: today, compare: 'mom' }),
      st({ group: 'district', from: from30, to: today }),
      ...months.map((m) => st({ group: 'police', from: m.from, to: m.to })),
    ]);
    await ensureMap();
    Object.assign(data, { today: td, yoy, mom, district: dist, months: ms.map((r, i) => ({ ...months[i], r })) });
    render();
    root.querySelector('#dash-at').textContent = fmtTime(new Date().toISOString(), false);
  }

  function group(r, key) { const g = r.groups.find((x) => x.key === key); return g ? g.value : 0; }

  function render() {
    if (!data.today) return;
    const td = data.today, police = group(td, 'police'), nonp = group(td, 'non_police');
    root.querySelector('#kpi-total').textContent = td.total.value;
    root.querySelector('#kpi-police').textContent = police;
    root.querySelector('#kpi-diverted').textContent = nonp;
    root.querySelector('#kpi-share').textContent = td.total.value ? (nonp * 100 / td.total.value).toFixed(1) + '%' : '—';
    root.querySelector('#kpi-resolved').textContent = td.resolved;
    root.querySelector('#kpi-meanres').textContent = dur(td.mean_resolution_s);

    const top = [...data.yoy.groups].sort((a, b) => b.value - a.value).slice(0, 12).reverse();
    const momOf = (k) => (data.mom.groups.find((g) => g.key === k) || {}).change_pct;
    const catName = (k) => nameOf(ctx.category(k)) || k;
    charts.category.setOption({
      backgroundColor: 'transparent',
      tooltip: { trigger: 'axis', formatter: (ps) => { const k = top[ps[0].dataIndex].key; return `${catName(k)}<br>${t('dash.current')}: ${top[ps[0].dataIndex].value}<br>${t('dash.yoy')}: ${pct(top[ps[0].dataIndex].change_pct)}<br>${t('dash.mom')}: ${pct(momOf(k))}`; } },
      grid: { left: 110, right: 210, top: 10, bottom: 20 },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', data: top.map((g) => catName(g.key)) },
      series: [{ type: 'bar', name: t('dash.current'), data: top.map((g) => g.value), itemStyle: { color: '#3ba0ff' },
        label: { show: true, position: 'right', formatter: (p) => `${p.value}  ${t('dash.yoy')} ${pct(top[p.dataIndex].change_pct)} · ${t('dash.mom')} ${pct(momOf(top[p.dataIndex].key))}` } }],
    }, true);

    const dvals = data.district.groups.map((g) => ({ name: g.key, value: g.value }));
    const max = Math.max(1, ...dvals.map((d) => d.value));
    charts.district.setOption({
      backgroundColor: 'transparent',
      tooltip: { formatter: (p) => `${districtNames[p.name] || p.name}: ${p.value ?? 0}` },
      visualMap: { min: 0, max, left: 10, bottom: 10, calculable: true, inRange: { color: ['#163a5c', '#2f7fc1', '#f4d35e', '#d7263d'] }, textStyle: { color: '#9fb3c8' } },
      series: [{ type: 'map', map: 'sg-districts', roam: true, zoom: 1.15, data: dvals,
        label: { show: true, color: '#fff', fontSize: 10, formatter: (p) => districtNames[p.name] || p.name },
        itemStyle: { borderColor: '#0d1b2a' } }],
    }, true);

    charts.trend.setOption({
      backgroundColor: 'transparent',
      tooltip: { trigger: 'axis' },
      legend: { data: [t('dash.police'), t('dash.diverted')], textStyle: { color: '#9fb3c8' } },
      grid: { left: 50, right: 20, top: 30, bottom: 30 },
      xAxis: { type: 'category', data: data.months.map((m) => m.label) },
      yAxis: { type: 'value' },
      series: [
        { name: t('dash.police'), type: 'bar', stack: 'all', data: data.months.map((m) => group(m.r, 'police')), itemStyle: { color: '#3ba0ff' } },
        { name: t('dash.diverted'), type: 'bar', stack: 'all', data: data.months.map((m) => group(m.r, 'non_police')), itemStyle: { color: '#2e9e5b' } },
      ],
    }, true);
  }

  function load() {
    if (!loading) loading = refresh().catch(ctx.error).finally(() => { loading = null; });
    return loading;
  }
  let soon = null;
  live.subscribe((kind) => {
    if (kind === 'loaded' || root.hidden) return;
    clearTimeout(soon);
    soon = setTimeout(load, 3000);
  });
  setInterval(() => { if (!root.hidden) load(); }, 60000);
  window.addEventListener('resize', () => { for (const c of Object.values(charts)) c.resize(); });
  onLangChange(render);

  return {
    charts,
    data,
    load,
    show() { load(); setTimeout(() => { for (const c of Object.values(charts)) c.resize(); }, 0); },
  };
}
