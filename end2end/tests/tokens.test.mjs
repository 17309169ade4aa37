// Tokens and scope maps in a real browser (SPEC §2 items 1-3, 5, 6): the
// list with paging and search, Add with a new scope map inline, the token
// page (status, scope map, passwords, discard), the generate dialog (once
// only, keyboard usable), the scope map pages, and the walkthrough of
// seed 001 ending with podman logging in with the copied command, pulling
// and being refused a push. Each test saves a screenshot to
// end2end/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startServer, launchBrowser, hydrated, signIn, artifacts, ADMIN_PASSWORD, containerClients, runSnippet,
} from './support.mjs';

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

const adminAuth = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;

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

/** A signed-in admin page in its own context, collecting page errors. */
async function adminPage(options = {}) {
  const context = await chromium.browser.newContext(options);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await signIn(page, server.base, 'admin', ADMIN_PASSWORD);
  await page.waitForURL(`${server.base}/`);
  return { context, page, errors };
}

async function goto(page, path) {
  const response = await page.goto(`${server.base}${path}`);
  await hydrated(page);
  return response;
}

/** On a phone, tables scroll inside their box; the page itself never does. */
async function assertFitsPhone(page) {
  await page.setViewportSize({ width: 390, height: 844 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 391, `${page.url()} is ${width}px wide on a 390px phone`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, name), fullPage: true });
}

/** YYYY-MM-DD, `days` from today (UTC). */
function dateIn(days) {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** Adds a repository row in the rules editor the page shows. */
async function addRule(page, repository, actions) {
  const row = page.getByTestId('new-rule');
  await row.getByLabel('Repository', { exact: true }).fill(repository);
  for (const action of actions) {
    await row.getByRole('checkbox', { name: action, exact: true }).check();
  }
  await row.getByTestId('add-rule').click();
  await page.locator(`[data-testid=rule-row] input[aria-label=Repository]`).last().waitFor();
}

/** Opens the generate dialog of `slot` and generates, returning the password. */
async function generate(page, slot, expiry) {
  await page.getByTestId(`generate-${slot}`).click();
  const dialog = page.getByTestId('generate-dialog');
  await dialog.waitFor();
  if (expiry) await dialog.getByTestId('expiry-input').fill(expiry);
  await dialog.getByTestId('generate-submit').click();
  const password = dialog.getByTestId('generated-password');
  await password.waitFor();
  return (await password.textContent()).trim();
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
// Seed 001, end to end

test('seed 001: scope map with content/read on tobi-demo/nginx, token, password with expiry, podman login with the copied command, pull works, push is denied', async () => {
  const clients = containerClients();
  try {
    // The image to pull, pushed as admin.
    const image = ociImage(join(clients.dir, 'images', 'nginx'), 'nginx.conf', 'events {}\nhttp {}\n');
    const pushed = clients.run('skopeo', ['copy', '--preserve-digests', '--dest-creds', `admin:${ADMIN_PASSWORD}`,
      '--dest-tls-verify=false', image, `docker://${host}/tobi-demo/nginx:v1`]);
    assert.ok(pushed.ok, pushed.report);

    const { context, page, errors } = await adminPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });

    // Scope maps > + Add: content/read on tobi-demo/nginx.
    await goto(page, '/scope-maps');
    await page.getByTestId('add-scope-map').click();
    await page.waitForURL(`${server.base}/scope-maps/new`);
    await page.getByTestId('scope-map-name').fill('tobi-nginx-read');
    await page.getByTestId('scope-map-description').fill('Pull tobi-demo/nginx');
    await addRule(page, 'tobi-demo/nginx', ['content/read']);
    await shot(page, 'seed001-1-scope-map-new.png');
    await page.getByTestId('save-scope-map').click();
    await page.waitForURL(`${server.base}/scope-maps/tobi-nginx-read`);
    await page.getByTestId('scope-map-title').waitFor();

    // Tokens > + Add, on that scope map; no password yet.
    await goto(page, '/tokens');
    await page.getByTestId('add-token').click();
    await page.waitForURL(`${server.base}/tokens/new`);
    await page.getByTestId('token-name-input').fill('tobi-nginx-reader');
    await page.getByTestId('scope-map-select').selectOption('tobi-nginx-read');
    assert.equal(await page.getByTestId('status-enabled').isChecked(), true, 'enabled by default');
    await shot(page, 'seed001-2-token-new.png');
    await page.getByTestId('create-token').click();
    await page.waitForURL(`${server.base}/tokens/tobi-nginx-reader`);
    const rows = page.getByTestId('password-row');
    await rows.first().waitFor();
    assert.match(await rows.nth(0).getByTestId('password-expiry').textContent(), /Not generated/);
    assert.match(await rows.nth(1).getByTestId('password-expiry').textContent(), /Not generated/);
    assert.equal(await page.getByTestId('login-server').textContent(), host);

    // Generate password1 with an expiry date.
    const expiry = dateIn(30);
    const password = await generate(page, 'password1', expiry);
    assert.match(password, /^pct_[A-Za-z0-9_-]{43}$/);
    const dialog = page.getByTestId('generate-dialog');
    assert.match(await dialog.getByTestId('generated-expiry').textContent(), new RegExp(`Expires ${expiry} 00:00 UTC`));
    assert.match(await dialog.getByTestId('show-once-warning').textContent(), /cannot be retrieved/);
    const podmanText = await dialog.getByTestId('podman-login').textContent();
    // The lines hold no password: the shell reads it without echo, out of
    // the history; podman skips TLS on this plain-HTTP registry.
    assert.equal(podmanText,
      `read -rs TOKEN_PWD && echo "$TOKEN_PWD" | podman login --tls-verify=false --username tobi-nginx-reader --password-stdin ${host}`);
    assert.equal(await dialog.getByTestId('docker-login').textContent(),
      `read -rs TOKEN_PWD && echo "$TOKEN_PWD" | docker login --username tobi-nginx-reader --password-stdin ${host}`);
    assert.match(await dialog.getByTestId('login-hint').textContent(), /keeps it out of its history/);
    const storage = await dialog.getByTestId('secret-storage').textContent();
    assert.match(storage, /secret store or in your CI system's secret variables/);
    assert.match(storage, /Do not paste it into chat, e-mail/);
    await shot(page, 'seed001-3-password-generated.png');

    // Copy the podman command with its button; what is pasted is what was shown.
    await dialog.getByTestId('copy-podman-login').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=copy-podman-login]')?.textContent === 'Copied');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, podmanText);
    await dialog.getByTestId('generated-done').click();
    await dialog.waitFor({ state: 'detached' });
    assert.match(await rows.nth(0).getByTestId('password-expiry').textContent(), new RegExp(expiry));
    await shot(page, 'seed001-4-token-page.png');
    assert.deepEqual(errors, []);
    await context.close();

    // Paste it into a shell as it is (podman with its private store and auth
    // file), then type the password when the shell waits for it.
    const login = runSnippet(clients, copied, { input: `${password}\n` });
    assert.ok(login.ok, login.report);
    assert.match(login.stdout, /Login Succeeded/);

    // Pull is allowed...
    const reference = `${host}/tobi-demo/nginx:v1`;
    const pull = clients.podman(['pull', '--tls-verify=false', '--authfile', clients.authFile, reference]);
    assert.ok(pull.ok, pull.report);
    // ...push is not (content/read only).
    const push = clients.podman(['push', '--tls-verify=false', '--authfile', clients.authFile, reference,
      `docker://${host}/tobi-demo/nginx:v2`]);
    assert.ok(!push.ok, push.report);
    assert.match(push.stderr, /requested access to the resource is denied|denied/i, push.report);
    // Nor may it push anywhere else.
    const other = clients.podman(['push', '--tls-verify=false', '--authfile', clients.authFile, reference,
      `docker://${host}/tobi-demo/other:v1`]);
    assert.ok(!other.ok, other.report);
  } finally {
    clients.cleanup();
  }
});

// ---------------------------------------------------------------------------
// The one-time password

test('a generated password is never shown again: not in the page once closed, a reload, the list, nor the API', async () => {
  assert.equal((await api('POST', '/api/v1/tokens', { name: 'once-only', scopeMap: '_repositories_pull', generatePasswords: false })).status, 201);
  const { context, page, errors } = await adminPage();
  await goto(page, '/tokens/once-only');
  const password = await generate(page, 'password2');
  assert.match(password, /^pct_/);
  // It works (so the string searched for below is the real one).
  const check = await fetch(`${server.base}/v2/`, {
    headers: { authorization: `Basic ${Buffer.from(`once-only:${password}`).toString('base64')}` },
  });
  assert.equal(check.status, 200);

  await page.getByTestId('generated-done').click();
  await page.getByTestId('generate-dialog').waitFor({ state: 'detached' });
  await page.getByTestId('delete-password2').waitFor();
  const leaks = [];
  const look = (where, text) => { if (text.includes(password)) leaks.push(where); };
  look('page after closing', await page.content());
  look('URL', page.url());
  look('page storage', await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })));

  const reload = await page.reload();
  await hydrated(page);
  look('reloaded token page (server HTML)', await reload.text());
  look('reloaded token page (DOM)', await page.content());
  const list = await goto(page, '/tokens');
  look('token list (server HTML)', await list.text());
  look('token list (DOM)', await page.content());
  look('GET /api/v1/tokens/once-only', (await api('GET', '/api/v1/tokens/once-only')).text);
  look('GET /api/v1/tokens', (await api('GET', '/api/v1/tokens')).text);
  look('portal token function', await (await page.request.get(`${server.base}/portal/token?name=once-only`)).text());
  look('portal list function', await (await page.request.get(`${server.base}/portal/tokens_list?search=once&limit=25`)).text());
  assert.deepEqual(leaks, []);

  // Closing with Escape forgets it just the same.
  await goto(page, '/tokens/once-only');
  const second = await generate(page, 'password1');
  await page.keyboard.press('Escape');
  await page.getByTestId('generate-dialog').waitFor({ state: 'detached' });
  assert.ok(!(await page.content()).includes(second), 'Escape left the password in the page');
  await shot(page, 'password-gone-after-close.png');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the generate dialog is a keyboard-usable modal: focus moves in, Tab stays in, Escape closes, the expiry starts tomorrow', async () => {
  assert.equal((await api('POST', '/api/v1/tokens', { name: 'keyboard-user', scopeMap: '_repositories_pull', generatePasswords: false })).status, 201);
  const { context, page, errors } = await adminPage();
  await goto(page, '/tokens/keyboard-user');
  await page.getByTestId('generate-password1').focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Generate password1' });
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute('aria-modal'), 'true');
  const focusInDialog = () => page.evaluate(() => !!document.activeElement?.closest('[role=dialog]'));
  assert.ok(await focusInDialog(), 'focus moved into the dialog');
  for (let i = 0; i < 8; i += 1) {
    await page.keyboard.press('Tab');
    assert.ok(await focusInDialog(), `Tab ${i + 1} left the dialog`);
  }
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });

  // The picker starts tomorrow (UTC): today or a past date is refused by the
  // browser before anything is sent, and nothing is generated.
  await page.getByTestId('generate-password1').click();
  await dialog.waitFor();
  const expiryInput = dialog.getByTestId('expiry-input');
  await page.waitForFunction((input) => input.min !== '', await expiryInput.elementHandle());
  assert.equal(await expiryInput.getAttribute('min'), dateIn(1));
  for (const refused of [dateIn(-2), dateIn(0)]) {
    await expiryInput.fill(refused);
    await dialog.getByTestId('generate-submit').click();
    assert.equal(await expiryInput.evaluate((input) => input.validity.rangeUnderflow), true, refused);
    assert.equal(await dialog.getByTestId('generated-password').count(), 0);
  }
  await shot(page, 'generate-dialog-error.png');

  // Keyboard only: Tab to Generate, Enter.
  await dialog.getByTestId('expiry-input').fill('');
  let onGenerate = false;
  for (let i = 0; i < 12 && !onGenerate; i += 1) {
    await page.keyboard.press('Tab');
    onGenerate = await page.evaluate(() => document.activeElement?.dataset.testid === 'generate-submit');
  }
  assert.ok(onGenerate, 'Generate is reachable with Tab');
  await page.keyboard.press('Enter');
  await dialog.getByTestId('generated-password').waitFor();
  assert.ok(await focusInDialog(), 'focus stays in the dialog once the password shows');
  await assertFitsPhone(page);
  await shot(page, 'generate-dialog-phone.png');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.deepEqual(errors, []);
  await context.close();
});

// ---------------------------------------------------------------------------
// Tokens

test('the token list pages by name with Next and Previous, searches by prefix, and shows status, passwords and the total', async () => {
  for (let i = 0; i < 30; i += 1) {
    const name = `fleet-device-${String(i).padStart(3, '0')}`;
    const created = await api('POST', '/api/v1/tokens', { name, scopeMap: '_repositories_pull', generatePasswords: i === 0,
      status: i === 1 ? 'disabled' : 'enabled' });
    assert.equal(created.status, 201, created.text);
  }
  const total = (await api('GET', '/api/v1/tokens?limit=1000')).json().items.length;
  const { context, page, errors } = await adminPage();
  await goto(page, '/tokens?q=fleet-device');
  const names = () => page.getByTestId('token-row').evaluateAll((rows) => rows.map((row) => row.dataset.name));
  assert.equal(await page.getByTestId('tokens-total').textContent(), `${total} tokens in the registry`);
  let page1 = await names();
  assert.equal(page1.length, 25);
  assert.equal(page1[0], 'fleet-device-000');
  assert.equal(page1[24], 'fleet-device-024');
  assert.equal(await page.getByRole('columnheader', { name: /Name/ }).getAttribute('aria-sort'), 'ascending');
  // Row content: status, passwords, last used.
  const first = page.locator('[data-testid=token-row][data-name=fleet-device-000]');
  assert.match(await first.textContent(), /_repositories_pull/);
  assert.match(await first.textContent(), /No expiry.*No expiry.*Never/);
  const second = page.locator('[data-testid=token-row][data-name=fleet-device-001]');
  assert.match(await second.textContent(), /Disabled.*Not generated.*Not generated/);
  await shot(page, 'tokens-list.png');

  await page.getByTestId('tokens-next').click();
  await page.waitForURL(/after=fleet-device-024/);
  await page.locator('[data-testid=token-row][data-name=fleet-device-025]').waitFor();
  assert.deepEqual(await names(), ['fleet-device-025', 'fleet-device-026', 'fleet-device-027', 'fleet-device-028', 'fleet-device-029']);
  assert.equal(await page.getByTestId('tokens-page').textContent(), 'Page 2');
  assert.equal(await page.getByTestId('tokens-next').count(), 0, 'no Next on the last page');
  await page.getByTestId('tokens-previous').click();
  await page.locator('[data-testid=token-row][data-name=fleet-device-000]').waitFor();
  assert.deepEqual(await names(), page1);
  assert.equal(await page.getByTestId('tokens-previous').count(), 0, 'no Previous on the first page');

  // Sorting by name Z→A pages the same way, from the other end.
  await page.getByTestId('tokens-sort').click();
  await page.waitForURL(/order=desc/);
  await page.locator('[data-testid=token-row][data-name=fleet-device-029]').first().waitFor();
  assert.equal(await page.getByRole('columnheader', { name: /Name/ }).getAttribute('aria-sort'), 'descending');
  const descending = await names();
  assert.equal(descending[0], 'fleet-device-029');
  assert.equal(descending[24], 'fleet-device-005');
  await page.getByTestId('tokens-next').click();
  await page.waitForURL(/after=fleet-device-005/);
  await page.locator('[data-testid=token-row][data-name=fleet-device-000]').waitFor();
  assert.deepEqual(await names(), ['fleet-device-004', 'fleet-device-003', 'fleet-device-002', 'fleet-device-001', 'fleet-device-000']);
  await shot(page, 'tokens-list-descending.png');
  await page.getByTestId('tokens-sort').click();
  await page.locator('[data-testid=token-row][data-name=fleet-device-024]').waitFor();
  assert.equal((await names())[0], 'fleet-device-000');

  // Search (case-insensitive prefix) with the form.
  await page.getByTestId('token-search').fill('FLEET-DEVICE-01');
  await page.getByTestId('token-search-submit').click();
  await page.waitForURL(/q=FLEET-DEVICE-01/);
  // fleet-device-019 was on the first page already: wait for a row the search drops.
  await page.locator('[data-testid=token-row][data-name=fleet-device-000]').waitFor({ state: 'detached' });
  await page.locator('[data-testid=token-row][data-name=fleet-device-019]').waitFor();
  assert.equal((await names()).length, 10);
  await page.getByTestId('token-search').fill('nobody-here');
  await page.getByTestId('token-search-submit').click();
  await page.getByTestId('tokens-empty').waitFor();
  assert.match(await page.getByTestId('tokens-empty').textContent(), /No token name starts with/);

  // A reload of a later page shows that page (the position is in the URL).
  await goto(page, '/tokens?q=fleet-device&after=fleet-device-024&trail=');
  assert.equal((await names()).length, 5);

  // On a phone the table scrolls inside its box; the page itself does not.
  await goto(page, '/tokens?q=fleet-device');
  await assertFitsPhone(page);
  await shot(page, 'tokens-list-phone.png');
  assert.deepEqual(errors, []);
  await context.close();
});

test('Add token with a new scope map inline (validation inline), then status, scope map switch, password delete and discard', async () => {
  const { context, page, errors } = await adminPage();
  await goto(page, '/tokens/new');
  await page.getByTestId('token-name-input').fill('ci-pipeline');
  await page.getByTestId('create-new-scope-map').check();
  const newMap = page.getByTestId('new-scope-map');
  assert.equal(await newMap.getByTestId('new-scope-map-name').inputValue(), 'ci-pipeline-scope-map');
  await newMap.getByTestId('new-scope-map-name').fill('ci-pipeline-map');
  await newMap.getByTestId('new-scope-map-description').fill('CI pushes samples');
  // A scope map without repositories would make a token that can do nothing.
  const emptyWarning = newMap.getByTestId('empty-scope-map-warning');
  assert.match(await emptyWarning.textContent(), /grants nothing yet/);
  // The placeholder reads as an example, not an entry.
  assert.match(await page.getByTestId('new-rule').getByLabel('Repository', { exact: true }).getAttribute('placeholder'), /^e\.g\. /);
  await addRule(page, 'samples/*/team-a', ['content/read', 'content/write']);
  await emptyWarning.waitFor({ state: 'detached' });
  // + Add moves the focus to the row it added.
  assert.equal(await page.evaluate(() => document.activeElement?.value), 'samples/*/team-a');
  await page.getByTestId('create-token').click();
  const error = page.getByTestId('form-error');
  await error.waitFor();
  assert.match(await error.textContent(), /wildcard `\*` in the middle/);
  // The refused row is marked, the others not.
  const refusedRow = page.locator('[data-testid=rule-row][data-invalid=true]');
  await refusedRow.waitFor();
  assert.equal(await refusedRow.getByLabel('Repository', { exact: true }).inputValue(), 'samples/*/team-a');
  assert.equal(await refusedRow.getByLabel('Repository', { exact: true }).getAttribute('aria-invalid'), 'true');
  await shot(page, 'token-new-invalid-pattern.png');
  // Nothing of the refused form was kept.
  assert.equal((await api('GET', '/api/v1/scope-maps/ci-pipeline-map')).status, 404);

  await page.locator('[data-testid=rule-row] input[aria-label=Repository]').fill('samples/*');
  await page.getByTestId('create-token').click();
  await page.waitForURL(`${server.base}/tokens/ci-pipeline`);
  await page.getByTestId('token-name').waitFor();
  const token = (await api('GET', '/api/v1/tokens/ci-pipeline')).json();
  assert.equal(token.status, 'enabled');
  assert.equal(token.scopeMap, 'ci-pipeline-map');
  assert.deepEqual(token.credentials.passwords, [], 'created without passwords');
  const map = (await api('GET', '/api/v1/scope-maps/ci-pipeline-map')).json();
  assert.equal(map.description, 'CI pushes samples');
  assert.deepEqual(map.repositories, [{ repository: 'samples/*', actions: ['content/read', 'content/write'] }]);

  // Status switch.
  const status = page.getByTestId('status-switch');
  assert.equal(await status.getAttribute('aria-checked'), 'true');
  await status.click();
  await page.waitForSelector('[data-testid=status-switch][aria-checked=false]');
  assert.equal((await api('GET', '/api/v1/tokens/ci-pipeline')).json().status, 'disabled');
  await page.getByTestId('status-switch').click();
  await page.waitForSelector('[data-testid=status-switch][aria-checked=true]');

  // Scope map switch.
  await page.getByTestId('scope-map-select').selectOption('_repositories_push');
  await page.getByTestId('change-scope-map').click();
  await page.getByTestId('change-scope-map').waitFor({ state: 'detached' });
  assert.equal((await api('GET', '/api/v1/tokens/ci-pipeline')).json().scopeMap, '_repositories_push');
  // Changed hands? The page suggests new passwords.
  assert.match(await page.getByTestId('rotate-suggestion').textContent(), /generate new passwords/);

  // Generate password2, then delete it, with a confirmation.
  await generate(page, 'password2');
  await page.getByTestId('generated-done').click();
  await page.getByTestId('delete-password2').click();
  const confirmDelete = page.getByRole('dialog', { name: 'Delete password2?' });
  await confirmDelete.waitFor();
  await shot(page, 'token-delete-password-confirm.png');
  await confirmDelete.getByTestId('confirm').click();
  await confirmDelete.waitFor({ state: 'detached' });
  await page.getByTestId('delete-password2').waitFor({ state: 'detached' });
  assert.deepEqual((await api('GET', '/api/v1/tokens/ci-pipeline')).json().credentials.passwords, []);
  await shot(page, 'token-details.png');

  // Discard: the confirmation names the token; Cancel keeps it.
  await page.getByTestId('discard-token').click();
  const discard = page.getByRole('dialog', { name: 'Discard token ci-pipeline?' });
  await discard.waitFor();
  assert.equal(await discard.getByTestId('discard-name').textContent(), 'ci-pipeline');
  await discard.getByRole('button', { name: 'Cancel' }).click();
  await discard.waitFor({ state: 'detached' });
  assert.equal((await api('GET', '/api/v1/tokens/ci-pipeline')).status, 200);
  await page.getByTestId('discard-token').click();
  await discard.waitFor();
  await shot(page, 'token-discard-confirm.png');
  await discard.getByTestId('confirm').click();
  await page.waitForURL(`${server.base}/tokens?discarded=ci-pipeline`);
  assert.equal(await page.getByTestId('done-notice').textContent(), 'Token ci-pipeline discarded.');
  assert.equal((await api('GET', '/api/v1/tokens/ci-pipeline')).status, 404);

  // An unknown token: a clear message.
  await goto(page, '/tokens/ci-pipeline');
  assert.match(await page.getByTestId('error').textContent(), /There is no token named ci-pipeline/);
  assert.deepEqual(errors, []);
  await context.close();
});

// ---------------------------------------------------------------------------
// Scope maps

test('scope maps: system-defined first and read-only; create and edit with inline wildcard messages; delete refused while in use', async () => {
  const { context, page, errors } = await adminPage();
  await goto(page, '/scope-maps');
  const rows = page.getByTestId('scope-map-row');
  const names = await rows.evaluateAll((all) => all.map((row) => row.dataset.name));
  const system = ['_repositories_admin', '_repositories_pull', '_repositories_pull_metadata_read',
    '_repositories_push', '_repositories_push_metadata_write'];
  assert.deepEqual(names.slice(0, 5), system);
  assert.match(await rows.first().textContent(), /SystemDefined/);

  // A system-defined one has no edit controls.
  await page.locator('[data-testid=scope-map-row][data-name=_repositories_pull] a').click();
  await page.waitForURL(`${server.base}/scope-maps/_repositories_pull`);
  await page.getByTestId('read-only-scope-map').waitFor();
  assert.equal(await page.getByTestId('save-scope-map').count(), 0);
  assert.equal(await page.getByTestId('delete-scope-map').count(), 0);
  assert.equal(await page.locator('main input, main select').count(), 0);
  await shot(page, 'scope-map-system.png');

  // Create: a wildcard not after `/` is refused with the service's words.
  await goto(page, '/scope-maps/new');
  await page.getByTestId('scope-map-name').fill('team-a-map');
  await page.getByTestId('scope-map-description').fill('Team A');
  await addRule(page, 'sample/team-a*', ['content/read']);
  await page.getByTestId('save-scope-map').click();
  const error = page.getByTestId('form-error');
  await error.waitFor();
  assert.match(await error.textContent(), /wildcard `\*` must follow `\/`/);
  await shot(page, 'scope-map-new-invalid.png');
  await page.locator('[data-testid=rule-row] input[aria-label=Repository]').fill('sample/*');
  // A second rule typed but not added with + Add is kept too, and the
  // editor says so while it is there.
  await page.getByTestId('new-rule').getByLabel('Repository', { exact: true }).fill('sample/team-a/project-b');
  assert.match(await page.getByTestId('draft-note').textContent(), /“sample\/team-a\/project-b” is not added yet: it is saved with the rows above/);
  await page.getByTestId('new-rule').getByRole('checkbox', { name: 'content/delete', exact: true }).check();
  await page.getByTestId('save-scope-map').click();
  await page.waitForURL(`${server.base}/scope-maps/team-a-map`);
  await page.getByTestId('scope-map-title').waitFor();
  let map = (await api('GET', '/api/v1/scope-maps/team-a-map')).json();
  assert.deepEqual(map.repositories, [
    { repository: 'sample/*', actions: ['content/read'] },
    { repository: 'sample/team-a/project-b', actions: ['content/delete'] },
  ]);

  // Edit: add a rule, remove one, untick an action, change the description.
  await addRule(page, 'sample/team-a/*', ['content/write']);
  await page.getByRole('button', { name: 'Remove sample/team-a/project-b' }).click();
  await page.getByRole('checkbox', { name: 'metadata/read on sample/*' }).check();
  await page.getByTestId('scope-map-description').fill('Team A, edited');
  await page.getByTestId('save-scope-map').click();
  await page.getByTestId('saved').waitFor();
  map = (await api('GET', '/api/v1/scope-maps/team-a-map')).json();
  assert.equal(map.description, 'Team A, edited');
  assert.deepEqual(map.repositories, [
    { repository: 'sample/*', actions: ['content/read', 'metadata/read'] },
    { repository: 'sample/team-a/*', actions: ['content/write'] },
  ]);
  // A bad edit is refused whole, with the message inline.
  await addRule(page, 'sample/*/team-a/*', ['content/read']);
  await page.getByTestId('save-scope-map').click();
  await page.getByTestId('form-error').waitFor();
  assert.match(await page.getByTestId('form-error').textContent(), /more than one wildcard/);
  assert.deepEqual((await api('GET', '/api/v1/scope-maps/team-a-map')).json().repositories, map.repositories);
  await shot(page, 'scope-map-edit.png');

  // Delete is refused while a token uses it, naming the token.
  assert.equal((await api('POST', '/api/v1/tokens', { name: 'team-a-bot', scopeMap: 'team-a-map', generatePasswords: false })).status, 201);
  await goto(page, '/scope-maps/team-a-map');
  await page.getByTestId('delete-scope-map').click();
  const confirm = page.getByRole('dialog', { name: 'Delete scope map team-a-map?' });
  await confirm.waitFor();
  await confirm.getByTestId('confirm').click();
  const refused = page.getByTestId('delete-error');
  await refused.waitFor();
  assert.match(await refused.textContent(), /team-a-map is used by tokens team-a-bot/);
  // Each token that keeps it is a link to that token.
  assert.equal(await page.getByTestId('in-use-tokens').getByRole('link', { name: 'team-a-bot' }).getAttribute('href'), '/tokens/team-a-bot');
  await shot(page, 'scope-map-delete-refused.png');

  // Once unused it goes.
  assert.equal((await api('DELETE', '/api/v1/tokens/team-a-bot')).status, 204);
  await page.getByTestId('delete-scope-map').click();
  await confirm.waitFor();
  await confirm.getByTestId('confirm').click();
  await page.waitForURL(`${server.base}/scope-maps?deleted=team-a-map`);
  assert.equal(await page.getByTestId('done-notice').textContent(), 'Scope map team-a-map deleted.');
  await rows.first().waitFor();
  assert.equal(await page.locator('[data-testid=scope-map-row][data-name=team-a-map]').count(), 0);
  await goto(page, '/scope-maps');
  await assertFitsPhone(page);
  await shot(page, 'scope-maps-phone.png');
  await goto(page, '/scope-maps/new');
  await assertFitsPhone(page);
  await shot(page, 'scope-map-new-phone.png');
  await goto(page, '/tokens/new');
  await page.getByTestId('create-new-scope-map').check();
  await assertFitsPhone(page);
  await shot(page, 'token-new-phone.png');
  assert.deepEqual(errors, []);
  await context.close();
});

// ---------------------------------------------------------------------------
// Access

test('every tokens server function answers 401 signed out and 403 to a signed-in token holder', async () => {
  const created = await api('POST', '/api/v1/tokens', { name: 'holder-token', scopeMap: '_repositories_pull' });
  assert.equal(created.status, 201, created.text);
  const password = created.json().credentials.passwords[0].value;
  const reads = ['tokens_list?limit=5', 'token?name=holder-token', 'scope_maps', 'scope_map?name=_repositories_pull'];
  const writes = {
    token_create: { name: 'sneaky-token', scope_map: '_repositories_admin', enabled: 'true' },
    token_update: { name: 'holder-token', scope_map: '_repositories_admin' },
    token_delete: { name: 'holder-token' },
    token_password_generate: { name: 'holder-token', slot: 'password1' },
    token_password_delete: { name: 'holder-token', slot: 'password2' },
    scope_map_create: { name: 'sneaky-map', 'repositories[0][repository]': '*', 'repositories[0][actions][0]': 'content/write' },
    scope_map_update: { name: '_repositories_pull' },
    scope_map_delete: { name: '_repositories_pull' },
  };

  // Signed out.
  const anonymous = await chromium.browser.newContext();
  for (const read of reads) {
    const response = await anonymous.request.get(`${server.base}/portal/${read}`);
    assert.equal(response.status(), 401, read);
  }
  await anonymous.close();

  // The token holder, signed in to the self-service view.
  const context = await chromium.browser.newContext();
  const page = await context.newPage();
  await signIn(page, server.base, 'holder-token', password);
  await page.waitForURL(`${server.base}/my-token`);
  const session = await (await page.request.get(`${server.base}/portal/session`)).json();
  assert.equal(session.user?.name, 'holder-token');
  for (const read of reads) {
    const response = await page.request.get(`${server.base}/portal/${read}`);
    assert.equal(response.status(), 403, read);
    assert.ok(!(await response.text()).includes('pct_'), read);
  }
  for (const [endpoint, form] of Object.entries(writes)) {
    const response = await page.request.post(`${server.base}/portal/${endpoint}`,
      { form: { csrf_token: session.csrf_token, ...form } });
    assert.equal(response.status(), 403, endpoint);
    assert.match(await response.text(), /Forbidden/, `${endpoint}: refused as a non-admin, not for CSRF`);
  }
  // The pages themselves show the refusal, not data.
  await page.goto(`${server.base}/tokens`);
  await hydrated(page);
  assert.match(await page.getByTestId('error').textContent(), /do not have access/);
  await shot(page, 'tokens-forbidden-for-token-holder.png');
  // Nothing changed.
  assert.equal((await api('GET', '/api/v1/tokens/holder-token')).json().scopeMap, '_repositories_pull');
  assert.equal((await api('GET', '/api/v1/tokens/sneaky-token')).status, 404);
  assert.equal((await api('GET', '/api/v1/scope-maps/sneaky-map')).status, 404);
  await context.close();
});
