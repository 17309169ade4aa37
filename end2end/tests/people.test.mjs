// Users who are not the administrator: every user signs in, and the portal
// shows what their roles reach. A user with only a data-plane role lands on
// My access (their roles, the repositories those reach, the pull commands)
// and the administration answers 403; a Reader sees the administration
// without a control that would change anything.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launchBrowser, hydrated, signIn, artifacts, adminApi, pushImage } from './support.mjs';

let server;
let chromium;
const PASSWORD = 'people-test-password-1';
const NAME = '@Request[Microsoft.ContainerRegistry/registries/repositories:name]';
const reading = (expression) =>
  "((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) " +
  "AND !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})) " +
  `OR (${expression}))`;

const api = (method, path, body) => adminApi(server, method, path, body);

before(async () => {
  server = await startServer();
  chromium = await launchBrowser();
  await pushImage(server, 'backend/nginx', 'v1');
  await pushImage(server, 'frontend/app', 'v1');
  await api('POST', '/api/v1/tokens', { name: 'ci-pipeline', scopeMap: '_repositories_pull', generatePasswords: true });
  await api('POST', '/api/v1/scope-maps', {
    name: 'team-map', repositories: [{ repository: 'backend/*', actions: ['content/read'] }],
  });
});

after(async () => {
  await chromium?.close();
  await server?.stop();
});

async function newPage() {
  const context = await chromium.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  return { context, page, errors };
}

test('a user with a repository role signs in to My access: roles, reachable repositories, pull commands, nothing else', async () => {
  await api('POST', '/api/v1/users', { name: 'dev-ana', password: PASSWORD });
  await api('POST', '/api/v1/role-assignments', {
    assignee: 'dev-ana', role: 'Container Registry Repository Reader',
    condition: reading(`${NAME} StringStartsWithIgnoreCase 'backend/'`), conditionVersion: '2.0',
  });
  const { context, page, errors } = await newPage();
  await signIn(page, server.base, 'dev-ana', PASSWORD);
  await page.waitForURL(`${server.base}/my-access`);
  await hydrated(page);
  assert.equal(await page.getByTestId('my-access-name').textContent(), 'dev-ana');
  const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
  assert.deepEqual(nav, ['My access'], 'the navigation shows only what the user may use');
  const role = await page.getByTestId('my-role').textContent();
  assert.match(role, /Container Registry Repository Reader/);
  assert.match(role, /Assigned to you/);
  assert.match(role, /StringStartsWithIgnoreCase 'backend\/'/);
  const reached = await page.getByTestId('my-access-repository').evaluateAll((items) => items.map((item) => item.dataset.name));
  assert.deepEqual(reached, ['backend/nginx']);
  assert.equal(await page.getByTestId('my-access-actions').textContent(), 'content/read, metadata/read');
  const host = new URL(server.base).host;
  assert.deepEqual(await page.getByTestId('my-access-pull-command').allTextContents(), [`docker pull ${host}/backend/nginx:v1`]);
  assert.match(await page.getByTestId('docker-login').textContent(), /^read -rs PASSWORD && echo "\$PASSWORD" \| docker login --username dev-ana --password-stdin /);
  await page.screenshot({ path: join(artifacts, 'my-access.png'), fullPage: true });

  // The administration answers 403, not just unlinked; "/" is My access.
  for (const path of ['/tokens', '/scope-maps', '/repositories', '/tokens/ci-pipeline']) {
    const response = await page.goto(`${server.base}${path}`);
    assert.equal(response.status(), 403, `${path} answers 403 to a user without a control-plane role`);
    const html = await page.content();
    for (const hidden of ['_repositories_pull', 'frontend/app', 'team-map']) {
      assert.ok(!html.includes(hidden), `${path} shows nothing of the registry (${hidden})`);
    }
    await hydrated(page);
    assert.equal(await page.getByRole('main').locator('h1, input, button, table').count(), 0, `${path} shows only the refusal`);
    assert.equal(await page.getByRole('main').getByRole('link', { name: 'Go to My access' }).count(), 1);
  }
  await page.goto(`${server.base}/`);
  await page.waitForURL(`${server.base}/my-access`);

  // Their own password: changed in the portal, then the new one signs in.
  await page.goto(`${server.base}/account/password`);
  await hydrated(page);
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password', { exact: true }).fill('people-test-password-2');
  await page.getByLabel('Confirm new password').fill('people-test-password-2');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByTestId('password-changed').waitFor();
  const basic = (password) => 'Basic ' + Buffer.from(`dev-ana:${password}`).toString('base64');
  const probe = async (password) => (await fetch(`${server.base}/v2/backend/nginx/manifests/v1`, {
    method: 'HEAD', headers: { authorization: basic(password) },
  })).status;
  assert.equal(await probe('people-test-password-2'), 200);
  assert.equal(await probe(PASSWORD), 401);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a Reader sees tokens, scope maps and repositories without a control that would change them', async () => {
  await api('POST', '/api/v1/users', { name: 'auditor-bo', password: PASSWORD });
  await api('POST', '/api/v1/role-assignments', { assignee: 'auditor-bo', role: 'Reader' });
  const { context, page, errors } = await newPage();
  await signIn(page, server.base, 'auditor-bo', PASSWORD);
  await page.waitForURL(`${server.base}/`);
  await hydrated(page);
  await page.getByTestId('login-server').waitFor();
  const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
  await page.screenshot({ path: join(artifacts, 'reader-overview.png'), fullPage: true });
  for (const link of ['Overview', 'Repositories', 'Tokens', 'Scope maps', 'My access']) {
    assert.ok(nav.includes(link), `${link} in ${nav}`);
  }

  await page.goto(`${server.base}/tokens`);
  await hydrated(page);
  await page.locator('[data-testid=token-row][data-name=ci-pipeline]').waitFor();
  assert.equal(await page.getByTestId('add-token').count(), 0, 'no + Add');
  await page.goto(`${server.base}/tokens/ci-pipeline`);
  await hydrated(page);
  await page.getByTestId('token-name').waitFor();
  for (const control of ['discard-token', 'status-switch', 'scope-map-select', 'generate-password1', 'delete-password1']) {
    assert.equal(await page.getByTestId(control).count(), 0, `no ${control}`);
  }
  assert.equal(await page.getByTestId('scope-map-name').textContent(), '_repositories_pull');

  await page.goto(`${server.base}/scope-maps`);
  await hydrated(page);
  assert.equal(await page.getByTestId('add-scope-map').count(), 0, 'no + Add');
  await page.goto(`${server.base}/scope-maps/team-map`);
  await hydrated(page);
  await page.getByTestId('read-only-scope-map').waitFor();
  assert.match(await page.getByTestId('read-only-scope-map').textContent(), /read scope maps, not change them/);
  assert.equal(await page.getByTestId('save-scope-map').count(), 0);
  assert.equal(await page.getByTestId('delete-scope-map').count(), 0);

  await page.goto(`${server.base}/repositories/backend/nginx`);
  await hydrated(page);
  await page.getByTestId('repository-name').waitFor();
  for (const control of ['delete-repository-button', 'untag-button', 'delete-image-button', 'delete-manifest-button']) {
    assert.equal(await page.getByTestId(control).count(), 0, `no ${control}`);
  }
  const switches = page.getByRole('switch');
  assert.ok(await switches.count() > 0, 'the locks are shown');
  for (const lock of await switches.all()) {
    assert.ok(await lock.isDisabled(), 'and cannot be switched');
  }
  await page.screenshot({ path: join(artifacts, 'reader-repository.png'), fullPage: true });

  // The server functions refuse whatever the page shows.
  const csrf = await page.evaluate(async () => (await (await fetch('/portal/session')).json()).csrf_token);
  const refused = await page.evaluate(async (csrf) => (await fetch('/portal/token_delete', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf_token: csrf, name: 'ci-pipeline' }),
  })).status, csrf);
  assert.equal(refused, 403);
  assert.deepEqual(errors, []);
  await context.close();
});
