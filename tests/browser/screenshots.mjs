// screenshots.mjs — the README's pictures of the console (docs/img/*.png),
// taken from a running demo city (make run, or better a living one:
// safegrid serve --db FILE --demo --simulate 20, a few minutes old):
//   node tests/browser/screenshots.mjs [http://127.0.0.1:8080]
// Files a few reports first so the desk, board and map have something live,
// and dispatches one of them for the dispatch picture.
import path from 'node:path';
import { playwright, consoleLogin, gotoView, CHROMIUM, ROOT } from './harness.mjs';

const base = process.argv[2] || 'http://127.0.0.1:8080';
const out = (n) => path.join(ROOT, 'docs/img', n);
const { chromium } = await playwright();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
const page = await (await browser.newContext({ viewport: { width: 1600, height: 900 }, locale: 'zh-CN' })).newPage();
await consoleLogin(page, base, 'admin', 'safegrid-admin');
const token = await page.evaluate(() => sessionStorage.getItem('sg.token'));
const post = (p, body) => fetch(base + p, { method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
const filed = [];
for (const [text, lon, lat] of [['小区门口有人打架，有人流血了', 120.6285, 31.3237], ['电动车在楼下被偷了', 120.6205, 31.3180],
  ['有人持刀抢劫', 120.6330, 31.3290], ['路灯坏了一个星期', 120.6240, 31.3260]])
  filed.push((await post('/api/v1/reports', { source: '110', text, lon, lat, caller: { name: '李四', phone: '13912345678' } })).case);

// command map: Gusu, the fusion view, units, a clicked place and its grid's team
await page.waitForSelector('#cmd-map path');
await page.waitForSelector('.sg-unit', { timeout: 30000 });
await page.evaluate(() => window.sgConsole.views().map.map.setView([31.3237, 120.6285], 15));
await page.check('[data-layer=fusion]');
await page.waitForSelector('path.sg-grid', { timeout: 15000, state: 'attached' });
await page.waitForTimeout(800);
await page.evaluate(() => window.sgConsole.views().map.showPlace(L.latLng(31.3237, 120.6285)));
await page.waitForSelector('#place #team h3');
await page.waitForTimeout(500);
await page.screenshot({ path: out('console-map.png') });

// finding a place: an area searched by name, framed and outlined, with its open cases
// (the header's alert counts the first-priority reports filed above)
await page.uncheck('[data-layer=fusion]');
await page.check('[data-layer=gov_grid]');
await page.fill('#place-search input[name=q]', '山塘社区');
await page.waitForSelector('#place-search-hits .hit');
await page.click('#place-search-hits .hit[data-kind=community]');
await page.waitForSelector('#place .areas-list');
await page.waitForTimeout(1200);
await page.focus('#place-search input[name=q]'); // the hits again, above the place
await page.waitForTimeout(300);
await page.screenshot({ path: out('console-search.png') });
await page.check('[data-layer=fusion]');

// intake desk with a preview
await gotoView(page, 'intake');
await page.fill('#intake-form textarea[name=text]', '小区门口又有人打起来了，有人受伤');
await page.fill('#intake-form input[name=caller_name]', '王五');
await page.fill('#intake-form input[name=caller_phone]', '139-1234-5678');
await page.press('#intake-form input[name=caller_phone]', 'Tab'); // the number's earlier reports (重复来电)
await page.waitForSelector('#caller-history:not([hidden])');
await page.fill('#intake-form input[name=lon]', '120.6287');
await page.fill('#intake-form input[name=lat]', '31.3239');
await page.click('#check-btn');
await page.waitForSelector('#pv-category');
await page.evaluate(() => window.sgConsole.views().intake.map.setView([31.3239, 120.6287], 15));
await page.waitForTimeout(800);
await page.screenshot({ path: out('console-intake.png') });

// case board with a case's detail
await gotoView(page, 'board');
await page.waitForSelector('#rows tr[data-id]');
await page.click('#rows tr[data-id]');
await page.waitForSelector('#d-status');
await page.waitForTimeout(500);
await page.screenshot({ path: out('console-board.png') });

// dispatch: the fight's nearest units suggested, one sent and acknowledged
const fight = filed[0];
await page.evaluate((id) => window.sgConsole.ctx.go('board', id), fight.id);
await page.waitForSelector('#suggestions tr[data-unit]', { timeout: 10000 });
const first = await page.getAttribute('#suggestions tr[data-unit]', 'data-unit');
await page.check(`#suggestions input[data-pick="${first}"]`);
await page.click('#dispatch-selected');
await page.waitForSelector('#dispatch-list tr[data-dispatch]');
await page.waitForTimeout(1500);
await post(`/api/v1/units/${first}/status`, { action: 'acknowledge' });
await page.waitForSelector('#dispatch-list tr[data-status=acknowledged]');
await page.evaluate(() => { document.querySelector('#dispatch-sec').scrollIntoView(); });
await page.waitForTimeout(500);
await page.screenshot({ path: out('console-dispatch.png') });

// dashboard on a 1920x1080 wall
await page.setViewportSize({ width: 1920, height: 1080 });
await gotoView(page, 'dashboard');
await page.waitForFunction(() => document.querySelector('#kpi-total').textContent !== '—');
await page.waitForTimeout(1500);
await page.screenshot({ path: out('console-dashboard.png') });
await browser.close();
