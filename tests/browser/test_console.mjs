// test_console.mjs — the command-centre console in a real browser (Debian's
// chromium, headless): log in; file a report at the intake desk and see it
// reach the board and the map of other consoles through the live stream
// within two seconds; move it on and divert it; file-and-divert in one
// click; watch a deadline count down and an escalation stand out; check the
// dashboard's charts hold the numbers the statistics API gives; switch
// language (remembered); and see that a station officer's console shows
// nothing outside the station.
import path from 'node:path';
import { Suite, Server, openBrowser, waitFor, runScenario, consoleLogin, gotoView, ROOT } from './harness.mjs';

const s = new Suite('browser');
const P = { lon: 120.6285, lat: 31.3237 }; // 山塘社区, 虎丘派出所 (姑苏区)
const LIVE_MS = 2000;

// Both dictionaries label the same keys, none left empty.
const zh = (await import(path.join(ROOT, 'web/src/i18n/zh-CN.js'))).default;
const en = (await import(path.join(ROOT, 'web/src/i18n/en.js'))).default;
const missing = Object.keys(zh).filter((k) => !(k in en)).concat(Object.keys(en).filter((k) => !(k in zh)));
s.check(missing.length === 0, 'zh-CN and English label the same keys', missing);
s.check(Object.values(zh).concat(Object.values(en)).every((v) => typeof v === 'string' && v.length > 0), 'no label is empty');

const { browser, errors, newPage } = await openBrowser(s);
const srv = await new Server(['--test-clock']).start();

await runScenario(s, browser, srv, errors, async () => {
  const admin = await srv.login('admin', 'safegrid-admin');

  // --- login: a wrong password is refused, the right one opens the console in Chinese
  const desk = await newPage();
  await desk.goto(srv.base + '/');
  await desk.fill('#login-form input[name=name]', 'admin');
  await desk.fill('#login-form input[name=password]', 'wrong');
  await desk.click('#login-form button[type=submit]');
  await desk.waitForSelector('#login-error:not([hidden])');
  s.check(await desk.isVisible('#login-error'), 'a wrong password shows the error');
  await consoleLogin(desk, srv.base, 'admin', 'safegrid-admin');
  s.check((await desk.textContent('#nav a[data-view=map]')) === '指挥地图', 'the console opens in Chinese');
  s.check((await desk.getAttribute('html', 'lang')) === 'zh-CN', 'the page says it is zh-CN');

  // Two more consoles watch: one on the board, one on the map.
  const board = await newPage();
  await consoleLogin(board, srv.base, 'commander', 'safegrid-demo');
  await gotoView(board, 'board');
  await board.waitForSelector('#filters');
  const mapPage = await newPage();
  await consoleLogin(mapPage, srv.base, 'commander', 'safegrid-demo');
  for (const p of [board, mapPage, desk])
    s.check(await waitFor(() => p.$('#live.on')), 'the live stream connects');
  await mapPage.waitForSelector('#cmd-map path', { timeout: 10000 });
  s.check((await mapPage.$$('#cmd-map path')).length > 5, 'the command map draws the districts and stations');

  // --- intake: the preview before saving
  await gotoView(desk, 'intake');
  await desk.fill('#intake-form textarea[name=text]', '小区门口有人打架，有人流血了');
  await desk.fill('#intake-form input[name=caller_name]', '张三');
  await desk.fill('#intake-form input[name=caller_phone]', '13812345678');
  await desk.fill('#intake-form input[name=lon]', String(P.lon));
  await desk.fill('#intake-form input[name=lat]', String(P.lat));
  await desk.click('#check-btn');
  const expect = (await srv.post('/api/v1/reports/check', { source: '110', text: '小区门口有人打架，有人流血了', ...P }, admin)).body;
  await desk.waitForSelector('#pv-category', { timeout: 5000 });
  s.check((await desk.getAttribute('#pv-category', 'data-category')) === expect.classification.category,
    'the preview shows the classification', await desk.textContent('#pv-category'));
  s.check((await desk.textContent('#pv-org')).includes(expect.case.org.name), 'the preview names the station it goes to',
    [await desk.textContent('#pv-org'), expect.case.org.name]);
  s.check((await desk.textContent('#preview')).includes('500'), 'no open case nearby yet');
  const mins = Math.round((Date.parse(expect.case.deadline_at) - Date.parse(expect.case.created_at)) / 60000);
  s.check(mins > 0 && (await desk.textContent('#pv-deadline')).startsWith(mins + ' 分钟内'),
    'the preview gives the deadline as the time the case will have', [await desk.textContent('#pv-deadline'), mins]);

  // --- file it: it reaches the other consoles through the stream within 2 s
  const t0 = Date.now();
  await desk.click('#file-btn');
  await desk.waitForSelector('#filed');
  const id = Number(await desk.getAttribute('#filed', 'data-case'));
  const onBoard = await waitFor(() => board.$(`#rows tr[data-id="${id}"]`), LIVE_MS + 1000, 20);
  const tBoard = Date.now() - t0;
  const onMap = await waitFor(() => mapPage.$(`path.sg-case-${id}`), LIVE_MS + 1000, 20);
  const tMap = Date.now() - t0;
  console.log(`live stream: filed -> board ${tBoard} ms, -> map ${tMap} ms`);
  s.check(id > 0 && onBoard && tBoard <= LIVE_MS, `the case is on the board within 2 s (${tBoard} ms)`);
  s.check(onMap && tMap <= LIVE_MS, `the case is on the map within 2 s (${tMap} ms)`);
  s.check(await mapPage.$(`path.sg-case-${id}.sg-state-new`), 'the map marker shows the state');

  // The preview now offers the open case as a duplicate and a join.
  await desk.fill('#intake-form textarea[name=text]', '门口还在打架');
  await desk.click('#check-btn');
  s.check(await waitFor(async () => (await desk.textContent('#preview')).includes('#' + id)),
    'a second report at the place shows the open case nearby');

  // --- the board: detail, deadline counting down, transition, divert
  await board.click(`#rows tr[data-id="${id}"]`);
  await board.waitForSelector('#d-status');
  const dl1 = await board.textContent(`#rows td.dl[data-id="${id}"]`);
  // A loaded machine may delay a one-second tick: allow a few.
  const dl2 = await waitFor(async () => { const v = await board.textContent(`#rows td.dl[data-id="${id}"]`); return v !== dl1 && v; }, 3500);
  s.check(/\d:\d\d/.test(dl1) && dl1 !== dl2, 'the deadline counts down', [dl1, dl2]);
  // A time left, not a time of day: "剩余 …" (and days spelled out past 24 h).
  s.check(/^剩余 (\d+天 )?\d+:\d\d(:\d\d)?$/.test(dl1.trim()), 'the deadline reads as a time left', dl1);
  s.check((await board.textContent('.detail')).includes('138****') === false &&
    (await board.textContent('.detail')).includes('13812345678'), 'a commander reads the caller unmasked');
  await board.click('#transitions button[data-to=dispatched]');
  await board.waitForSelector('#d-status[data-status=dispatched]');
  let c = (await srv.get('/api/v1/cases/' + id, admin)).body;
  s.check(c.status === 'dispatched', 'the transition is stored', c.status);
  s.check(await waitFor(() => mapPage.$(`path.sg-case-${id}.sg-state-dispatched`), LIVE_MS),
    'the map follows the transition live');
  await board.selectOption('#divert-dept', 'city_management');
  await board.click('#divert');
  await board.waitForFunction(() => document.querySelector('#d-org') && document.querySelector('#d-org').textContent.includes('城市管理'), null, { polling: 100 });
  c = (await srv.get('/api/v1/cases/' + id, admin)).body;
  s.check(c.department === 'city_management' && c.type === 'referral', 'the diversion is stored', [c.department, c.type]);
  s.check((await board.$$('#history tr')).length - 1 === c.history.length && c.history.length >= 3,
    'the detail shows the full history', c.history.length);

  // --- one click at the intake desk: file and divert
  const smoky = { source: '110', text: '楼下饭店油烟很大，噪声扰民', lon: P.lon + 0.01, lat: P.lat };
  // Somewhere else than the routing table sends it, so that the diversion shows.
  const routed = (await srv.post('/api/v1/reports/check', smoky, admin)).body.case.department;
  const target = routed === 'ecology_environment' ? 'city_management' : 'ecology_environment';
  await desk.fill('#intake-form textarea[name=text]', smoky.text);
  await desk.fill('#intake-form input[name=lon]', String(smoky.lon));
  await desk.selectOption('#intake-form select[name=department]', target);
  await desk.click('#divert-btn');
  await desk.waitForFunction((old) => { const f = document.querySelector('#filed'); return f && +f.dataset.case !== old; }, id, { polling: 100 });
  const id2 = Number(await desk.getAttribute('#filed', 'data-case'));
  const c2 = (await srv.get('/api/v1/cases/' + id2, admin)).body;
  s.check(c2.department === target && routed !== target && !c2.police, 'file-and-divert sends it to the chosen department', [routed, c2.department]);

  // --- an escalation stands out (the server's test clock passes the deadline)
  await desk.fill('#intake-form textarea[name=text]', '有人持刀抢劫');
  await desk.fill('#intake-form input[name=lon]', String(P.lon - 0.01));
  await desk.click('#file-btn');
  await desk.waitForFunction((old) => { const f = document.querySelector('#filed'); return f && +f.dataset.case !== old; }, id2, { polling: 100 });
  const id3 = Number(await desk.getAttribute('#filed', 'data-case'));
  await waitFor(() => board.$(`#rows tr[data-id="${id3}"]`), 3000);
  s.check(!(await board.$(`#rows tr.escalated[data-id="${id3}"]`)), 'a fresh case is not highlighted');
  await srv.post('/api/v1/admin/clock', { advance_s: 3600 }, admin);
  s.check(await waitFor(() => board.$(`#rows tr.escalated[data-id="${id3}"]`), 5000), 'an escalated case is highlighted on the board');

  // --- the dashboard holds the API's numbers
  await gotoView(board, 'dashboard');
  await board.waitForFunction(() => document.querySelector('#kpi-total').textContent !== '—', null, { timeout: 10000, polling: 100 });
  const shown = await board.evaluate(async () => {
    const v = window.sgConsole.views().dashboard;
    await v.load();
    const opt = (k) => v.charts[k].getOption();
    return {
      total: document.querySelector('#kpi-total').textContent, police: document.querySelector('#kpi-police').textContent,
      diverted: document.querySelector('#kpi-diverted').textContent, share: document.querySelector('#kpi-share').textContent,
      cat: opt('category').series[0].data, catNames: opt('category').yAxis[0].data,
      dist: opt('district').series[0].data, trendP: opt('trend').series[0].data, trendN: opt('trend').series[1].data,
      months: opt('trend').xAxis[0].data,
    };
  });
  const cst = (ms) => new Date(ms + 8 * 3600e3).toISOString().slice(0, 10);
  const now = Date.now() + 3600e3 * 0; // the browser's clock: the dashboard asks by its own day
  const today = cst(now), from30 = cst(now - 29 * 86400e3);
  const st = async (q) => (await srv.get('/api/v1/stats?' + new URLSearchParams({ measure: 'cases', ...q }), admin)).body;
  const commander = await srv.login('commander', 'safegrid-demo');
  const stc = async (q) => (await srv.get('/api/v1/stats?' + new URLSearchParams({ measure: 'cases', ...q }), commander)).body;
  const td = await stc({ group: 'police', from: today, to: today });
  const g = (r, k) => (r.groups.find((x) => x.key === k) || { value: 0 }).value;
  s.check(Number(shown.total) === td.total.value && td.total.value >= 3, 'the total today is the API\'s', [shown.total, td.total.value]);
  s.check(Number(shown.police) === g(td, 'police') && Number(shown.diverted) === g(td, 'non_police'),
    'police and diverted today are the API\'s', [shown.police, shown.diverted, td.groups]);
  s.check(shown.share === (g(td, 'non_police') * 100 / td.total.value).toFixed(1) + '%', 'the diversion share follows', shown.share);
  const yoy = await stc({ group: 'category', from: from30, to: today, compare: 'yoy' });
  const top = [...yoy.groups].sort((a, b) => b.value - a.value).slice(0, 12).reverse();
  s.check(JSON.stringify(shown.cat) === JSON.stringify(top.map((x) => x.value)), 'the category chart holds the API\'s counts', [shown.cat, top]);
  const dist = await stc({ group: 'district', from: from30, to: today });
  s.check(JSON.stringify(shown.dist.map((d) => [d.name, d.value])) === JSON.stringify(dist.groups.map((x) => [x.key, x.value])),
    'the district choropleth holds the API\'s counts', [shown.dist, dist.groups]);
  const lastMonth = shown.months[shown.months.length - 1];
  const mr = await stc({ group: 'police', from: lastMonth + '-01', to: today });
  s.check(shown.months.length === 12 && shown.trendP[11] === g(mr, 'police') && shown.trendN[11] === g(mr, 'non_police'),
    'the trend\'s current month is the API\'s', [shown.trendP[11], shown.trendN[11], mr.groups]);

  // --- language: English by the toggle, remembered, and back
  await desk.click('#lang-btn');
  s.check((await desk.textContent('#nav a[data-view=map]')) === 'Command map' && (await desk.getAttribute('html', 'lang')) === 'en',
    'the toggle switches to English');
  s.check((await desk.textContent('#intake-form button#file-btn')) === 'File', 'the intake desk is relabelled');
  const raw = await desk.evaluate(() => [...document.querySelectorAll('[data-i18n]')].filter((e) => e.textContent === e.dataset.i18n).map((e) => e.dataset.i18n));
  s.check(raw.length === 0, 'no label shows its key', raw);
  await desk.reload();
  await desk.waitForSelector('#shell:not([hidden])');
  s.check((await desk.textContent('#nav a[data-view=board]')) === 'Case board', 'English is remembered across a reload');
  await desk.click('#lang-btn');
  s.check((await desk.textContent('#nav a[data-view=board]')) === '警情/工单', 'and switches back to Chinese');

  // --- a GCJ-02 base map (Amap-style): markers are shifted into its datum
  const amap = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  await amap.addInitScript((base) => localStorage.setItem('sg.map', JSON.stringify(
    { tiles: base + '/assets/images/layers.png?z={z}&x={x}&y={y}', crs: 'gcj02' })), srv.base);
  const gp = await amap.newPage();
  gp.on('pageerror', (e) => errors.push(e.message));
  await consoleLogin(gp, srv.base, 'admin', 'safegrid-admin');
  await gp.waitForSelector(`path.sg-case-${id}`, { timeout: 10000 });
  s.check(await gp.$('img.leaflet-tile'), 'the configured tiles are drawn');
  const shownAt = await gp.evaluate((cid) => window.sgConsole.views().map.markers.get(cid).getLatLng(), id);
  const back = (await srv.get(`/api/v1/locate?lon=${shownAt.lng}&lat=${shownAt.lat}&crs=gcj02`, admin)).body.point;
  const caseNow = (await srv.get('/api/v1/cases/' + id, admin)).body;
  const offM = Math.hypot(shownAt.lng - caseNow.lon, shownAt.lat - caseNow.lat) * 111000;
  s.check(Math.abs(back.lon - caseNow.lon) < 1e-6 && Math.abs(back.lat - caseNow.lat) < 1e-6 && offM > 100,
    `the marker sits at the case's GCJ-02 position (${offM.toFixed(0)} m from WGS-84), as the server converts it`, [shownAt, back, caseNow.lon, caseNow.lat]);
  await amap.close();

  // --- a station officer sees nothing outside the station
  const officer = await srv.login('officer', 'safegrid-demo');
  const me = (await srv.get('/api/v1/me', officer)).body;
  const station = me.scope[0];
  const outside = (await srv.get(`/api/v1/locate?lon=${P.lon}&lat=${P.lat}`, admin)).body.areas.find((a) => a.kind === 'station');
  s.check(station.kind === 'station' && outside.id !== station.id, 'the first case lies outside the officer\'s station');
  // a case inside the station, filed by the commander
  const grids = (await srv.get(`/api/v1/areas/${station.id}/children?kind=police_grid`, admin)).body.areas;
  let inside = null;
  for (const gr of grids) {
    const [w, so, e, n] = gr.bbox;
    const pt = { lon: (w + e) / 2, lat: (so + n) / 2 };
    const loc = (await srv.get(`/api/v1/locate?lon=${pt.lon}&lat=${pt.lat}`, admin)).body;
    if (loc.areas.some((a) => a.id === station.id)) { inside = pt; break; }
  }
  const inCase = (await srv.post('/api/v1/reports', { source: '110', text: '电动车被偷了', ...inside }, admin)).body.case;
  const off = await newPage();
  await consoleLogin(off, srv.base, 'officer', 'safegrid-demo');
  await off.waitForSelector(`path.sg-case-${inCase.id}`, { timeout: 10000 });
  const seen = await off.evaluate(() => window.sgConsole.live.allCases().map((c) => ({ id: c.id, areas: c.areas.map((a) => a.id) })));
  s.check(seen.length >= 1 && seen.every((c) => c.areas.includes(station.id)), 'the officer\'s map holds only the station\'s cases', seen);
  s.check(!(await off.$(`path.sg-case-${id}`)) && !(await off.$(`path.sg-case-${id3}`)), 'cases elsewhere are not on the officer\'s map');
  await gotoView(off, 'board');
  await off.waitForSelector(`#rows tr[data-id="${inCase.id}"]`);
  const rows = await off.$$eval('#rows tr[data-id]', (trs) => trs.map((tr) => +tr.dataset.id));
  s.check(rows.length >= 1 && !rows.includes(id) && !rows.includes(id2) && !rows.includes(id3), 'the officer\'s board lists only the station\'s cases', rows);
  const drawn = await off.evaluate(() => window.sgConsole.views().map.map);
  s.check(drawn !== undefined, 'the officer\'s map is up');
  const areas = (await srv.get('/api/v1/areas?kind=station&format=geojson', officer)).body.features;
  s.check(areas.length === 1 && areas[0].id === station.id, 'the officer\'s station layer is the station alone');
  // a live event elsewhere does not reach the officer
  const late = (await srv.post('/api/v1/reports', { source: '110', text: '有人打架', lon: P.lon, lat: P.lat + 0.002 }, admin)).body.case;
  await off.waitForTimeout(1000);
  s.check(!(await off.$(`#rows tr[data-id="${late.id}"]`)), 'a case elsewhere never reaches the officer\'s board live');
  // the intake desk refuses a place outside the station
  await gotoView(off, 'intake');
  await off.fill('#intake-form textarea[name=text]', '有人打架');
  await off.fill('#intake-form input[name=lon]', String(P.lon));
  await off.fill('#intake-form input[name=lat]', String(P.lat));
  await off.click('#check-btn');
  s.check(await waitFor(async () => (await off.textContent('#preview')).includes('lon')), 'a place outside the station is refused at intake');

  // --- a grid worker reads callers masked
  const gw = await newPage();
  await consoleLogin(gw, srv.base, 'admin', 'safegrid-admin');
  await gw.goto(srv.base + '/#board');
  await gw.waitForSelector(`#rows tr[data-id="${id}"]`);
  await gw.click(`#rows tr[data-id="${id}"]`);
  await gw.waitForSelector('.detail .caller');
  s.check((await gw.textContent('.detail .caller')).includes('13812345678'), 'an admin reads the caller in full');
  const ana = await newPage();
  await consoleLogin(ana, srv.base, 'analyst', 'safegrid-demo');
  await ana.goto(srv.base + '/#board');
  await ana.waitForSelector(`#rows tr[data-id="${id}"]`);
  await ana.click(`#rows tr[data-id="${id}"]`);
  await ana.waitForSelector('.detail .caller');
  const masked = await ana.textContent('.detail .caller');
  s.check(masked.includes('138****5678') && masked.includes('张*') && !masked.includes('13812345678'),
    'an analyst reads the caller masked', masked);
  s.check(!(await ana.$('#transitions')), 'an analyst gets no transition buttons');

  // --- names are text, never markup (an admin may rename any area)
  const grid = (await srv.get(`/api/v1/locate?lon=${P.lon}&lat=${P.lat}`, admin)).body.areas.find((a) => a.kind === 'gov_grid');
  const evil = '<img src=x onerror="window.__sgxss=1">网格';
  await srv.call('PATCH', '/api/v1/areas/' + grid.id, { name: evil }, admin);
  await gotoView(desk, 'map');
  await desk.evaluate((p) => window.sgConsole.views().map.showPlace(L.latLng(p.lat, p.lon)), P);
  await desk.waitForSelector('#place .areas-list');
  s.check((await desk.textContent('#place .areas-list')).includes(evil) && !(await desk.$('#place img')) &&
    !(await desk.evaluate(() => window.__sgxss)), 'an area name with markup is shown as text');
});
