// The portal in a real browser: sign in, the overview, something that only
// works once hydrated, sign out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launchBrowser, hydrated, signIn, artifacts, ADMIN_PASSWORD } from './support.mjs';

let server;
let chromium;

before(async () => {
  server = await startServer();
  chromium = await launchBrowser();
});

after(async () => {
  await chromium?.close();
  await server?.stop();
});

test('a wrong password shows a clear message and stays on the sign-in page', async () => {
  const page = await chromium.browser.newPage();
  await signIn(page, server.base, 'admin', 'not-the-password');
  const error = page.getByTestId('sign-in-error');
  await error.waitFor();
  assert.equal(await error.textContent(), 'Wrong user name or password.');
  assert.equal(new URL(page.url()).pathname, '/login');
  await page.screenshot({ path: join(artifacts, 'sign-in-refused.png'), fullPage: true });
  await page.close();
});

test('admin signs in, sees the overview, uses it, and signs out', async () => {
  const page = await chromium.browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));

  // Signed out, the portal sends you to sign in.
  await page.goto(server.base);
  assert.equal(new URL(page.url()).pathname, '/login');

  await signIn(page, server.base, 'admin', ADMIN_PASSWORD);
  await page.waitForURL(`${server.base}/`);
  await page.getByRole('heading', { name: 'Registry overview' }).waitFor();
  const loginServer = new URL(server.base).host;
  assert.equal(await page.getByTestId('login-server').textContent(), loginServer);
  assert.equal(await page.getByTestId('signed-in-user').textContent(), 'admin');

  // This button has no server-side behaviour: it only works once hydrated.
  await hydrated(page);
  const toggle = page.getByTestId('toggle-login-command');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  await toggle.click();
  const command = page.getByTestId('login-command');
  await command.waitFor();
  assert.match(await command.textContent(), new RegExp(`--password-stdin ${loginServer.replace('.', '\\.')}$`));
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  await page.screenshot({ path: join(artifacts, 'overview.png'), fullPage: true });

  // A full reload keeps the session.
  await page.reload();
  await page.getByRole('heading', { name: 'Registry overview' }).waitFor();

  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${server.base}/login`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  // And the session is really over on the server.
  await page.goto(server.base);
  assert.equal(new URL(page.url()).pathname, '/login');
  await page.screenshot({ path: join(artifacts, 'signed-out.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
