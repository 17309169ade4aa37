// Layout at the widths people use (issue 14): at 1280, 1440 and 1920 px no
// table hides a column or cuts a cell (the tokens list with every column
// filled, a repository's tags and manifests with their Delete buttons); on a
// 390 px phone the page never scrolls sideways, the tokens list shows each
// token's status and expiry without scrolling, and a table that must scroll
// shows that it does. Screenshots of the tokens list at 1280 and 390 px go
// to end2end/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launchBrowser, hydrated, signIn, artifacts, adminApi, pushImage, ADMIN_PASSWORD } from './support.mjs';

let server;
let chromium;
let context;

const REPOSITORY = 'team-frontend/customer-web-application';
const api = (method, path, body) => adminApi(server, method, path, body);

before(async () => {
  server = await startServer();
  chromium = await launchBrowser();
  // Long names and every column filled: what a real registry shows.
  const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString();
  await api('POST', '/api/v1/scope-maps', {
    name: 'team-frontend-release-pipeline',
    repositories: [{ repository: `${REPOSITORY}`, actions: ['content/read', 'content/write', 'metadata/read'] }],
  });
  for (const name of ['frontend-release-pipeline-production', 'frontend-release-pipeline-staging', 'edge-device-0042']) {
    const token = await api('POST', '/api/v1/tokens', { name, scopeMap: 'team-frontend-release-pipeline', expiry: inAYear });
    const password = token.credentials.passwords[0].value;
    await api('POST', `/api/v1/tokens/${name}/credentials`, { password2: true, expiry: inAYear });
    // Used once, so "Last used" holds a time.
    const used = await fetch(`${server.base}/v2/`, {
      headers: { authorization: `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}` },
    });
    assert.equal(used.status, 200);
  }
  for (const tag of ['v2026.12.01-build.4711', 'v2026.12.02-build.4712', 'latest']) await pushImage(server, REPOSITORY, tag);
  context = await chromium.browser.newContext();
  const page = await context.newPage();
  await signIn(page, server.base, 'admin', ADMIN_PASSWORD);
  await page.waitForURL(`${server.base}/`);
  await page.close();
});

after(async () => {
  await context?.close();
  await chromium?.close();
  await server?.stop();
});

/** What the page's tables hide: a table wider than its card, or a visible
 *  cell whose text is cut. */
function hiddenContent(page) {
  return page.evaluate(() => {
    const problems = [];
    for (const table of document.querySelectorAll('main table')) {
      const card = table.parentElement;
      const name = table.dataset.testid ?? table.querySelector('caption')?.textContent ?? 'a table';
      if (card.scrollWidth > card.clientWidth + 1) {
        problems.push(`${name} needs ${card.scrollWidth}px and shows ${card.clientWidth}px`);
      }
      for (const cell of table.querySelectorAll('th, td')) {
        if (cell.getClientRects().length === 0) continue; // a column left out at this width
        if (cell.scrollWidth > cell.clientWidth + 1) problems.push(`${name}: "${cell.textContent.trim().slice(0, 40)}" is cut`);
      }
    }
    return problems;
  });
}

async function open(path, width) {
  const page = await context.newPage();
  await page.setViewportSize({ width, height: 900 });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${server.base}${path}`);
  await hydrated(page);
  await page.locator('main table').first().waitFor();
  return { page, errors };
}

for (const width of [1280, 1440, 1920]) {
  test(`at ${width} px no table hides a column or cuts a cell`, async () => {
    for (const path of ['/tokens', `/repositories/${REPOSITORY}`, '/repositories', '/scope-maps']) {
      const { page, errors } = await open(path, width);
      if (width === 1280 && path === '/tokens') {
        await page.screenshot({ path: join(artifacts, 'layout-tokens-1280.png'), fullPage: true });
      }
      assert.deepEqual(await hiddenContent(page), [], `${path} at ${width} px`);
      assert.deepEqual(errors, []);
      await page.close();
    }
  });
}

test('on a 390 px phone the tokens list shows status and expiry without scrolling, and a wide table shows that it scrolls', async () => {
  const { page, errors } = await open('/tokens', 390);
  await page.screenshot({ path: join(artifacts, 'layout-tokens-390.png'), fullPage: true });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'the page does not scroll sideways');
  assert.deepEqual(await hiddenContent(page), [], 'the tokens list fits');
  const headers = await page.locator('[data-testid=tokens-table] th').evaluateAll((cells) =>
    cells.filter((cell) => cell.getClientRects().length > 0).map((cell) => cell.textContent.trim()));
  assert.ok(headers.includes('Status'), `visible columns: ${headers}`);
  assert.ok(headers.includes('Expires'), `visible columns: ${headers}`);
  const row = page.locator('[data-testid=token-row][data-name=frontend-release-pipeline-production]');
  assert.match(await row.getByTestId('token-expires').textContent(), /^\d{4}-\d\d-\d\d/);
  assert.deepEqual(errors, []);
  await page.close();

  // The manifests table is wider than a phone: it scrolls in its card, and
  // the card shows an edge shadow where more is hidden.
  const repository = await open(`/repositories/${REPOSITORY}`, 390);
  assert.ok(await repository.page.evaluate(() => document.documentElement.scrollWidth) <= 390);
  const cue = await repository.page.locator('main table').first().evaluate((table) => {
    const card = table.parentElement;
    return { scrolls: card.scrollWidth > card.clientWidth, background: getComputedStyle(card).backgroundImage };
  });
  assert.ok(cue.scrolls, 'the table scrolls on a phone');
  assert.match(cue.background, /gradient/, 'with a visible cue');
  assert.deepEqual(repository.errors, []);
  await repository.page.close();
});
