// test_dispatch.mjs — the console's forces in a real browser: the units
// layer of the command map (live status from the stream, positions from the
// polled list, nothing outside the caller's jurisdiction), dispatch from a
// case's detail (the suggestions the server gives, a suggested unit sent,
// the dispatch and its steps reaching another console's board live, the
// policy's auto dispatch and its shortfall), the grid's team in the place
// panel, and the dashboard's response times against the API.
//
// The server runs with a test clock moved ten minutes on, so every demo
// position is too old to be used; the suite then reports fresh positions
// for the few units it means to be suggested, and knows what to expect.
import { Suite, Server, openBrowser, waitFor, runScenario, consoleLogin, gotoView } from './harness.mjs';

const s = new Suite('browser-dispatch');
const P = { lon: 120.6285, lat: 31.3237 }; // 山塘社区, 虎丘派出所 (姑苏区)
const LIVE_MS = 2000;

const { browser, errors, newPage } = await openBrowser(s);
const srv = await new Server(['--test-clock']).start();
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Every unit an account may see, through the API's pages.
async function unitsOf(token) {
  const out = [];
  let cursor = '';
  do {
    const r = (await srv.get('/api/v1/units?limit=500' + (cursor ? '&cursor=' + cursor : ''), token)).body;
    out.push(...r.units);
    cursor = r.next_cursor;
  } while (cursor);
  return out;
}

await runScenario(s, browser, srv, errors, async () => {
  const admin = await srv.login('admin', 'safegrid-admin');
  const commander = await srv.login('commander', 'safegrid-demo');
  await srv.post('/api/v1/admin/clock', { advance_s: 600 }, admin);

  // Three units of the place's station get fresh positions near it: two
  // patrol cars and a foot patrol, every other unit's position is too old.
  const here = (await srv.get(`/api/v1/locate?lon=${P.lon}&lat=${P.lat}`, admin)).body.areas;
  const station = here.find((a) => a.kind === 'station');
  const avail = (await srv.get(`/api/v1/units?area=${station.id}&status=available&limit=100`, admin)).body.units;
  const cars = avail.filter((u) => u.type === 'patrol_car');
  const foot = avail.find((u) => u.type === 'foot_patrol');
  s.check(cars.length >= 2 && foot, 'the station has two patrol cars and a foot patrol available', avail.map((u) => u.type));
  const [A, B, C] = [cars[0], cars[1], foot];
  const put = (u, dlon, dlat) => srv.call('PUT', `/api/v1/units/${u.id}/position`, { lon: P.lon + dlon, lat: P.lat + dlat }, admin);
  for (const [u, dlon, dlat] of [[A, 0, 0.003], [B, 0.006, 0], [C, 0, -0.009]])
    s.check((await put(u, dlon, dlat)).status === 200, 'a fresh position is stored for ' + u.callsign);

  // Three commander consoles: the map, a dispatcher's board, a watcher's board.
  const mapPage = await newPage();
  await consoleLogin(mapPage, srv.base, 'commander', 'safegrid-demo');
  const desk = await newPage();
  await consoleLogin(desk, srv.base, 'commander', 'safegrid-demo');
  const watch = await newPage();
  await consoleLogin(watch, srv.base, 'commander', 'safegrid-demo');
  for (const p of [mapPage, desk, watch]) await waitFor(() => p.$('#live.on'));

  // --- the units layer: units in view, by status and type
  await mapPage.waitForSelector('.sg-unit', { timeout: 15000 });
  await mapPage.evaluate((p) => window.sgConsole.views().map.map.setView([p.lat, p.lon], 15, { animate: false }), P);
  await waitFor(() => mapPage.$(`.sg-unit-${A.id}`));
  for (const u of [A, B, C])
    s.check(await mapPage.$(`.sg-unit-${u.id}.st-available.ty-${u.type}`), `the map shows ${u.callsign} as an available ${u.type}`);
  const drawnIds = await mapPage.evaluate(() => [...window.sgConsole.views().map.units.markers.keys()]);
  s.check(drawnIds.length > 10, 'the units in view are drawn', drawnIds.length);

  // --- a case, and its detail on both boards
  const c1 = (await srv.post('/api/v1/reports', { source: '110', text: '小区门口有人打架，有人流血了', ...P }, admin)).body.case;
  for (const p of [desk, watch]) {
    await gotoView(p, 'board');
    await p.waitForSelector(`#rows tr[data-id="${c1.id}"]`, { timeout: 5000 });
    await p.click(`#rows tr[data-id="${c1.id}"]`);
    await p.waitForSelector('#dispatch-sec h3');
  }

  // The suggestions are the server's nearest available units, with the shortfall.
  await desk.waitForSelector('#suggestions tr[data-unit]', { timeout: 5000 });
  const near = (await srv.get(`/api/v1/units/nearest?case_id=${c1.id}&k=5`, commander)).body;
  const shown = await desk.$$eval('#suggestions tr[data-unit]', (trs) => trs.map((tr) => ({
    id: +tr.dataset.unit, m: +tr.querySelector('.dist').dataset.m, s: +tr.querySelector('.eta').dataset.s,
    reason: tr.querySelector('.reason').dataset.reason, text: tr.textContent })));
  s.check(same(shown.map((x) => [x.id, x.m, x.s, x.reason]), near.units.map((x) => [x.unit.id, x.distance_m, x.eta_s, x.reason])),
    'the suggestions are the API\'s nearest units, distance, ETA and reason', [shown, near.units]);
  s.check(same(near.units.map((x) => x.unit.id), [A.id, B.id, C.id]), 'only the three fresh units are suggested, quickest first', near.units.map((x) => x.unit.id));
  s.check(shown.length && shown[0].text.includes(A.callsign) && shown[0].text.includes('m'), 'a suggestion names its unit and distance', shown[0]);
  const sf = await desk.$('#shortfall');
  s.check(sf && Number(await sf.getAttribute('data-missing')) === near.unit_shortfall.missing && near.unit_shortfall.missing === 2,
    'the shortfall shows how many are missing', near.unit_shortfall);
  const why = await desk.$$eval('#shortfall [data-reason]', (els) => els.map((e) => e.dataset.reason));
  s.check(same(why, near.unit_shortfall.reasons) && why.includes('positions_too_old'), 'and why', [why, near.unit_shortfall.reasons]);

  // --- dispatch the first suggested unit; the watcher's board shows it live
  await desk.check(`#suggestions input[data-pick="${A.id}"]`);
  const t0 = Date.now();
  await desk.click('#dispatch-selected');
  const row = await waitFor(() => watch.$('#dispatch-list tr[data-dispatch][data-status=assigned]'), LIVE_MS + 1000, 20);
  const tLive = Date.now() - t0;
  console.log(`live stream: dispatch -> another board ${tLive} ms`);
  s.check(row && tLive <= LIVE_MS, `the dispatch is on the other board within 2 s (${tLive} ms)`);
  const ds = (await srv.get(`/api/v1/cases/${c1.id}/dispatches`, commander)).body.dispatches;
  s.check(ds.length === 1 && ds[0].unit_id === A.id && ds[0].status === 'assigned', 'the dispatch is stored', ds);
  s.check(row && (await row.textContent()).includes(A.callsign), 'the board names the dispatched unit');
  s.check(await waitFor(() => watch.$('#d-status[data-status=dispatched]'), LIVE_MS), 'the case steps to dispatched on the other board');
  s.check(await waitFor(() => mapPage.$(`.sg-unit-${A.id}.st-dispatched`), LIVE_MS), 'the map shows the unit dispatched, live');
  s.check(await waitFor(async () => !(await desk.$(`#suggestions tr[data-unit="${A.id}"] input:not([disabled])`)), LIVE_MS),
    'the dispatched unit is no longer offered');

  // The unit acknowledges and arrives from its own terminal: the steps follow live.
  const step = (u, action) => srv.post(`/api/v1/units/${u.id}/status`, { action }, admin);
  s.check((await step(A, 'acknowledge')).status === 200, 'the unit acknowledges');
  s.check(await waitFor(() => watch.$(`#dispatch-list tr[data-dispatch="${ds[0].id}"][data-status=acknowledged] [data-step=acknowledged_at]`), LIVE_MS),
    'the acknowledgement shows on the board live');
  s.check((await step(A, 'arrive')).status === 200, 'the unit arrives');
  s.check(await waitFor(() => watch.$(`#dispatch-list tr[data-dispatch="${ds[0].id}"][data-status=on_scene] [data-step=arrived_at]`), LIVE_MS),
    'the arrival shows on the board live');
  s.check(await waitFor(() => mapPage.$(`.sg-unit-${A.id}.st-on_scene`), LIVE_MS), 'the map shows the unit on scene');
  // The dispatcher records the clearance for the unit.
  await desk.waitForSelector(`[data-step-unit="${A.id}"][data-action=clear]`);
  await desk.click(`[data-step-unit="${A.id}"][data-action=clear]`);
  s.check(await waitFor(() => watch.$(`#dispatch-list tr[data-dispatch="${ds[0].id}"][data-status=cleared] [data-step=cleared_at]`), LIVE_MS),
    'the clearance shows on the other board live');
  const a1 = (await srv.get(`/api/v1/units/${A.id}`, admin)).body;
  s.check(a1.status === 'available', 'the cleared unit is available again', a1.status);

  // --- dispatch by policy: robbery wants two patrol cars and SWAT; SWAT positions are too old
  const c2 = (await srv.post('/api/v1/reports', { source: '110', text: '有人持刀抢劫', lon: P.lon + 0.001, lat: P.lat }, admin)).body.case;
  await desk.waitForSelector(`#rows tr[data-id="${c2.id}"]`, { timeout: 5000 });
  await desk.click(`#rows tr[data-id="${c2.id}"]`);
  await desk.waitForSelector('#dispatch-auto');
  await desk.click('#dispatch-auto');
  await desk.waitForSelector('#auto-shortfall', { timeout: 5000 });
  const ds2 = (await srv.get(`/api/v1/cases/${c2.id}/dispatches`, commander)).body.dispatches;
  s.check(c2.category === 'robbery' && same(ds2.map((d) => d.unit_id).sort(), [A.id, B.id].sort()),
    'the policy sent the two fresh patrol cars', [c2.category, ds2]);
  s.check(await waitFor(async () => same(await desk.$$eval('#dispatch-list tr[data-dispatch]', (trs) => trs.map((tr) => +tr.dataset.dispatch)), ds2.map((d) => d.id)), LIVE_MS),
    'the board lists the dispatches the API stored');
  s.check(await desk.$('#auto-shortfall li[data-type=swat_team]'), 'the SWAT team the policy asked for is listed as not found',
    await desk.textContent('#auto-shortfall'));

  // --- positions come from polling the list
  await put(C, 0.002, -0.009);
  await mapPage.evaluate(() => window.sgConsole.views().map.units.poll());
  const at = await mapPage.evaluate((id) => window.sgConsole.views().map.units.markers.get(id).getLatLng(), C.id);
  s.check(Math.abs(at.lng - (P.lon + 0.002)) < 1e-6 && Math.abs(at.lat - (P.lat - 0.009)) < 1e-6, 'a polled position moves the marker', at);
  // a unit that drives out of the loaded box is dropped at the next poll, and back in, drawn again
  await put(C, 0.3, 0);
  await mapPage.evaluate(() => window.sgConsole.views().map.units.poll());
  s.check(!(await mapPage.evaluate((id) => window.sgConsole.views().map.units.markers.has(id), C.id)),
    'a unit that left the map\'s box loses its marker at the next poll');
  await put(C, 0.002, -0.008);
  await mapPage.evaluate(() => window.sgConsole.views().map.units.poll());
  s.check(await mapPage.evaluate((id) => window.sgConsole.views().map.units.markers.has(id), C.id),
    'and gets it back when it returns');

  // --- the grid's team in the place panel
  await mapPage.evaluate((p) => window.sgConsole.views().map.showPlace(L.latLng(p.lat, p.lon)), P);
  await mapPage.waitForSelector('#team h3', { timeout: 10000 });
  const grid = here.find((a) => a.kind === 'gov_grid'), community = here.find((a) => a.kind === 'community');
  const pgrid = here.find((a) => a.kind === 'police_grid');
  const gp = (await srv.get(`/api/v1/people?area=${grid.id}&limit=100`, commander)).body.people;
  const shownGrid = await mapPage.$$eval('#team-grid [data-person]', (els) => els.map((e) => +e.dataset.person));
  s.check(gp.length > 0 && same(shownGrid, gp.map((p) => p.id)), 'the team lists the people of the grid', [shownGrid, gp.map((p) => p.id)]);
  const team = (await srv.get(`/api/v1/units?area=${community.id}&type=grid_team`, commander)).body.units;
  const shownTeam = await mapPage.$$eval('#team-community [data-unit]', (els) => els.map((e) => +e.dataset.unit));
  s.check(team.length > 0 && same(shownTeam, team.map((u) => u.id)), 'and the community\'s 2+N+X team', [shownTeam, team]);
  const members = (await srv.get(`/api/v1/units/${team[0].id}`, commander)).body.members;
  s.check(members.length > 0 && (await mapPage.textContent('#team-community')).includes(members[0].name), 'with its members', members);
  const pp = (await srv.get(`/api/v1/people?area=${pgrid.id}&limit=500`, commander)).body.people.filter((p) => p.area.id === pgrid.id);
  const shownPolice = await mapPage.$$eval('#team-police [data-person]', (els) => els.map((e) => +e.dataset.person));
  s.check(pp.some((p) => p.type === 'officer') && same(shownPolice, pp.map((p) => p.id)), 'and the police grid\'s officer and auxiliaries', [shownPolice, pp]);
  s.check(!(await mapPage.textContent('#team')).match(/1[3-9]\d{9}/), 'phones in the team are masked');

  // --- the dashboard's response times are the API's
  await gotoView(watch, 'dashboard');
  await watch.waitForFunction(() => document.querySelector('#kpi-total').textContent !== '—', null, { timeout: 10000, polling: 100 });
  const resp = await watch.evaluate(async () => {
    const v = window.sgConsole.views().dashboard;
    await v.load();
    const o = v.charts.response.getOption();
    return { names: o.xAxis[0].data, dispatch: o.series[0].data, arrive: o.series[1].data, share: o.series[2].data,
      total: document.querySelector('#resp-total').textContent };
  });
  const api = (await srv.get('/api/v1/stats/response?by=district', commander)).body;
  const min = (x) => +(x / 60).toFixed(2);
  s.check(api.rows.length >= 1 && same(resp.names, api.rows.map((r) => r.area.name)), 'the response panel has the API\'s districts', [resp.names, api.rows]);
  s.check(same(resp.dispatch, api.rows.map((r) => min(r.avg_dispatch_s))) &&
    same(resp.arrive, api.rows.map((r) => (r.arrived ? min(r.avg_arrive_s) : null))) &&
    same(resp.share, api.rows.map((r) => +(r.share_within_target * 100).toFixed(1))),
  'its times to dispatch and arrive and its share within target are the API\'s', [resp, api.rows]);
  s.check(api.total.cases === 2 && resp.total.includes(String(api.total.cases)), 'its total counts the dispatched cases', [resp.total, api.total]);

  // --- a station officer's map never shows a unit outside the station
  const officer = await srv.login('officer', 'safegrid-demo');
  const me = (await srv.get('/api/v1/me', officer)).body;
  const ost = me.scope[0];
  const grids = (await srv.get(`/api/v1/areas/${ost.id}/children?kind=police_grid`, admin)).body.areas;
  let inside = null;
  for (const gr of grids) {
    const [w, so, e, n] = gr.bbox;
    const pt = { lon: (w + e) / 2, lat: (so + n) / 2 };
    const loc = (await srv.get(`/api/v1/locate?lon=${pt.lon}&lat=${pt.lat}`, admin)).body;
    if (loc.areas.some((a) => a.id === ost.id)) { inside = pt; break; }
  }
  // B (of another station) is moved into the officer's station.
  await srv.call('PUT', `/api/v1/units/${B.id}/position`, { lon: inside.lon, lat: inside.lat }, admin);
  const mine = new Set((await unitsOf(officer)).map((u) => u.id));
  s.check(mine.size > 0 && !mine.has(B.id), 'the API gives the officer the station\'s units only');
  const off = await newPage();
  await consoleLogin(off, srv.base, 'officer', 'safegrid-demo');
  await off.waitForSelector('.sg-unit', { timeout: 15000 });
  await off.evaluate((p) => window.sgConsole.views().map.map.setView([p.lat, p.lon], 13, { animate: false }), inside);
  await waitFor(() => off.$('#live.on'));
  // B changes state while the officer watches: the event is not for the officer.
  await step(B, 'clear');
  await step(B, 'busy');
  await off.evaluate(() => window.sgConsole.views().map.units.poll());
  await off.waitForTimeout(500);
  const seen = await off.evaluate(() => ({
    drawn: [...window.sgConsole.views().map.units.markers.keys()],
    known: window.sgConsole.live.allUnits().map((u) => u.id),
  }));
  s.check(seen.drawn.length > 0 && seen.drawn.every((id) => mine.has(id)), 'the officer\'s map draws only the station\'s units', seen.drawn);
  s.check(seen.known.every((id) => mine.has(id)), 'the officer\'s console holds no other unit', seen.known.filter((id) => !mine.has(id)));
  s.check(!(await off.$(`.sg-unit-${B.id}`)) && !seen.known.includes(B.id), 'a unit of another station standing in the station is not shown');

  // --- English labels for the dispatch panel
  await desk.click('#lang-btn');
  await desk.waitForSelector('#dispatch-sec h3');
  s.check((await desk.textContent('#dispatch-sec h3')) === 'Dispatch' && (await desk.textContent('#dispatch-auto')) === 'Dispatch by policy',
    'the dispatch panel switches to English', await desk.textContent('#dispatch-sec'));
  s.check(!(await desk.textContent('#dispatch-sec')).match(/dstatus\.|dstep\.|utype\.|dispatch\./), 'no dispatch label shows its key');
  await desk.click('#lang-btn');
});
