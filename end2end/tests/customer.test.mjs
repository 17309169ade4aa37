// The customer's self-service view: a token holder signs in with the token's
// name and a password and sees only their own token; admin pages answer 403;
// disabling the token or letting the password expire ends the session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  startServer, launchBrowser, hydrated, signIn, artifacts, adminApi, pushImage, containerClients, runSnippet,
} from './support.mjs';

let server;
let chromium;

const api = (method, path, body) => adminApi(server, method, path, body);

before(async () => {
  server = await startServer();
  chromium = await launchBrowser();
  await pushImage(server, 'acme/app', 'v1');
  await pushImage(server, 'acme/app', 'v2');
  await pushImage(server, 'acme/other', 'v1');
  await pushImage(server, 'secret/thing', 'v1');
});

after(async () => {
  await chromium?.close();
  await server?.stop();
});

async function createCustomer(name, expiry) {
  const token = await api('POST', '/api/v1/tokens', {
    name,
    repositories: [
      { repository: 'acme/app', actions: ['content/read', 'metadata/read'] },
      { repository: 'acme/other', actions: ['content/read'] },
    ],
    expiry,
  });
  return token.credentials.passwords[0].value;
}

test('a customer signs in with a token and sees only their own token', async () => {
  const password = await createCustomer('customer-acme');
  await api('POST', '/api/v1/tokens', { name: 'someone-else', scopeMap: '_repositories_pull' });
  const page = await chromium.browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));

  await signIn(page, server.base, 'customer-acme', password);
  await page.waitForURL(`${server.base}/my-token`);
  await page.getByTestId('my-token-name').waitFor();
  assert.equal(await page.getByTestId('my-token-name').textContent(), 'customer-acme');
  assert.equal(await page.getByTestId('my-token-status').textContent(), 'Enabled');
  const host = new URL(server.base).host;
  assert.equal(await page.getByTestId('my-login-server').textContent(), host);
  const passwords = await page.getByTestId('my-passwords').textContent();
  assert.match(passwords, /password1/);
  assert.match(passwords, /password2/);
  assert.match(passwords, /signed in with this one/);
  const grants = await page.getByTestId('my-grants').textContent();
  assert.match(grants, /acme\/app/);
  assert.match(grants, /content\/read, metadata\/read/);
  // Only repositories with metadata/read are listed, with a pull command per tag.
  const pulls = await page.getByTestId('my-pull-command').allTextContents();
  assert.deepEqual(pulls, [`docker pull ${host}/acme/app:v1`, `docker pull ${host}/acme/app:v2`]);
  // The login lines name the token and hold no password; pasted into a
  // shell with the password typed after them, podman's logs in.
  const podmanLine = await page.getByTestId('podman-login').textContent();
  assert.equal(podmanLine,
    `read -rs TOKEN_PWD && echo "$TOKEN_PWD" | podman login --tls-verify=false --username customer-acme --password-stdin ${host}`);
  assert.match(await page.getByTestId('docker-login').textContent(), /\| docker login --username customer-acme --password-stdin /);
  assert.equal(await page.getByTestId('copy-podman-login').count(), 1);
  const clients = containerClients();
  try {
    const login = runSnippet(clients, podmanLine, { input: `${password}\n` });
    assert.ok(login.ok, login.report);
    assert.match(login.stdout, /Login Succeeded/);
  } finally {
    clients.cleanup();
  }
  const html = await page.content();
  for (const hidden of ['someone-else', 'secret/thing', 'acme/other:v1', password]) {
    assert.ok(!html.includes(hidden), `the customer's page must not show ${hidden}`);
  }
  // Navigation offers the own token only.
  assert.deepEqual(await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents(), ['My token']);
  await hydrated(page);
  await page.screenshot({ path: join(artifacts, 'customer-my-token.png'), fullPage: true });

  // "/" is their token; admin pages are refused, not just unlinked, and
  // show the refusal alone: no title, search or button of the page.
  await page.goto(`${server.base}/`);
  await page.waitForURL(`${server.base}/my-token`);
  for (const path of ['/tokens', '/scope-maps', '/repositories', '/tokens/someone-else', '/users', '/access-control/new', '/settings']) {
    const response = await page.goto(`${server.base}${path}`);
    assert.equal(response.status(), 403, `${path} answers 403 to a token holder`);
    const html = await page.content();
    for (const hidden of ['_repositories_pull', 'secret/thing', 'Blobs']) {
      assert.ok(!html.includes(hidden), `${path} shows nothing of other tokens or the registry (${hidden})`);
    }
    await hydrated(page);
    const main = page.getByRole('main');
    assert.match(await main.getByTestId('page-refused').textContent(), /You do not have access to this page/);
    assert.equal(await main.locator('h1, input, button, table').count(), 0, `${path} shows only the refusal`);
    assert.equal(await main.getByRole('link', { name: 'Go to My token' }).count(), 1);
  }
  await page.screenshot({ path: join(artifacts, 'customer-admin-page-refused.png'), fullPage: true });
  // The management API does not take the portal session of a token holder.
  const apiAnswer = await page.context().request.get(`${server.base}/api/v1/tokens`);
  assert.equal(apiAnswer.status(), 403);
  assert.deepEqual(errors, []);
  await page.close();
});

test('disabling the token ends the customer session', async () => {
  const password = await createCustomer('customer-disabled');
  const page = await chromium.browser.newPage();
  await signIn(page, server.base, 'customer-disabled', password);
  await page.waitForURL(`${server.base}/my-token`);
  await page.getByTestId('my-token-name').waitFor();

  await api('PATCH', '/api/v1/tokens/customer-disabled', { status: 'disabled' });
  await page.goto(`${server.base}/my-token`);
  await page.waitForURL(`${server.base}/login`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.screenshot({ path: join(artifacts, 'customer-disabled-signed-out.png'), fullPage: true });

  // Signing in again is refused while disabled: with the right password
  // the portal says the token is disabled and whom to ask; with a wrong one
  // it says only that (the data plane never tells the two apart).
  await signIn(page, server.base, 'customer-disabled', password);
  const error = page.getByTestId('sign-in-error');
  await error.waitFor();
  assert.equal(await error.textContent(),
    "The token customer-disabled is disabled. Ask the registry's administrator to enable it or to give you another token.");
  await page.screenshot({ path: join(artifacts, 'customer-disabled-sign-in.png'), fullPage: true });
  await signIn(page, server.base, 'customer-disabled', `${password}x`);
  await page.waitForFunction(() => document.querySelector('[data-testid=sign-in-error]')?.textContent === 'Wrong user name or password.');
  const v2 = await fetch(`${server.base}/v2/`, {
    headers: { authorization: `Basic ${Buffer.from(`customer-disabled:${password}`).toString('base64')}` },
  });
  assert.equal(v2.status, 401);
  assert.doesNotMatch(await v2.text(), /disabled/);
  await page.close();
});

test('an expiring password ends the customer session when it expires', async () => {
  await createCustomer('customer-expiring');
  const expiry = new Date(Date.now() + 4000).toISOString();
  const generated = await api('POST', '/api/v1/tokens/customer-expiring/credentials', { password1: true, expiry });
  const password = generated.passwords[0].value;
  const page = await chromium.browser.newPage();
  await signIn(page, server.base, 'customer-expiring', password);
  await page.waitForURL(`${server.base}/my-token`);
  const passwords = await page.getByTestId('my-passwords').textContent();
  assert.match(passwords, /soon/, 'a password close to expiry is flagged');
  await page.screenshot({ path: join(artifacts, 'customer-expiring-password.png'), fullPage: true });

  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(expiry) - Date.now()) + 500));
  await page.goto(`${server.base}/my-token`);
  await page.waitForURL(`${server.base}/login`);
  await page.close();
});
