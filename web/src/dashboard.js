// dashboard.js — the situation dashboard (大屏), for a 1920x1080 wall screen
// and a laptop alike: today's totals and diversion share, cases by category
// against a year and a month before, a district choropleth and the trend
// over twelve months, all from /api/v1/stats within the caller's scope; and
// response times per district (per station below the city) from
// /api/v1/stats/response: time to dispatch, time to arrive, and the share
// that arrived within the target of its priority.
// Refreshes every minute and shortly after live case and dispatch events.
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
      <div class="panel p-resp"><h3><span id="resp-title"></span> <span class="muted" id="resp-total"></span></h3><div class="chart" id="chart-response"></div></div>
    </div>`;
  applyLabels(root);
  const charts = {
    category: echarts.init(root.querySelector('#chart-category'), 'dark', { renderer: 'canvas' }),
    district: echarts.init(root.querySelector('#chart-district'), 'dark'),
    trend: echarts.init(root.querySelector('#chart-trend'), 'dark'),
    response: echarts.init(root.querySelector('#chart-response'), 'dark'),
  };
  const data = { today: null, yoy: null, mom: null, district: null, months: [], response: null };
  // Per district for a city-wide account; below the city the districts are
  // not in scope (their rows are left out), so per station.
  const respBy = (ctx.me.scope || []).some((a) => a.kind === 'city') ? 'district' : 'station';
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
    const [resp, td, yoy, mom, dist, ...ms] = await Promise.all([
      api.get('/api/v1/stats/response' + api.qs({ by: respBy })), // the server's last 30 days
      st({ group: 'police', from: today, to: today }),
      st({ group: 'category', from: from30, to: today, compare: 'yoy' }),
      st({ group: 'category', from: from30, to: today, compare: 'mom' }),
      st({ group: 'district', from: from30, to: today }),
      ...months.map((m) => st({ group: 'police', from: m.from, to: m.to })),
    ]);
    await ensureMap();
    Object.assign(data, { today: td, yoy, mom, district: dist, months: ms.map((r, i) => ({ ...months[i], r })), response: resp });
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
      series: [{ type: 'bar', name: t('dash.current'), barMaxWidth: 26, data: top.map((g) => g.value), itemStyle: { color: '#3ba0ff' },
        label: { show: true, position: 'right', formatter: (p) => `${p.value}  ${t('dash.yoy')} ${pct(top[p.dataIndex].change_pct)} · ${t('dash.mom')} ${pct(momOf(top[p.dataIndex].key))}` } }],
    }, true);

    const dvals = data.district.groups.map((g) => ({ name: g.key, value: g.value }));
    const max = Math.max(1, ...dvals.map((d) => d.value));
    charts.district.setOption({
      backgroundColor: 'transparent',
      tooltip: { formatter: (p) => `${districtNames[p.name] || p.name}: ${p.value ?? 0}` },
      visualMap: { min: 0, max, left: 10, bottom: 10, calculable: true, inRange: { color: ['#163a5c', '#2f7fc1', '#f4d35e', '#d7263d'] }, textStyle: { color: '#9fb3c8' } },
      // Small districts in the centre would print over each other: a label that does not fit is left out.
      series: [{ type: 'map', map: 'sg-districts', roam: true, zoom: 1.15, data: dvals, labelLayout: { hideOverlap: true },
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
        { name: t('dash.police'), type: 'bar', stack: 'all', barMaxWidth: 48, data: data.months.map((m) => group(m.r, 'police')), itemStyle: { color: '#3ba0ff' } },
        { name: t('dash.diverted'), type: 'bar', stack: 'all', data: data.months.map((m) => group(m.r, 'non_police')), itemStyle: { color: '#2e9e5b' } },
      ],
    }, true);
    renderResponse();
  }

  // Minutes with two decimals and a percentage with one: what the chart holds.
  const minutes = (s) => +(s / 60).toFixed(2);
  const share = (x) => +(x * 100).toFixed(1);

  function renderResponse() {
    const r = data.response;
    root.querySelector('#resp-title').textContent = t('dash.response') + ' · ' + t('dash.response_by.' + respBy);
    if (!r) return;
    const rows = r.rows, tot = r.total;
    root.querySelector('#resp-total').textContent = tot.cases
      ? `${t('dash.resp_total')}: ${t('dash.resp_cases')} ${tot.cases} · ${t('dash.resp_dispatch')} ${minutes(tot.avg_dispatch_s)} ${t('unit.min')} · ` +
        `${t('dash.resp_arrive')} ${tot.arrived ? minutes(tot.avg_arrive_s) + ' ' + t('unit.min') : '—'} · ${t('dash.resp_share')} ${share(tot.share_within_target)}%`
      : t('dash.resp_none');
    const names = rows.map((x) => x.area.name);
    charts.response.setOption({
      backgroundColor: 'transparent',
      tooltip: { trigger: 'axis', formatter: (ps) => { const x = rows[ps[0].dataIndex];
        return `${x.area.name}<br>${t('dash.resp_cases')}: ${x.cases} · ${t('dash.resp_arrived')}: ${x.arrived}<br>` +
          ps.map((p) => `${p.marker}${p.seriesName}: ${p.value}${p.seriesIndex === 2 ? '%' : ' ' + t('unit.min')}`).join('<br>'); } },
      legend: { data: [t('dash.resp_dispatch'), t('dash.resp_arrive'), t('dash.resp_share')], textStyle: { color: '#9fb3c8' } },
      grid: { left: 50, right: 50, top: 30, bottom: 40 },
      xAxis: { type: 'category', data: names, axisLabel: { interval: 0, rotate: names.length > 8 ? 30 : 0 } },
      yAxis: [{ type: 'value', name: t('unit.min') }, { type: 'value', name: '%', min: 0, max: 100, splitLine: { show: false } }],
      series: [
        { name: t('dash.resp_dispatch'), type: 'bar', barMaxWidth: 36, data: rows.map((x) => minutes(x.avg_dispatch_s)), itemStyle: { color: '#3ba0ff' } },
        { name: t('dash.resp_arrive'), type: 'bar', barMaxWidth: 36, data: rows.map((x) => (x.arrived ? minutes(x.avg_arrive_s) : null)), itemStyle: { color: '#f4d35e' } },
        { name: t('dash.resp_share'), type: 'line', yAxisIndex: 1, data: rows.map((x) => share(x.share_within_target)), itemStyle: { color: '#2e9e5b' },
          label: { show: true, formatter: '{c}%', color: '#dfe9f3' } },
      ],
    }, true);
  }

  function load() {
    if (!loading) loading = refresh().catch(ctx.error).finally(() => { loading = null; });
    return loading;
  }
  let soon = null;
  const later = (kind) => {
    if (kind === 'loaded' || root.hidden) return;
    clearTimeout(soon);
    soon = setTimeout(load, 3000);
  };
  live.subscribe(later);
  live.subscribeDispatches(later);
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
