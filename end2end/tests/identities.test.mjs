// Users, groups and service principals in a real browser (issue 12): a user
// created in the portal signs in and logs in with skopeo, is disabled (its
// login fails) and deleted behind a confirmation; generated passwords are
// shown once; a group gets a user and a service principal as members and
// loses one; a service principal's secret generated in the portal works
// with the copied podman login command exactly as copied, is never shown
// again, and stops working once deleted; federated credentials show their
// CI snippet; a Reader sees the pages read-only and the server functions
// refuse it; the new-user form works with the keyboard alone. Each test
// saves a screenshot to end2end/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startServer, launchBrowser, hydrated, signIn, artifacts, ADMIN_PASSWORD, containerClients, runSnippet, shellQuote,
} from './support.mjs';

const REPOSITORY_READER = 'Container Registry Repository Reader';

let server;
let chromium;
let host;

before(async () => {
  server = await startServer();
  chromium = await launchBrowser();
  host = new URL(server.base).host;
});

after(async () => {
  await chromium?.close();
  await server?.stop();
});

// ---------------------------------------------------------------------------
// Helpers

const basic = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const adminAuth = basic('admin', ADMIN_PASSWORD);

/** The management API as the administrator. */
async function api(method, path, body) {
  const response = await fetch(`${server.base}${path}`, {
    method,
    headers: { authorization: adminAuth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) };
}

async function assign(role, assignee) {
  const created = await api('POST', '/api/v1/role-assignments', { role, assignee });
  assert.equal(created.status, 201, created.text);
}

/** Whether `user:password` authenticates on the data plane. */
async function authenticates(user, password) {
  const response = await fetch(`${server.base}/v2/`, { headers: { authorization: basic(user, password) } });
  return response.status === 200;
}

/** A signed-in page in its own context, collecting page errors. */
async function signedInPage(user, password) {
  const context = await chromium.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await signIn(page, server.base, user, password);
  await page.waitForURL((url) => url.pathname !== '/login');
  await hydrated(page);
  return { context, page, errors };
}

const adminPage = () => signedInPage('admin', ADMIN_PASSWORD);

async function goto(page, path) {
  const response = await page.goto(`${server.base}${path}`);
  await hydrated(page);
  return response;
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, name), fullPage: true });
}

/** YYYY-MM-DD, `days` from today (UTC). */
function dateIn(days) {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** Waits until `locator`'s text matches `pattern`. */
async function textMatches(locator, pattern) {
  await locator.page().waitForFunction(
    ([element, source, flags]) => new RegExp(source, flags).test(element?.textContent ?? ''),
    [await locator.elementHandle(), pattern.source, pattern.flags],
  );
}

const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** An uncompressed POSIX ustar archive holding one regular file. */
function tarWithOneFile(name, content) {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  const octal = (offset, length, value) =>
    header.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, content.length);
  octal(136, 12, 1_700_000_000);
  header.write('0', 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  header.fill(' ', 148, 156);
  const sum = header.reduce((total, byte) => total + byte, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  const padded = Math.ceil(content.length / 512) * 512;
  return Buffer.concat([header, content, Buffer.alloc(padded - content.length + 1024)]);
}

/** A one-layer OCI image layout tagged v1, written by hand. */
function ociImage(layout, file, content) {
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const put = (mediaType, bytes) => {
    const digest = sha256(bytes);
    writeFileSync(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const layer = put('application/vnd.oci.image.layer.v1.tar', tarWithOneFile(file, Buffer.from(content)));
  const config = put('application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Cmd: [`/${file}`] },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  })));
  const manifest = put('application/vnd.oci.image.manifest.v1+json', Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer],
  })));
  manifest.annotations = { 'org.opencontainers.image.ref.name': 'v1' };
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [manifest] }));
  return `oci:${layout}:v1`;
}

// ---------------------------------------------------------------------------
// Users

test('a user created in the portal signs in, logs in with skopeo, is refused once disabled, and is deleted behind a confirmation', async () => {
  const clients = containerClients();
  try {
    const { context, page, errors } = await adminPage();
    await goto(page, '/users');
    await page.getByTestId('add-user').click();
    await page.waitForURL(`${server.base}/users/new`);
    await page.getByTestId('user-name-input').fill('dana');
    await page.getByTestId('display-name-input').fill('Dana Scully');
    // A password the service refuses: its message in the page.
    await page.getByTestId('password-input').fill('short');
    await page.getByTestId('create-user').click();
    await textMatches(page.getByTestId('form-error'), /12/);
    const password = 'dana-portal-password-1';
    await page.getByTestId('password-input').fill(password);
    await shot(page, 'identities-user-new.png');
    await page.getByTestId('create-user').click();
    await page.waitForURL(`${server.base}/users/dana`);
    await textMatches(page.getByTestId('user-title'), /dana\s*Enabled/);
    assert.equal(await page.getByTestId('display-name').textContent(), 'Dana Scully');
    assert.equal(await page.getByTestId('assignments-empty').count(), 1, 'no role assignments yet');

    // A data-plane role, given through the API; the page lists it.
    await assign(REPOSITORY_READER, 'dana');
    await page.reload();
    await hydrated(page);
    await page.locator(`[data-testid=assignment-row][data-role="${REPOSITORY_READER}"]`).waitFor();

    // The list shows the user.
    await goto(page, '/users');
    const row = page.locator('[data-testid=user-row][data-name=dana]');
    assert.match(await row.textContent(), /Dana Scully.*Enabled.*Never/);

    // The user signs in to the portal.
    const dana = await signedInPage('dana', password);
    assert.equal(await dana.page.getByTestId('signed-in-user').textContent(), 'dana');
    await dana.context.close();

    // skopeo logs in with it.
    const login = () => clients.run('skopeo', ['login', '--tls-verify=false', '--username', 'dana',
      '--password-stdin', host], `${password}\n`);
    const first = login();
    assert.ok(first.ok, first.report);

    // Disabled: its login fails.
    await goto(page, '/users/dana');
    await page.getByTestId('toggle-enabled').click();
    await textMatches(page.getByTestId('user-title'), /Disabled/);
    assert.equal(await page.getByTestId('toggle-enabled').textContent(), 'Enable');
    const refused = login();
    assert.ok(!refused.ok, refused.report);
    await shot(page, 'identities-user-disabled.png');
    // The portal tells the person who knows the password that the account
    // is disabled, and whom to ask.
    const disabled = await chromium.browser.newContext();
    const disabledPage = await disabled.newPage();
    await signIn(disabledPage, server.base, 'dana', password);
    await disabledPage.getByTestId('sign-in-error').waitFor();
    assert.equal(await disabledPage.getByTestId('sign-in-error').textContent(),
      'The account dana is disabled. Ask an administrator of the registry to enable it.');
    await disabled.close();

    // Nobody disables themself: the service's message in the page.
    await goto(page, '/users/admin');
    await page.getByTestId('toggle-enabled').click();
    await textMatches(page.getByTestId('update-error'), /cannot disable your own account/);

    // Delete behind a confirmation: Cancel keeps it, Delete removes it.
    await goto(page, '/users/dana');
    await page.getByTestId('delete-user').click();
    const dialog = page.getByTestId('delete-user-dialog');
    await dialog.waitFor();
    await dialog.getByTestId('cancel-button').click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await api('GET', '/api/v1/users/dana')).status, 200);
    await page.getByTestId('delete-user').click();
    await dialog.waitFor();
    await shot(page, 'identities-user-delete.png');
    await dialog.getByTestId('confirm').click();
    await page.waitForURL(`${server.base}/users`);
    await page.getByTestId('users-table').waitFor();
    assert.equal(await page.locator('[data-testid=user-row][data-name=dana]').count(), 0);
    assert.equal((await api('GET', '/api/v1/users/dana')).status, 404);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    clients.cleanup();
  }
});

test('a generated password is shown once, works, and a reset replaces it', async () => {
  const { context, page, errors } = await adminPage();
  await goto(page, '/users/new');
  await page.getByTestId('user-name-input').fill('gen-user');
  await page.getByTestId('password-generate').check();
  assert.equal(await page.getByTestId('password-input').count(), 0, 'no password field when generating');
  await page.getByTestId('create-user').click();
  const dialog = page.getByTestId('password-dialog');
  await dialog.waitFor();
  const password = (await dialog.getByTestId('generated-password').textContent()).trim();
  assert.ok(password.length >= 12, password);
  assert.match(await dialog.getByTestId('show-once-warning').textContent(), /cannot be retrieved/);
  assert.ok(await authenticates('gen-user', password));
  await shot(page, 'identities-user-generated-password.png');
  await dialog.getByTestId('generated-done').click();
  await page.waitForURL(`${server.base}/users/gen-user`);
  await page.getByTestId('user-title').waitFor();
  assert.ok(!(await page.content()).includes(password), 'the password stayed in the page');
  const reloaded = await page.reload();
  await hydrated(page);
  assert.ok(!(await reloaded.text()).includes(password), 'the password is in the server HTML');

  // Reset: generated again, shown once; the old one stops working.
  await page.getByTestId('reset-password').click();
  const reset = page.getByTestId('reset-dialog');
  await reset.waitFor();
  await reset.getByTestId('reset-submit').click();
  const second = (await reset.getByTestId('generated-password').textContent()).trim();
  assert.notEqual(second, password);
  assert.ok(await authenticates('gen-user', second));
  assert.ok(!(await authenticates('gen-user', password)));
  await page.keyboard.press('Escape');
  await reset.waitFor({ state: 'detached' });
  assert.ok(!(await page.content()).includes(second), 'Escape left the password in the page');

  // Reset to a typed password: nothing is shown back.
  await page.getByTestId('reset-password').click();
  await reset.waitFor();
  await reset.getByTestId('password-set').check();
  await reset.getByTestId('password-input').fill('typed-reset-password-1');
  await reset.getByTestId('reset-submit').click();
  await reset.getByTestId('reset-done').waitFor();
  assert.equal(await reset.getByTestId('generated-password').count(), 0);
  assert.ok(await authenticates('gen-user', 'typed-reset-password-1'));
  assert.deepEqual(errors, []);
  await context.close();
});

// ---------------------------------------------------------------------------
// Groups

test('a group is created, gets a user and a service principal as members from the searchable list, and loses one', async () => {
  assert.equal((await api('POST', '/api/v1/users', { name: 'gwen', password: 'gwen-password-123' })).status, 201);
  assert.equal((await api('POST', '/api/v1/users', { name: 'gary', password: 'gary-password-123' })).status, 201);
  assert.equal((await api('POST', '/api/v1/service-principals', { name: 'group-ci', createSecret: false })).status, 201);

  const { context, page, errors } = await adminPage();
  await goto(page, '/groups');
  await page.getByTestId('group-name-input').fill('platform');
  await page.getByTestId('group-description-input').fill('The platform team');
  await page.getByTestId('create-group').click();
  await page.waitForURL(`${server.base}/groups/platform`);
  await page.getByTestId('members-empty').waitFor();

  // The search narrows the candidates; Add makes one a member.
  const search = page.getByTestId('member-search');
  await search.fill('gw');
  const candidates = page.getByTestId('candidate');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=candidate]').length === 1);
  assert.equal(await candidates.first().getAttribute('data-name'), 'gwen');
  await candidates.first().getByTestId('add-member').click();
  await page.locator('[data-testid=member-row][data-name=gwen]').waitFor();

  await page.getByTestId('member-search').fill('group-');
  const sp = page.locator('[data-testid=candidate][data-name=group-ci]');
  await sp.waitFor();
  assert.match(await sp.textContent(), /Service principal/);
  await sp.getByTestId('add-member').click();
  await page.locator('[data-testid=member-row][data-name=group-ci]').waitFor();
  await shot(page, 'identities-group-members.png');

  let members = (await api('GET', '/api/v1/groups/platform')).json().members;
  assert.deepEqual(members, [{ kind: 'user', name: 'gwen' }, { kind: 'service-principal', name: 'group-ci' }]);
  // A member is not offered again.
  await page.getByTestId('member-search').fill('gwen');
  await page.getByTestId('no-candidates').waitFor();

  // Remove one.
  await page.locator('[data-testid=member-row][data-name=gwen]').getByTestId('remove-member').click();
  await page.locator('[data-testid=member-row][data-name=gwen]').waitFor({ state: 'detached' });
  members = (await api('GET', '/api/v1/groups/platform')).json().members;
  assert.deepEqual(members, [{ kind: 'service-principal', name: 'group-ci' }]);

  // The group's role assignments, and the member's page naming the group.
  await assign(REPOSITORY_READER, 'platform');
  await goto(page, '/groups/platform');
  await page.locator(`[data-testid=assignment-row][data-role="${REPOSITORY_READER}"]`).waitFor();
  await goto(page, '/service-principals/group-ci');
  assert.match(await page.getByTestId('sp-groups').textContent(), /platform/);
  await page.locator(`[data-testid=assignment-row][data-role="${REPOSITORY_READER}"]`).waitFor();

  // The list counts the members; delete behind a confirmation.
  await goto(page, '/groups');
  assert.equal(await page.locator('[data-testid=group-row][data-name=platform] [data-testid=member-count]').textContent(), '1');
  await goto(page, '/groups/platform');
  await page.getByTestId('delete-group').click();
  await page.getByTestId('delete-group-dialog').getByTestId('confirm').click();
  await page.waitForURL(`${server.base}/groups`);
  assert.equal((await api('GET', '/api/v1/groups/platform')).status, 404);
  assert.deepEqual(errors, []);
  await context.close();
});

// ---------------------------------------------------------------------------
// Service principals

test('a service principal secret generated in the portal works with the copied podman login command, is never shown again, and fails once deleted', async () => {
  const clients = containerClients();
  try {
    const image = ociImage(join(clients.dir, 'images', 'app'), 'app.conf', 'listen 80\n');
    const pushed = clients.run('skopeo', ['copy', '--preserve-digests', '--dest-creds', `admin:${ADMIN_PASSWORD}`,
      '--dest-tls-verify=false', image, `docker://${host}/deploy/app:v1`]);
    assert.ok(pushed.ok, pushed.report);

    const { context, page, errors } = await adminPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });

    // Created without a secret: its page opens.
    await goto(page, '/service-principals');
    await page.getByTestId('sp-name-input').fill('deploy-ci');
    await page.getByTestId('sp-description-input').fill('Deploys the app');
    await page.getByTestId('sp-with-secret').uncheck();
    await page.getByTestId('create-sp').click();
    await page.waitForURL(`${server.base}/service-principals/deploy-ci`);
    await page.getByTestId('secrets-empty').waitFor();
    assert.equal(await page.getByTestId('login-server').textContent(), host);
    await assign(REPOSITORY_READER, 'deploy-ci');

    // Generate a secret with an expiry.
    const expiry = dateIn(30);
    await page.getByTestId('new-secret').click();
    const dialog = page.getByTestId('secret-dialog');
    await dialog.waitFor();
    await dialog.getByTestId('secret-description-input').fill('pipeline');
    await dialog.getByTestId('secret-expiry-input').fill(expiry);
    await dialog.getByTestId('secret-submit').click();
    const secret = (await dialog.getByTestId('generated-secret').textContent()).trim();
    assert.match(secret, /^pcs_/);
    assert.match(await dialog.getByTestId('generated-expiry').textContent(), new RegExp(`Expires ${expiry} 00:00 UTC`));
    const podmanText = await dialog.getByTestId('podman-login').textContent();
    assert.equal(podmanText,
      `read -rs SP_SECRET && echo "$SP_SECRET" | podman login --tls-verify=false --username deploy-ci --password-stdin ${host}`);
    assert.equal(await dialog.getByTestId('docker-login').textContent(),
      `read -rs SP_SECRET && echo "$SP_SECRET" | docker login --username deploy-ci --password-stdin ${host}`);
    await shot(page, 'identities-sp-secret.png');
    await dialog.getByTestId('copy-podman-login').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=copy-podman-login]')?.textContent === 'Copied');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, podmanText);
    await dialog.getByTestId('generated-done').click();
    await dialog.waitFor({ state: 'detached' });
    const row = page.getByTestId('secret-row');
    await row.first().waitFor();
    assert.match(await row.first().getByTestId('secret-expiry').textContent(), new RegExp(expiry));

    // Never shown again: not in the page, a reload, the list, the API.
    const leaks = [];
    const look = (where, text) => { if (text.includes(secret)) leaks.push(where); };
    look('page after closing', await page.content());
    const reload = await page.reload();
    await hydrated(page);
    look('reloaded page (server HTML)', await reload.text());
    look('reloaded page (DOM)', await page.content());
    look('list page', await (await goto(page, '/service-principals')).text());
    look('API', (await api('GET', '/api/v1/service-principals/deploy-ci')).text);
    look('portal function', await (await page.request.get(`${server.base}/portal/identities_sp?name=deploy-ci`)).text());
    assert.deepEqual(leaks, []);

    // The copied command, run exactly as copied, logs in; the SP can read.
    const login = runSnippet(clients, copied, { input: `${secret}\n` });
    assert.ok(login.ok, login.report);
    assert.match(login.stdout, /Login Succeeded/);
    const inspect = clients.run('skopeo', ['inspect', '--tls-verify=false', '--authfile', clients.authFile,
      `docker://${host}/deploy/app:v1`]);
    assert.ok(inspect.ok, inspect.report);
    assert.match(inspect.stdout, /"Digest": "sha256:/);

    // Delete the secret (behind a confirmation): the same login fails.
    await goto(page, '/service-principals/deploy-ci');
    await page.getByTestId('delete-secret').click();
    const confirm = page.getByTestId('delete-dialog');
    await confirm.waitFor();
    await confirm.getByTestId('confirm').click();
    await confirm.waitFor({ state: 'detached' });
    await page.getByTestId('secrets-empty').waitFor();
    const again = runSnippet(clients, copied, { input: `${secret}\n` });
    assert.ok(!again.ok, again.report);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    clients.cleanup();
  }
});

test('a service principal created with its first secret shows it once; disable, federated credentials with their CI snippet, delete', async () => {
  const { context, page, errors } = await adminPage();
  await goto(page, '/service-principals');
  await page.getByTestId('sp-name-input').fill('release-ci');
  await page.getByTestId('create-sp').click();
  const dialog = page.getByTestId('secret-dialog');
  await dialog.waitFor();
  const secret = (await dialog.getByTestId('generated-secret').textContent()).trim();
  assert.match(await dialog.getByTestId('generated-expiry').textContent(), /Never expires/);
  assert.ok(await authenticates('release-ci', secret));
  await dialog.getByTestId('generated-done').click();
  await page.waitForURL(`${server.base}/service-principals/release-ci`);
  await page.getByTestId('secret-row').waitFor();
  assert.ok(!(await page.content()).includes(secret));

  // Disable: the secret no longer logs in; enable again.
  await page.getByTestId('toggle-enabled').click();
  await textMatches(page.getByTestId('sp-title'), /Disabled/);
  assert.ok(!(await authenticates('release-ci', secret)));
  await page.getByTestId('toggle-enabled').click();
  await textMatches(page.getByTestId('sp-title'), /Enabled/);
  assert.ok(await authenticates('release-ci', secret));

  // A federated credential: refused with the service's message, then made.
  await page.getByTestId('federated-name-input').fill('main-branch');
  await page.getByTestId('federated-issuer-input').fill('ftp://example');
  await page.getByTestId('federated-audience-input').fill('api://portcullis');
  await page.getByTestId('federated-subject-input').fill('repo:acme/api:ref:refs/heads/*');
  await page.getByTestId('create-federated').click();
  await textMatches(page.getByTestId('federated-error'), /issuer/i);
  await page.getByTestId('federated-issuer-input').fill('https://token.actions.githubusercontent.com');
  await page.getByTestId('create-federated').click();
  const credential = page.locator('[data-testid=federated-row][data-name=main-branch]');
  await credential.waitFor();
  assert.equal(await credential.getByTestId('federated-subject').textContent(), 'repo:acme/api:ref:refs/heads/*');
  assert.equal(await credential.getByTestId('federated-snippet-docker').textContent(),
    '# ID_TOKEN: the job\'s OpenID Connect token for audience api://portcullis\n'
    + `REFRESH=$(curl -s http://${host}/oauth2/exchange \\\n`
    + '  -d grant_type=access_token -d access_token="$ID_TOKEN" | jq -r .refresh_token)\n'
    + `echo "$REFRESH" | docker login --username 00000000-0000-0000-0000-000000000000 --password-stdin ${host}`);
  await shot(page, 'identities-sp-federated.png');
  const listed = (await api('GET', '/api/v1/service-principals/release-ci/federated-credentials')).json();
  assert.deepEqual(listed.map((c) => c.name), ['main-branch']);
  await credential.getByTestId('delete-federated').click();
  await page.getByTestId('delete-dialog').getByTestId('confirm').click();
  await page.getByTestId('federated-empty').waitFor();
  assert.deepEqual((await api('GET', '/api/v1/service-principals/release-ci/federated-credentials')).json(), []);

  // Delete the service principal behind its confirmation.
  await page.getByTestId('delete-sp').click();
  await page.getByTestId('delete-dialog').getByTestId('confirm').click();
  await page.waitForURL(`${server.base}/service-principals`);
  assert.equal((await api('GET', '/api/v1/service-principals/release-ci')).status, 404);
  assert.ok(!(await authenticates('release-ci', secret)));
  assert.deepEqual(errors, []);
  await context.close();
});

/** An OpenID Connect issuer on loopback: discovery, its key set, and ID
 *  tokens signed with its RSA key. */
async function startIssuer() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'e2e-key', alg: 'RS256', use: 'sig' };
  let issuer;
  const http = createServer((request, response) => {
    const body = request.url === '/.well-known/openid-configuration' ? { issuer, jwks_uri: `${issuer}/jwks` }
      : request.url === '/jwks' ? { keys: [jwk] } : undefined;
    response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    response.end(body ? JSON.stringify(body) : '{}');
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${http.address().port}`;
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return {
    issuer,
    idToken(claims) {
      const now = Math.floor(Date.now() / 1000);
      const signed = `${part({ alg: 'RS256', typ: 'JWT', kid: 'e2e-key' })}.${part({ iss: issuer, iat: now, exp: now + 600, ...claims })}`;
      return `${signed}.${sign('sha256', Buffer.from(signed), privateKey).toString('base64url')}`;
    },
    stop: () => new Promise((resolve) => http.close(resolve)),
  };
}

test('a federated credential made in the portal: its copied podman CI snippet exchanges a real ID token and logs in; deleted, it no longer does', async () => {
  const clients = containerClients();
  const oidc = await startIssuer();
  try {
    const image = ociImage(join(clients.dir, 'images', 'api'), 'api.conf', 'port 8080\n');
    const pushed = clients.run('skopeo', ['copy', '--preserve-digests', '--dest-creds', `admin:${ADMIN_PASSWORD}`,
      '--dest-tls-verify=false', image, `docker://${host}/acme/api:v1`]);
    assert.ok(pushed.ok, pushed.report);
    assert.equal((await api('POST', '/api/v1/service-principals', { name: 'acme-ci', createSecret: false })).status, 201);
    await assign(REPOSITORY_READER, 'acme-ci');

    const { context, page, errors } = await adminPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
    await goto(page, '/service-principals/acme-ci');
    await page.getByTestId('federated-name-input').fill('main');
    await page.getByTestId('federated-issuer-input').fill(oidc.issuer);
    await page.getByTestId('federated-audience-input').fill('api://portcullis-e2e');
    await page.getByTestId('federated-subject-input').fill('repo:acme/api:ref:refs/heads/*');
    await page.getByTestId('create-federated').click();
    const credential = page.locator('[data-testid=federated-row][data-name=main]');
    await credential.waitFor();
    await credential.getByTestId('copy-federated-podman').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=copy-federated-podman]')?.textContent === 'Copied');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, await credential.getByTestId('federated-snippet-podman').textContent());
    assert.match(copied, /podman login --tls-verify=false --username 00000000-0000-0000-0000-000000000000 --password-stdin/);

    // The job: its ID token in $ID_TOKEN, then the snippet exactly as copied.
    const job = (subject) => `ID_TOKEN=${shellQuote(oidc.idToken({ aud: 'api://portcullis-e2e', sub: subject }))}\n${copied}`;
    const login = await runSnippet(clients, job('repo:acme/api:ref:refs/heads/main'), { wait: true });
    assert.ok(login.ok, login.report);
    assert.match(login.stdout, /Login Succeeded/);
    const inspect = clients.run('skopeo', ['inspect', '--tls-verify=false', '--authfile', clients.authFile,
      `docker://${host}/acme/api:v1`]);
    assert.ok(inspect.ok, inspect.report);
    // Another branch's token does not match the subject.
    const other = await runSnippet(clients, job('repo:acme/api:pull_request'), { wait: true });
    assert.ok(!other.ok, other.report);

    // Deleted in the portal: the same job no longer logs in.
    await credential.getByTestId('delete-federated').click();
    await page.getByTestId('delete-dialog').getByTestId('confirm').click();
    await page.getByTestId('federated-empty').waitFor();
    const after = await runSnippet(clients, job('repo:acme/api:ref:refs/heads/main'), { wait: true });
    assert.ok(!after.ok, after.report);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await oidc.stop();
    clients.cleanup();
  }
});

// ---------------------------------------------------------------------------
// Access

test('a Reader sees users, groups and service principals read-only, and the server functions refuse its changes', async () => {
  assert.equal((await api('POST', '/api/v1/users', { name: 'rita', password: 'rita-reader-password' })).status, 201);
  assert.equal((await api('POST', '/api/v1/users', { name: 'victim', password: 'victim-password-123' })).status, 201);
  assert.equal((await api('POST', '/api/v1/groups', { name: 'readers-see' })).status, 201);
  assert.equal((await api('POST', '/api/v1/service-principals', { name: 'reader-sees-ci', createSecret: false })).status, 201);
  await assign('Reader', 'rita');

  const { context, page, errors } = await signedInPage('rita', 'rita-reader-password');
  await goto(page, '/users');
  await page.locator('[data-testid=user-row][data-name=victim]').waitFor();
  assert.equal(await page.getByTestId('add-user').count(), 0);
  await goto(page, '/users/victim');
  await page.getByTestId('user-title').waitFor();
  for (const button of ['toggle-enabled', 'reset-password', 'delete-user']) {
    assert.equal(await page.getByTestId(button).count(), 0, button);
  }
  await shot(page, 'identities-reader-user.png');
  await goto(page, '/groups');
  assert.equal(await page.getByTestId('new-group-form').count(), 0);
  await goto(page, '/groups/readers-see');
  await page.getByTestId('group-title').waitFor();
  assert.equal(await page.getByTestId('delete-group').count(), 0);
  assert.equal(await page.getByTestId('member-picker').count(), 0);
  await goto(page, '/service-principals');
  assert.equal(await page.getByTestId('new-sp-form').count(), 0);
  await goto(page, '/service-principals/reader-sees-ci');
  await page.getByTestId('sp-title').waitFor();
  for (const button of ['toggle-enabled', 'delete-sp', 'new-secret', 'new-federated-form']) {
    assert.equal(await page.getByTestId(button).count(), 0, button);
  }

  // The server functions refuse, whatever the page shows.
  const session = await (await page.request.get(`${server.base}/portal/session`)).json();
  const writes = {
    identities_user_create: { name: 'sneaky', password: 'sneaky-password-1' },
    identities_user_enable: { name: 'victim', enabled: 'false' },
    identities_user_password: { name: 'victim', generate: 'true' },
    identities_user_delete: { name: 'victim' },
    identities_group_create: { name: 'sneaky-group' },
    identities_group_member: { group: 'readers-see', member: 'rita', add: 'true' },
    identities_sp_create: { name: 'sneaky-sp', create_secret: 'true' },
    identities_sp_secret_generate: { name: 'reader-sees-ci' },
    identities_sp_delete: { name: 'reader-sees-ci' },
  };
  for (const [endpoint, form] of Object.entries(writes)) {
    const response = await page.request.post(`${server.base}/portal/${endpoint}`,
      { form: { csrf_token: session.csrf_token, ...form } });
    assert.equal(response.status(), 403, endpoint);
    assert.match(await response.text(), /Forbidden/, `${endpoint}: refused for its role, not for CSRF`);
  }
  assert.equal((await api('GET', '/api/v1/users/victim')).json().enabled, true);
  assert.equal((await api('GET', '/api/v1/users/sneaky')).status, 404);
  assert.equal((await api('GET', '/api/v1/service-principals/reader-sees-ci')).status, 200);
  assert.deepEqual((await api('GET', '/api/v1/groups/readers-see')).json().members, []);
  assert.deepEqual(errors, []);
  await context.close();

  // Signed out: the reads answer 401.
  const anonymous = await chromium.browser.newContext();
  for (const read of ['identities_users', 'identities_groups', 'identities_sps', 'identities_user?name=victim']) {
    assert.equal((await anonymous.request.get(`${server.base}/portal/${read}`)).status(), 401, read);
  }
  await anonymous.close();
});

test('the new-user form works with the keyboard alone, the generated password dialog included', async () => {
  const { context, page, errors } = await adminPage();
  await goto(page, '/users/new');
  // Tab from the top of the page to the name field.
  for (let presses = 0; presses < 40; presses += 1) {
    if (await page.evaluate(() => document.activeElement?.dataset.testid === 'user-name-input')) break;
    await page.keyboard.press('Tab');
  }
  const focused = () => page.evaluate(() => document.activeElement?.dataset.testid);
  assert.equal(await focused(), 'user-name-input');
  await page.keyboard.type('kim');
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'display-name-input');
  await page.keyboard.type('Kim Keys');
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'password-set');
  // Arrow keys move between the radios: generate it.
  await page.keyboard.press('ArrowRight');
  assert.equal(await focused(), 'password-generate');
  assert.equal(await page.getByTestId('password-generate').isChecked(), true);
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'create-user');
  await page.keyboard.press('Enter');
  const dialog = page.getByTestId('password-dialog');
  await dialog.waitFor();
  // Focus is in the dialog, on the warning; Tab stays inside.
  await page.waitForFunction(() => document.activeElement?.dataset.testid === 'show-once-warning');
  for (let presses = 0; presses < 4; presses += 1) {
    await page.keyboard.press('Tab');
    assert.ok(await page.evaluate(() => document.querySelector('[data-testid=password-dialog]').contains(document.activeElement)));
  }
  const password = (await dialog.getByTestId('generated-password').textContent()).trim();
  assert.ok(await authenticates('kim', password));
  await shot(page, 'identities-keyboard-dialog.png');
  // Escape closes it, and the user's page opens.
  await page.keyboard.press('Escape');
  await page.waitForURL(`${server.base}/users/kim`);
  await page.getByTestId('user-title').waitFor();
  assert.equal(await page.getByTestId('display-name').textContent(), 'Kim Keys');
  assert.deepEqual(errors, []);
  await context.close();
});
