// test_finding.mjs — how an operator finds things on the console, in a real
// browser: an area by name or code on the command map (the server's search,
// framed and outlined, with the place panel of a point inside it), a case by
// its number on the board (also one outside the caller's jurisdiction, which
// reads as not found), and first-priority cases arriving on the live stream
// (the header's alert, counted, opened to the case's detail, a tone when the
// settings ask for one; none for a lower priority, none for an analyst).
import { Suite, Server, openBrowser, waitFor, runScenario, consoleLogin, gotoView } from './harness.mjs';

const s = new Suite('browser-finding');
const P = { lon: 120.6285, lat: 31.3237 }; // 山塘社区, 虎丘派出所 (姑苏区)
const LIVE_MS = 2000;

const { browser, errors, newPage } = await openBrowser(s);
const srv = await new Server().start();

await runScenario(s, browser, srv, errors, async () => {
  const admin = await srv.login('admin', 'safegrid-admin');
  const officer = await srv.login('officer', 'safegrid-demo');

  // --- the command map's area search is the server's
  const page = await newPage();
  await consoleLogin(page, srv.base, 'commander', 'safegrid-demo');
  await page.waitForSelector('#cmd-map path', { timeout: 10000 });
  await page.fill('#place-search input[name=q]', '山塘');
  const want = (await srv.get('/api/v1/areas?limit=20&q=' + encodeURIComponent('山塘'), admin)).body.areas;
  const hitNames = () => page.$$eval('#place-search-hits .hit', (hs) => hs.map((h) => h.textContent));
  const shown = await waitFor(async () => { const h = await hitNames(); return h.length === want.length && h; }, 5000);
  s.check(want.length > 1 && shown && shown.every((t, i) => t.includes(want[i].name)),
    'typing a name lists the areas the server finds, in its order', [shown, want.map((a) => a.name)]);
  const community = want.find((a) => a.kind === 'community');
  const i = want.indexOf(community);
  await page.click(`#place-search-hits .hit[data-hit="${i}"]`);
  await page.waitForSelector('#place .areas-list', { timeout: 10000 });
  const listed = await page.textContent('#place .areas-list');
  s.check(listed.includes(community.name) && listed.includes(community.code),
    'choosing a community shows a place inside it, with the community among its areas', listed);
  s.check(await waitFor(() => page.$('path.sg-found')), 'the community is outlined on the map');
  const [w, so, e, n] = community.bbox;
  const framed = await page.evaluate(([lat, lon]) => window.sgConsole.views().map.map.getBounds().contains([lat, lon]), [(so + n) / 2, (w + e) / 2]);
  s.check(framed, 'the map is framed on it');
  s.check((await page.textContent('#place')).includes(community.name + ' ('), 'the open cases listed are the community\'s', await page.textContent('#place h3:last-of-type'));

  // A code, then Enter: the first hit is taken.
  const station = (await srv.get(`/api/v1/locate?lon=${P.lon}&lat=${P.lat}`, admin)).body.areas.find((a) => a.kind === 'station');
  await page.fill('#place-search input[name=q]', station.code.toLowerCase());
  await page.press('#place-search input[name=q]', 'Enter');
  s.check(await waitFor(async () => (await page.textContent('#place .areas-list').catch(() => '')).includes(station.code), 8000),
    'a station\'s code in any case, then Enter, shows the station', station.code);
  await page.fill('#place-search input[name=q]', '没有这个地方');
  s.check(await waitFor(async () => (await page.textContent('#place-search-hits')).includes('未找到')), 'a search that finds nothing says so');

  // The intake desk takes a place from an area's name: a point inside it, previewed.
  await gotoView(page, 'intake');
  await page.fill('#intake-form textarea[name=text]', '小区门口有人打架');
  await page.fill('#intake-place-search input[name=q]', community.name);
  await page.waitForSelector(`#intake-place-search-hits .hit[data-kind=community]`, { timeout: 5000 });
  const deskHits = await page.$$eval('#intake-place-search-hits .hit', (hs) => hs.map((h) => h.textContent));
  const at = deskHits.findIndex((h) => h.includes(community.code));
  await page.click(`#intake-place-search-hits .hit[data-hit="${at}"]`);
  const filled = await waitFor(async () => { const lon = await page.inputValue('#intake-form input[name=lon]'); return lon && lon; });
  const lon = Number(filled), lat = Number(await page.inputValue('#intake-form input[name=lat]'));
  const there = (await srv.get(`/api/v1/locate?lon=${lon}&lat=${lat}`, admin)).body.areas;
  s.check(at >= 0 && there.some((a) => a.id === community.id), 'an area chosen at the intake desk places the report inside it', [lon, lat, community.code]);
  s.check(await waitFor(async () => (await page.textContent('#preview').catch(() => '')).includes(community.name)),
    'and the preview says where it goes from there', await page.textContent('#preview'));
  const guide = await waitFor(async () => (await page.$$('#pick-map path.sg-intake-grid')).length, 5000);
  s.check(guide > 0 && (await page.evaluate(() => window.sgConsole.views().intake.map.getZoom())) >= 14,
    'zoomed in, the intake map draws the governance grids of its view', guide);
  const typedChecks = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/reports/check')).length);
  await page.fill('#intake-place-search input[name=q]', '山塘');
  await page.waitForTimeout(700);
  s.check((await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/reports/check')).length)) === typedChecks,
    'typing in the place search does not ask for a preview');

  // --- 重复来电: the number the caller gives brings up what it reported before
  const PHONE = '13755556666';
  const before = [];
  for (const [text, dlon] of [['楼上装修太吵了，晚上十点还在打电钻', 0], ['小区门口有人打架', 0.02]])
    before.push((await srv.post('/api/v1/reports', { source: '110', text, lon: P.lon + dlon, lat: P.lat, caller: { phone: PHONE } }, admin)).body.case);
  const lookups = (pg) => pg.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/reports/by-caller')).length);
  await page.fill('#intake-form input[name=caller_phone]', '+86 137-5555-6666');
  await page.press('#intake-form input[name=caller_phone]', 'Tab');
  await page.waitForSelector('#caller-history:not([hidden]) .repeat-count', { timeout: 5000 });
  const count = await page.textContent('#caller-history .repeat-count');
  const rows = await page.$$eval('#caller-history .case-mini', (els) => els.map((e) => +e.dataset.case));
  s.check(count.includes('2 次') && (await page.getAttribute('#caller-history .repeat-count', 'data-n')) === '2' &&
    before.every((c) => rows.includes(c.id)), 'leaving the phone field shows the number\'s earlier reports, however it was typed', [count, rows]);
  await page.focus('#intake-form input[name=caller_phone]');
  await page.press('#intake-form input[name=caller_phone]', 'Tab');
  s.check((await lookups(page)) === 1, 'the same number is looked up once (each lookup is audited)', await lookups(page));
  await page.fill('#intake-form input[name=caller_phone]', '13700000001');
  await page.press('#intake-form input[name=caller_phone]', 'Tab');
  s.check(await waitFor(() => page.$('#caller-history:not([hidden]) .repeat-none')), 'a new number says it has no earlier reports');
  await page.fill('#intake-form input[name=caller_phone]', PHONE);
  await page.press('#intake-form input[name=caller_phone]', 'Tab');
  await page.waitForSelector('#caller-history .repeat-count', { timeout: 5000 });
  await page.click(`#caller-history .case-mini[data-case="${before[0].id}"]`);
  s.check(await waitFor(async () => (await page.textContent('#detail h2').catch(() => '')).includes('#' + before[0].id)),
    'an earlier case opens on the board');
  const asked = await lookups(page);
  await page.click('#detail .caller-lookup');
  await page.waitForSelector('#detail .caller-history:not([hidden]) .repeat-count', { timeout: 5000 });
  const fromDetail = await page.$$eval('#detail .caller-history .case-mini', (els) => els.map((e) => +e.dataset.case));
  s.check(before.every((c) => fromDetail.includes(c.id)), 'a report\'s caller in the case detail shows the number\'s cases', fromDetail);
  await page.click('#detail .caller-lookup');
  s.check((await page.$('#detail .caller-history[hidden]')) && (await lookups(page)) === asked + 1,
    'and hides them again without asking twice', await lookups(page));
  await gotoView(page, 'intake');
  const gw = await newPage();
  await consoleLogin(gw, srv.base, 'gridworker', 'safegrid-demo');
  await gotoView(gw, 'intake');
  await gw.fill('#intake-form input[name=caller_phone]', PHONE);
  await gw.press('#intake-form input[name=caller_phone]', 'Tab');
  await gw.waitForTimeout(500);
  s.check((await lookups(gw)) === 0 && (await gw.$('#caller-history[hidden]')),
    'a grid worker\'s desk does not look callers up');
  await gotoView(page, 'map');

  // The officer's search holds only the station's areas.
  const offPage = await newPage();
  await consoleLogin(offPage, srv.base, 'officer', 'safegrid-demo');
  await offPage.waitForSelector('#cmd-map path', { timeout: 10000 });
  const offWant = (await srv.get('/api/v1/areas?limit=20&q=' + encodeURIComponent('派出所'), officer)).body.areas;
  await offPage.fill('#place-search input[name=q]', '派出所');
  const offShown = await waitFor(async () => { const h = await offPage.$$eval('#place-search-hits .hit', (hs) => hs.map((x) => x.textContent)); return h.length === offWant.length && h.length > 0 && h; });
  const me = (await srv.get('/api/v1/me', officer)).body.scope[0];
  s.check(offShown && offWant.every((a) => a.id === me.id || a.parent === me.id || a.name.startsWith(me.name)),
    'the officer finds only areas of the station', [offShown, me.name]);

  // --- the board opens a case by its number
  const inScope = (await srv.post('/api/v1/reports', { source: '110', text: '电动车被偷了', ...P }, admin)).body.case;
  await gotoView(page, 'board');
  await page.waitForSelector('#goto');
  await page.fill('#goto input[name=id]', '#' + inScope.id);
  await page.press('#goto input[name=id]', 'Enter');
  s.check(await waitFor(async () => (await page.textContent('#detail h2').catch(() => '')).includes('#' + inScope.id)),
    'a case number opens its detail');
  await page.click('#detail #on-map');
  const centred = await waitFor(async () => page.evaluate((c) => {
    if (document.querySelector('#view-map').hidden) return false;
    const m = window.sgConsole.views().map.map, at = m.getCenter();
    const tip = [...document.querySelectorAll('.leaflet-tooltip')].some((x) => x.textContent.includes('#' + c.id));
    return Math.hypot(at.lng - c.lon, at.lat - c.lat) * 111000 < 30 && m.getZoom() >= 16 && tip;
  }, inScope), 5000);
  s.check(centred, '"on the map" centres the command map on the case, its tooltip open');
  await gotoView(page, 'board');
  // a case of another district is outside the officer's station: not found
  const far = (await srv.post('/api/v1/reports', { source: '110', text: '电动车被偷了', lon: 120.74, lat: 31.30 }, admin)).body.case;
  const farStation = far.areas.find((a) => a.kind === 'station');
  s.check(farStation && farStation.id !== me.id, 'the second case lies outside the officer\'s station');
  await gotoView(offPage, 'board');
  await offPage.waitForSelector('#goto');
  await offPage.fill('#goto input[name=id]', String(far.id));
  await offPage.press('#goto input[name=id]', 'Enter');
  s.check(await waitFor(async () => (await offPage.textContent('#toast')).includes(`#${far.id}`)),
    'a case outside the station reads as not found', await offPage.textContent('#toast'));
  s.check(!(await offPage.$('#detail h2')) || !(await offPage.textContent('#detail h2')).includes(String(far.id)),
    'and its detail is not shown');
  await offPage.fill('#goto input[name=id]', 'abc');
  await offPage.press('#goto input[name=id]', 'Enter');
  s.check(await waitFor(async () => (await offPage.textContent('#toast')).includes('数字')), 'a number that is not one is refused before asking');

  // --- the board's area filter takes a name: suggested as typed, a full one resolved to its code
  const pg = (await srv.get(`/api/v1/locate?lon=${P.lon}&lat=${P.lat}`, admin)).body.areas.find((a) => a.kind === 'police_grid');
  const same = (await srv.get('/api/v1/areas?q=' + encodeURIComponent(pg.name), admin)).body.areas;
  s.check(same.filter((a) => a.name === pg.name).length === 1, 'the police grid\'s name is borne by it alone', same.map((a) => a.code));
  await page.fill('#filters input[name=area]', pg.name.slice(0, -2));
  const sugg = (await srv.get('/api/v1/areas?limit=20&q=' + encodeURIComponent(pg.name.slice(0, -2)), admin)).body.areas;
  const opts = await waitFor(async () => { const o = await page.$$eval('#area-options option', (os) => os.map((x) => x.value)); return o.length === sugg.length && o; });
  s.check(opts && opts.join() === sugg.map((a) => a.code).join(), 'the area box suggests the server\'s areas by code', [opts, sugg.map((a) => a.code)]);
  await page.fill('#filters input[name=area]', pg.name);
  await page.click('#filters button[type=submit]');
  s.check(await waitFor(async () => (await page.inputValue('#filters input[name=area]')) === pg.code), 'a full name is replaced by its code', await page.inputValue('#filters input[name=area]'));
  // The list before the filter holds both cases: wait for the filtered one, the API's.
  const inGrid = (await srv.get('/api/v1/cases?limit=100&area=' + pg.code, admin)).body.cases.map((c) => c.id);
  const listedIds = await waitFor(async () => { const r = await page.$$eval('#rows tr[data-id]', (trs) => trs.map((tr) => +tr.dataset.id)); return r.join() === inGrid.join() && r; });
  s.check(listedIds && inGrid.includes(inScope.id) && !inGrid.includes(far.id),
    'the board lists the police grid\'s cases and not another district\'s', [listedIds, inGrid]);
  await page.fill('#filters input[name=area]', '山塘社区居委会');
  await page.click('#filters button[type=submit]');
  s.check(await waitFor(async () => (await page.textContent('#toast')).includes('多个区域')), 'a name borne by two areas asks for a choice', await page.textContent('#toast'));
  await page.fill('#filters input[name=area]', '');
  // "open" is every open state at once, the server's open cases
  await srv.post(`/api/v1/cases/${inScope.id}/transitions`, { to: 'resolved', version: (await srv.get('/api/v1/cases/' + inScope.id, admin)).body.version }, admin);
  await page.selectOption('#filters select[name=status]', 'open');
  await page.click('#filters button[type=submit]');
  const openApi = (await srv.get('/api/v1/cases?open=true&limit=100&since=' + encodeURIComponent(new Date(Date.now() - 86400e3).toISOString().replace(/\.\d+Z$/, 'Z')), admin)).body.cases.map((c) => c.id);
  const openRows = await waitFor(async () => { const r = await page.$$eval('#rows tr[data-id]', (trs) => trs.map((tr) => +tr.dataset.id)); return r.includes(far.id) && !r.includes(inScope.id) && r; });
  s.check(openRows && openRows.join() === openApi.join(), 'the board\'s open filter lists the server\'s open cases, not a resolved one', [openRows, openApi]);
  await page.selectOption('#filters select[name=status]', '');
  await page.click('#filters button[type=submit]');

  // --- first-priority cases alert every console that may act on them
  const ana = await newPage();
  await consoleLogin(ana, srv.base, 'analyst', 'safegrid-demo');
  const desk = await newPage();
  await consoleLogin(desk, srv.base, 'admin', 'safegrid-admin');
  for (const p of [page, ana, desk]) await p.waitForSelector('#live.on', { timeout: 10000 });
  s.check(!(await desk.isVisible('#alerts')), 'no alert before a first-priority case');
  const low = (await srv.post('/api/v1/reports', { source: '110', text: '电动车被偷了', lon: P.lon + 0.001, lat: P.lat }, admin)).body.case;
  const p1 = (await srv.post('/api/v1/reports', { source: '110', text: '有人持刀抢劫，有人受伤', lon: P.lon - 0.004, lat: P.lat }, admin)).body.case;
  s.check(p1.priority === 1 && p1.police && low.priority !== 1, 'the classifier made one case first priority and one not', [p1.priority, low.priority]);
  const t0 = Date.now();
  const alerted = await waitFor(async () => (await desk.evaluate(() => window.sgConsole.alerts().pending())).includes(p1.id), LIVE_MS + 1000);
  s.check(alerted && Date.now() - t0 <= LIVE_MS, `a first-priority case alerts within ${LIVE_MS} ms (${Date.now() - t0} ms)`);
  s.check(await desk.isVisible('#alerts') && (await desk.textContent('#alerts')).includes('1'), 'the header shows one alert', await desk.textContent('#alerts'));
  const pend = await desk.evaluate(() => window.sgConsole.alerts().pending());
  s.check(!pend.includes(low.id), 'a lower priority does not alert', pend);
  s.check((await desk.evaluate(() => window.sgConsole.alerts().played())) === 1, 'the tone is sounded once (on by default)');
  s.check(await ana.evaluate(() => window.sgConsole.alerts() === null) && !(await ana.isVisible('#alerts')), 'an analyst gets no alert');
  await desk.click('#alerts');
  await desk.click(`#alert-list [data-case="${p1.id}"]`);
  s.check(await waitFor(async () => (await desk.textContent('#detail h2').catch(() => '')).includes('#' + p1.id)),
    'opening the alert shows the case\'s detail on the board');
  s.check(!(await desk.isVisible('#alerts')) && (await desk.evaluate(() => window.sgConsole.alerts().pending())).length === 0,
    'and the alert is gone');
  // a case opened on the board by other means is seen too
  const p1b = (await srv.post('/api/v1/reports', { source: '110', text: '有人持刀抢劫', lon: P.lon - 0.006, lat: P.lat }, admin)).body.case;
  await waitFor(async () => (await page.evaluate(() => window.sgConsole.alerts().pending())).includes(p1b.id));
  await page.fill('#goto input[name=id]', String(p1b.id));
  await page.press('#goto input[name=id]', 'Enter');
  s.check(await waitFor(async () => !(await page.evaluate(() => window.sgConsole.alerts().pending())).includes(p1b.id)),
    'a case opened by its number clears its alert');
  // the tone can be turned off in the settings (remembered with them)
  await desk.click('#settings-btn');
  await desk.uncheck('#settings-form input[name=sound]');
  await Promise.all([desk.waitForEvent('load'), desk.click('#settings-form button[value=save]')]);
  await desk.waitForSelector('#live.on', { timeout: 10000 });
  const p1c = (await srv.post('/api/v1/reports', { source: '110', text: '有人持刀抢劫', lon: P.lon - 0.008, lat: P.lat }, admin)).body.case;
  s.check(await waitFor(async () => (await desk.evaluate(() => window.sgConsole.alerts().pending())).includes(p1c.id)), 'after a reload the alert still comes');
  s.check((await desk.evaluate(() => window.sgConsole.alerts().played())) === 0, 'but without the tone once it is turned off');
  // English labels
  await desk.click('#lang-btn');
  s.check((await desk.textContent('#alerts')).startsWith('Priority 1'), 'the alert is relabelled in English', await desk.textContent('#alerts'));
  await desk.click('#lang-btn');
});
