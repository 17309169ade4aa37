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

test('a first visit loads nothing that is missing: the favicon is served', async () => {
  const context = await chromium.browser.newContext();
  const page = await context.newPage();
  const missing = [];
  page.on('response', (response) => { if (response.status() >= 400) missing.push(`${response.status()} ${response.url()}`); });
  await page.goto(`${server.base}/login`);
  await hydrated(page);
  const icon = await page.locator('link[rel="icon"]').getAttribute('href');
  const served = await fetch(`${server.base}${icon}`);
  assert.equal(served.status, 200);
  assert.match(served.headers.get('content-type'), /image\/svg\+xml/);
  assert.deepEqual(missing, []);
  // The sign-in page speaks to administrators, users and token holders.
  assert.match(await page.getByTestId('sign-in-intro').textContent(), /user name and password, or with a token's name/);
  await context.close();
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
  // A page change in the browser puts the focus on the new page's heading.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tokens' }).click();
  await page.waitForFunction(() => document.activeElement?.tagName === 'H1' && document.activeElement.textContent === 'Tokens');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  await page.waitForFunction(() => document.activeElement?.tagName === 'H1' && document.activeElement.textContent === 'Registry overview');
  const toggle = page.getByTestId('toggle-login-command');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  await toggle.click();
  const command = page.getByTestId('login-command');
  await command.waitFor();
  // The admin's own line, reading the password without echo (plain HTTP:
  // podman skips TLS verification; Docker treats 127.0.0.1 as insecure).
  assert.equal(await command.getByTestId('docker-login').textContent(),
    `read -rs PASSWORD && echo "$PASSWORD" | docker login --username admin --password-stdin ${loginServer}`);
  assert.equal(await command.getByTestId('podman-login').textContent(),
    `read -rs PASSWORD && echo "$PASSWORD" | podman login --tls-verify=false --username admin --password-stdin ${loginServer}`);
  assert.equal(await command.getByTestId('docker-insecure-hint').count(), 0);
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

test('the admin changes their password, signs out, and signs in with the new one; a token holder cannot', async () => {
  // A server of its own: the other tests sign in with ADMIN_PASSWORD.
  const own = await startServer();
  const admin = 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64');
  const context = await chromium.browser.newContext();
  const holder = await chromium.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  try {
    // A token holder (customer session) is refused, by the page and by the server function.
    const created = await fetch(`${own.base}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: admin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'holder-token', scopeMap: '_repositories_pull' }),
    });
    assert.equal(created.status, 201);
    const tokenPassword = (await created.json()).credentials.passwords[0].value;
    const holderPage = await holder.newPage();
    await signIn(holderPage, own.base, 'holder-token', tokenPassword);
    await holderPage.waitForURL(`${own.base}/my-token`);
    assert.equal(await holderPage.getByRole('link', { name: 'Change password' }).count(), 0);
    const session = await (await holderPage.request.get(`${own.base}/portal/session`)).json();
    const refused = await holderPage.request.post(`${own.base}/portal/password_change`, {
      form: { csrf_token: session.csrf_token, current_password: tokenPassword,
        new_password: 'a-token-holders-try', confirmation: 'a-token-holders-try' },
    });
    assert.equal(refused.status(), 403);
    await holderPage.goto(`${own.base}/account/password`);
    await hydrated(holderPage);
    assert.match(await holderPage.getByTestId('error').textContent(), /do not have access/);
    assert.equal(await holderPage.getByLabel('Current password').count(), 0);

    // The administrator, from the link beside "Sign out".
    const newPassword = 'a-brand-new-admin-password';
    await signIn(page, own.base, 'admin', ADMIN_PASSWORD);
    await page.waitForURL(`${own.base}/`);
    await hydrated(page);
    await page.getByRole('link', { name: 'Change password' }).click();
    await page.waitForURL(`${own.base}/account/password`);
    await page.getByRole('heading', { name: 'Change password' }).waitFor();

    const submit = async (current, next, confirmation) => {
      await page.getByLabel('Current password').fill(current);
      await page.getByLabel('New password', { exact: true }).fill(next);
      await page.getByLabel('Confirm new password').fill(confirmation);
      await page.getByRole('button', { name: 'Change password' }).click();
    };
    const error = page.getByTestId('password-change-error');
    const refusals = [
      [['not-the-password', newPassword, newPassword], /current password is not correct/i],
      [[ADMIN_PASSWORD, newPassword, `${newPassword}-typo`], /confirmation differ/],
      [[ADMIN_PASSWORD, 'too-short', 'too-short'], /at least 12 characters/],
      [[ADMIN_PASSWORD, ADMIN_PASSWORD, ADMIN_PASSWORD], /differ from your current/i],
    ];
    for (const [fields, expected] of refusals) {
      await submit(...fields);
      await page.waitForFunction(
        ([pattern, flags]) => new RegExp(pattern, flags).test(document.querySelector('[data-testid="password-change-error"]')?.textContent ?? ''),
        [expected.source, expected.flags]);
      assert.match(await error.textContent(), expected);
    }
    await page.screenshot({ path: join(artifacts, 'change-password-refused.png'), fullPage: true });

    await submit(ADMIN_PASSWORD, newPassword, newPassword);
    await page.getByTestId('password-changed').waitFor();
    assert.equal(await error.count(), 0);
    assert.equal(await page.getByLabel('Current password').inputValue(), '', 'the form is emptied');
    await page.screenshot({ path: join(artifacts, 'change-password-done.png'), fullPage: true });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${own.base}/login`);
    await signIn(page, own.base, 'admin', ADMIN_PASSWORD);
    await page.getByTestId('sign-in-error').waitFor();
    assert.equal(await page.getByTestId('sign-in-error').textContent(), 'Wrong user name or password.');
    await signIn(page, own.base, 'admin', newPassword);
    await page.waitForURL(`${own.base}/`);
    assert.equal(await page.getByTestId('signed-in-user').textContent(), 'admin');

    // The management API agrees.
    const basic = (password) => ({ authorization: 'Basic ' + Buffer.from(`admin:${password}`).toString('base64') });
    assert.equal((await fetch(`${own.base}/api/v1/scope-maps`, { headers: basic(ADMIN_PASSWORD) })).status, 401);
    assert.equal((await fetch(`${own.base}/api/v1/scope-maps`, { headers: basic(newPassword) })).status, 200);
    assert.deepEqual(errors, []);
  } finally {
    await holder.close();
    await context.close();
    await own.stop();
  }
});
