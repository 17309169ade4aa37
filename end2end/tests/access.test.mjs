// Access control (IAM) in a real browser (issue 12): the source's
// walkthrough (seed 004: Access control (IAM) > Add role assignment >
// Container Registry Repository Reader > a user > a StringStartsWithIgnoreCase
// 'backend/' condition built in the visual editor > Review + assign), then
// that user pulling backend/nginx with skopeo and refused
// backend-infra/k8s; the code view against the API's text, a pasted
// condition with grouping, negation and ActionMatches filling the visual
// editor; the trailing-slash warning; refused code; the wizard with the
// keyboard alone; Everyone (anonymous) behind a confirmation that names
// what becomes public; the permissions mode with its preview. Each test
// saves a screenshot to end2end/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startServer, launchBrowser, hydrated, signIn, artifacts, ADMIN_PASSWORD, containerClients,
} from './support.mjs';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const NAME = '@Request[Microsoft.ContainerRegistry/registries/repositories:name]';
const ACTION = 'Microsoft.ContainerRegistry/registries/repositories/';
const READER = 'Container Registry Repository Reader';
const PASSWORD = 'a-long-enough-password-1';

let server;
let chromium;
let clients; // skopeo's own home, auth file and storage
let admin; // a browser context signed in as admin
let host;
let scratch;
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

async function setMode(mode) {
  const answer = await api('PATCH', '/api/v1/registry', { roleAssignmentMode: mode });
  assert.equal(answer.status, 200, answer.text);
}

async function createUser(name) {
  const answer = await api('POST', '/api/v1/users', { name, password: PASSWORD });
  assert.equal(answer.status, 201, answer.text);
}

async function assignmentsOf(name) {
  const answer = await api('GET', `/api/v1/role-assignments?assignee=${encodeURIComponent(name)}`);
  assert.equal(answer.status, 200, answer.text);
  return answer.json().filter((assignment) => assignment.assignee.name === name);
}

// ---------------------------------------------------------------------------
// Content: a one-layer OCI image layout, pushed with skopeo as admin.

const sha256 = (bytes) => 'sha256:' + createHash('sha256').update(bytes).digest('hex');

function writeImage(dir, text) {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const put = (mediaType, bytes) => {
    const digest = sha256(bytes);
    writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const layer = put('application/vnd.oci.image.layer.v1.tar', Buffer.from(text));
  const config = put('application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] },
  })));
  const manifest = put(OCI_MANIFEST, Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer],
  })));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
  }));
}

/** skopeo in the test's own client environment (support.mjs). */
function skopeo(args) {
  return clients.runAsync('skopeo', args);
}

async function push(repository) {
  const outcome = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN_PASSWORD}`,
    `oci:${join(scratch, 'image')}:v1`, `docker://${host}/${repository}:v1`]);
  assert.equal(outcome.code, 0, `skopeo copy to ${repository} failed:\n${outcome.stderr}`);
}

/** `skopeo copy` of `repository:v1` out of the registry without credentials. */
function pullAnonymously(repository) {
  const target = join(scratch, 'pulled', `anonymous-${repository.replaceAll('/', '_')}`);
  return skopeo(['copy', '--src-tls-verify=false', '--src-no-creds',
    `docker://${host}/${repository}:v1`, `oci:${target}:v1`]);
}

/** `skopeo copy` of `repository:v1` out of the registry as `user`. */
function pull(repository, user, password) {
  const target = join(scratch, 'pulled', `${user}-${repository.replaceAll('/', '_')}`);
  return skopeo(['copy', '--src-tls-verify=false', '--src-creds', `${user}:${password}`,
    `docker://${host}/${repository}:v1`, `oci:${target}:v1`]);
}

before(async () => {
  server = await startServer();
  host = new URL(server.base).host;
  chromium = await launchBrowser();
  clients = containerClients();
  scratch = mkdtempSync(join(tmpdir(), 'portcullis-e2e-access-'));
  mkdirSync(join(scratch, 'pulled'), { recursive: true });
  writeImage(join(scratch, 'image'), 'hello from backend\n');
  for (const repository of ['backend/nginx', 'backend-infra/k8s', 'frontend/js/react']) await push(repository);

  const context = await chromium.browser.newContext();
  const page = await context.newPage();
  await signIn(page, server.base, 'admin', ADMIN_PASSWORD);
  await page.waitForURL(`${server.base}/`);
  await page.close();
  admin = context;
});

after(async () => {
  await admin?.close();
  await chromium?.close();
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  clients?.cleanup();
});

/** Waits until the browser runs the page's access-control part (the
 *  wizard, the list or the condition editor mark themselves live), not
 *  only the frame. */
async function live(page) {
  await hydrated(page);
  await page.waitForSelector('[data-live="true"]', { timeout: 30_000 });
}

/** A new admin page at `path`, live, collecting page errors. */
async function open(path) {
  const page = await admin.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${server.base}${path}`);
  await live(page);
  return { page, errors };
}

const roleOption = (page, name) => page.locator(`[data-testid="role-option"][data-name="${name}"] input`);
const memberOption = (page, name) => page.locator(`[data-testid="member-option"][data-name="${name}"] input`);

/** Role and member chosen, on the Conditions step. */
async function toConditions(page, user) {
  await page.getByTestId('role-search').fill('repository reader');
  await roleOption(page, READER).check();
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('member-search').fill(user);
  await memberOption(page, user).check();
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('add-condition').click();
  await page.getByTestId('condition-editor').waitFor();
}

/** The canonical text the editor shows once the server has printed it. */
async function canonical(page) {
  const code = page.getByTestId('condition-canonical');
  await page.waitForFunction((element) => element && element.textContent !== '…', await code.elementHandle());
  return code.textContent();
}

// ---------------------------------------------------------------------------

test('the walkthrough: Reader on backend/ built in the visual editor, then the user pulls backend/nginx and not backend-infra/k8s', async () => {
  await setMode('rbac-abac');
  await createUser('alice');
  const { page, errors } = await open('/access-control');
  await page.getByRole('heading', { name: 'Access control (IAM)' }).waitFor();
  await page.getByTestId('add-role-assignment').click();
  await page.getByTestId('assignment-wizard').waitFor();

  // 1. Role: search, the ABAC badge on the Repository roles.
  await page.getByTestId('role-search').fill('Container Registry Repository');
  const reader = page.locator(`[data-testid="role-option"][data-name="${READER}"]`);
  assert.equal(await reader.getByTestId('abac-badge').count(), 1);
  assert.equal(await page.locator('[data-testid="role-option"][data-name="Owner"]').count(), 0);
  assert.equal(await page.getByTestId('wizard-next').isDisabled(), true);
  await roleOption(page, READER).check();
  await page.getByTestId('wizard-next').click();

  // 2. Members.
  await page.getByTestId('member-search').fill('alic');
  await memberOption(page, 'alice').check();
  await page.getByTestId('wizard-next').click();

  // 3. Conditions: every action ticked; one expression.
  await page.getByTestId('add-condition').click();
  const governed = page.getByTestId('governed-action');
  assert.deepEqual(await governed.evaluateAll((all) => all.map((box) => [box.dataset.action, box.checked])),
    [['content/read', true], ['metadata/read', true]]);
  // Unticking one says that action would be allowed everywhere.
  await page.locator('[data-testid="governed-action"][data-action="metadata/read"]').uncheck();
  assert.match(await page.getByTestId('ungoverned-note').textContent(), /metadata\/read will be allowed on every repository/);
  await page.locator('[data-testid="governed-action"][data-action="metadata/read"]').check();
  assert.equal(await page.getByTestId('ungoverned-note').count(), 0);

  const expression = page.getByTestId('condition-expression').first();
  assert.equal(await expression.getByTestId('attribute-source').inputValue(), 'request');
  assert.equal(await expression.getByTestId('condition-attribute').inputValue(), 'name');
  await expression.getByTestId('condition-operator').selectOption('StringStartsWithIgnoreCase');
  await expression.getByTestId('condition-value').fill('backend/');
  const expected = `((!(ActionMatches{'${ACTION}content/read'}) AND !(ActionMatches{'${ACTION}metadata/read'})) OR ${NAME} StringStartsWithIgnoreCase 'backend/')`;
  await page.waitForFunction(([element, text]) => element.textContent === text,
    [await page.getByTestId('condition-canonical').elementHandle(), expected]);
  // The code view shows the same text.
  await page.getByTestId('editor-code').check();
  assert.equal(await page.getByTestId('condition-code').inputValue(), expected);
  await page.getByTestId('editor-visual').check();
  await page.screenshot({ path: join(artifacts, 'access-condition-editor.png'), fullPage: true });

  // 4. Review + assign: in words, the code, the live preview.
  await page.getByTestId('wizard-next').click();
  assert.equal(await page.getByTestId('review-role').textContent(), READER);
  assert.equal(await page.getByTestId('review-member').textContent(), 'alice (User)');
  assert.equal(await page.getByTestId('review-condition').textContent(),
    'content/read and metadata/read only on repositories starting with backend/');
  assert.equal(await page.getByTestId('review-code').textContent(), expected);
  const previewRow = (name) => page.locator(`[data-testid="preview-row"][data-repository="${name}"]`);
  await previewRow('backend/nginx').waitFor();
  assert.equal(await previewRow('backend/nginx').getAttribute('data-allowed'), 'true');
  assert.match(await previewRow('backend/nginx').textContent(), /content\/read and metadata\/read/);
  assert.equal(await previewRow('backend-infra/k8s').getAttribute('data-allowed'), 'false');
  assert.equal(await previewRow('frontend/js/react').getAttribute('data-allowed'), 'false');
  await page.screenshot({ path: join(artifacts, 'access-review.png'), fullPage: true });
  await page.getByTestId('assign').click();

  // The list: the row in words, the code on demand, as the API stores it.
  await page.waitForURL(/\/access-control\?created=/);
  const row = page.locator('[data-testid="assignment-row"][data-assignee="alice"]');
  await row.waitFor();
  assert.equal(await row.getByTestId('assignee-kind').textContent(), 'User');
  assert.equal(await row.getByTestId('condition-words').textContent(),
    'content/read and metadata/read only on repositories starting with backend/');
  assert.equal(await row.getByTestId('condition-code-text').isVisible(), false);
  await row.getByTestId('show-code').click();
  const stored = await assignmentsOf('alice');
  assert.equal(stored.length, 1);
  assert.equal(stored[0].role, READER);
  assert.equal(stored[0].condition, expected);
  assert.equal(await row.getByTestId('condition-code-text').textContent(), stored[0].condition);
  await page.screenshot({ path: join(artifacts, 'access-list.png'), fullPage: true });

  // The user pulls from backend/ and nowhere else.
  const allowed = await pull('backend/nginx', 'alice', PASSWORD);
  assert.equal(allowed.code, 0, `pull of backend/nginx failed:\n${allowed.stderr}`);
  const denied = await pull('backend-infra/k8s', 'alice', PASSWORD);
  assert.notEqual(denied.code, 0, 'pull of backend-infra/k8s must be refused');
  assert.match(denied.stderr, /denied|unauthorized|forbidden/i);

  // Check access shows the same decision and the assignment behind it.
  await page.goto(`${server.base}/check-access?assignee=alice&repository=backend%2Fnginx`);
  await hydrated(page);
  const read = page.locator('[data-testid="check-row"][data-action="content/read"]');
  assert.equal(await read.getAttribute('data-granted'), 'true');
  assert.match(await read.textContent(), new RegExp(READER));
  assert.equal(await page.locator('[data-testid="check-row"][data-action="content/write"]').getAttribute('data-granted'), 'false');
  await page.goto(`${server.base}/check-access?assignee=alice&repository=backend-infra%2Fk8s`);
  await hydrated(page);
  assert.equal(await page.locator('[data-testid="check-row"][data-action="content/read"]').getAttribute('data-granted'), 'false');

  // Delete behind a confirmation.
  await page.goto(`${server.base}/access-control?assignee=alice`);
  await live(page);
  await page.locator('[data-testid="assignment-row"][data-assignee="alice"]').getByTestId('delete-assignment').click();
  const dialog = page.getByTestId('delete-assignment-dialog');
  assert.match(await dialog.textContent(), /alice \(User\) loses Container Registry Repository Reader where its condition holds/);
  await dialog.getByTestId('confirm-button').click();
  await page.getByTestId('assignments-empty').waitFor();
  assert.equal((await assignmentsOf('alice')).length, 0);
  assert.deepEqual(errors, []);
});

test('pasted code with grouping, negation and ActionMatches fills the visual editor and saves as the API prints it', async () => {
  await setMode('rbac-abac');
  await createUser('dave');
  const { page, errors } = await open('/access-control/new');
  await toConditions(page, 'dave');
  const pasted = `NOT(${NAME} StringEquals 'backend/secret') && (${NAME} StringStartsWithIgnoreCase 'backend/' || ActionMatches{'${ACTION}metadata/read'})`;
  const printed = `(!(${NAME} StringEquals 'backend/secret') AND (${NAME} StringStartsWithIgnoreCase 'backend/' OR ActionMatches{'${ACTION}metadata/read'}))`;
  await page.getByTestId('editor-code').check();
  await page.getByTestId('condition-code').fill(pasted);
  // The server read it; the visual editor follows.
  await page.getByTestId('editor-visual').check();
  await page.waitForFunction((element) => element.textContent !== '…', await page.getByTestId('condition-canonical').elementHandle());
  assert.equal(await canonical(page), printed);
  const items = page.getByTestId('condition-item');
  // Top: NOT(name) AND group(name OR action).
  assert.equal(await page.getByTestId('condition-join').first().inputValue(), 'and');
  assert.equal(await page.getByTestId('condition-not').first().isChecked(), true);
  assert.equal(await page.getByTestId('condition-operator').first().inputValue(), 'StringEquals');
  assert.equal(await page.getByTestId('condition-value').first().inputValue(), 'backend/secret');
  const group = page.getByTestId('condition-group').nth(1);
  assert.equal(await group.getByTestId('condition-join').inputValue(), 'or');
  assert.equal(await group.getByTestId('condition-value').inputValue(), 'backend/');
  assert.equal(await group.getByTestId('condition-action').inputValue(), 'metadata/read');
  assert.equal(await items.count(), 4);
  await page.screenshot({ path: join(artifacts, 'access-pasted-condition.png'), fullPage: true });

  // A change in the visual editor prints anew, then back.
  await group.getByTestId('condition-value').fill('frontend/js/');
  await page.waitForFunction(([element, text]) => element.textContent.includes(text),
    [await page.getByTestId('condition-canonical').elementHandle(), "'frontend/js/'"]);
  await group.getByTestId('condition-value').fill('backend/');
  await page.waitForFunction(([element, text]) => element.textContent === text,
    [await page.getByTestId('condition-canonical').elementHandle(), printed]);

  await page.getByTestId('wizard-next').click();
  assert.equal(await page.getByTestId('review-code').textContent(), printed);
  assert.match(await page.getByTestId('review-condition').textContent(), /not \(repositories named \(exact case\) backend\/secret\)/);
  await page.getByTestId('assign').click();
  await page.waitForURL(/\/access-control\?created=/);
  const stored = await assignmentsOf('dave');
  assert.equal(stored.length, 1);
  assert.equal(stored[0].condition, printed);

  // The assignment's page edits it in the same editor.
  await page.goto(`${server.base}/access-control/${stored[0].name}`);
  await live(page);
  assert.equal(await page.getByTestId('assignment-code').textContent(), printed);
  assert.equal(await canonical(page), printed);
  await page.getByTestId('condition-not').first().uncheck();
  const edited = `(${NAME} StringEquals 'backend/secret' AND (${NAME} StringStartsWithIgnoreCase 'backend/' OR ActionMatches{'${ACTION}metadata/read'}))`;
  await page.waitForFunction(([element, text]) => element.textContent === text,
    [await page.getByTestId('condition-canonical').elementHandle(), edited]);
  await page.getByTestId('save-condition').click();
  await page.waitForURL(/\/access-control\?updated=/);
  assert.equal((await assignmentsOf('dave'))[0].condition, edited);
  assert.deepEqual(errors, []);
});

test('a prefix without a trailing slash shows the server warning with the repositories it also matches', async () => {
  await setMode('rbac-abac');
  await createUser('erin');
  const { page, errors } = await open('/access-control/new');
  await toConditions(page, 'erin');
  await page.getByTestId('condition-value').fill('backend');
  const warnings = page.getByTestId('condition-warnings');
  await warnings.waitFor();
  assert.match(await warnings.textContent(), /'backend' has no trailing '\/'/);
  assert.match(await warnings.textContent(), /existing repositories it also matches: backend-infra\/k8s/);
  await page.screenshot({ path: join(artifacts, 'access-trailing-slash.png'), fullPage: true });
  await page.getByTestId('condition-value').fill('backend/');
  await warnings.waitFor({ state: 'hidden' });
  assert.deepEqual(errors, []);
});

test('refused code shows the parser position and saves nothing', async () => {
  await setMode('rbac-abac');
  await createUser('frank');
  const before = (await api('GET', '/api/v1/role-assignments')).json().length;
  const { page, errors } = await open('/access-control/new');
  await toConditions(page, 'frank');
  await page.getByTestId('editor-code').check();
  await page.getByTestId('condition-code').fill(`${NAME} StringStartsWithIgnoreCase 'backend/' AND`);
  const message = page.getByTestId('condition-code-error');
  await message.waitFor();
  assert.match(await message.textContent(), /at 1:\d+/);
  assert.equal(await page.getByTestId('wizard-next').isDisabled(), true);
  assert.equal(await page.getByTestId('tab-review').isDisabled(), true);
  await page.getByTestId('condition-code').fill(`${NAME} StringLike 'backend/*'`);
  await page.waitForFunction((element) => /StringLike/.test(element?.textContent ?? ''),
    await page.getByTestId('condition-code-error').elementHandle());
  assert.match(await message.textContent(), /at 1:\d+/);
  await page.screenshot({ path: join(artifacts, 'access-refused-code.png'), fullPage: true });
  assert.equal((await api('GET', '/api/v1/role-assignments')).json().length, before);
  assert.equal((await assignmentsOf('frank')).length, 0);
  assert.deepEqual(errors, []);
});

test('keyboard only: the wizard from Role to Review + assign', async () => {
  await setMode('rbac-abac');
  await createUser('carol');
  const { page, errors } = await open('/access-control/new');
  const focused = () => page.evaluate(() => document.activeElement?.dataset?.testid
    ?? document.activeElement?.closest('[data-testid]')?.dataset?.testid ?? document.activeElement?.tagName);
  /** Presses Tab until the focused element matches `selector`. */
  async function tabTo(selector, limit = 12) {
    for (let i = 0; i < limit; i += 1) {
      if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
      await page.keyboard.press('Tab');
    }
    assert.fail(`Tab never reached ${selector}; focus is on ${await focused()}`);
  }
  await page.getByTestId('role-search').focus();
  await page.keyboard.type('repository reader');
  await page.locator('[data-testid="role-option"]').first().waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="role-option"]').length === 1);
  await tabTo('input[name="role"]');
  await page.keyboard.press('Space');
  await tabTo('[data-testid="wizard-next"]');
  await page.keyboard.press('Enter');

  await tabTo('[data-testid="member-search"]');
  await page.keyboard.type('carol');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="member-option"]').length === 1);
  await tabTo('input[name="member"]');
  await page.keyboard.press('Space');
  await tabTo('[data-testid="wizard-next"]');
  await page.keyboard.press('Enter');

  await tabTo('[data-testid="add-condition"]');
  await page.keyboard.press('Enter');
  await page.getByTestId('condition-editor').waitFor();
  await tabTo('[data-testid="condition-value"]', 20);
  await page.keyboard.type('backend/');
  const expected = `((!(ActionMatches{'${ACTION}content/read'}) AND !(ActionMatches{'${ACTION}metadata/read'})) OR ${NAME} StringStartsWithIgnoreCase 'backend/')`;
  await page.waitForFunction(([element, text]) => element.textContent === text,
    [await page.getByTestId('condition-canonical').elementHandle(), expected]);
  await tabTo('[data-testid="wizard-next"]', 20);
  await page.keyboard.press('Enter');

  await page.getByTestId('review').waitFor();
  await tabTo('[data-testid="assign"]', 20);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/access-control\?created=/);
  const stored = await assignmentsOf('carol');
  assert.equal(stored.length, 1);
  assert.equal(stored[0].condition, expected);
  assert.deepEqual(errors, []);
});

test('Everyone (anonymous) goes through the wizard with a confirmation naming what becomes public; then anonymous pulls work there only', async () => {
  await setMode('rbac-abac');
  const before = await pullAnonymously('frontend/js/react');
  assert.notEqual(before.code, 0, 'no anonymous access without an assignment');
  const { page, errors } = await open('/access-control/new');
  await page.getByTestId('role-search').fill('Repository Reader');
  await roleOption(page, READER).check();
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('member-search').fill('everyone');
  await memberOption(page, 'Everyone (anonymous)').check();
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('add-condition').click();
  const expression = page.getByTestId('condition-expression').first();
  await expression.getByTestId('condition-operator').selectOption('StringStartsWithIgnoreCase');
  await expression.getByTestId('condition-value').fill('frontend/');
  const expected = `((!(ActionMatches{'${ACTION}content/read'}) AND !(ActionMatches{'${ACTION}metadata/read'})) OR ${NAME} StringStartsWithIgnoreCase 'frontend/')`;
  await page.waitForFunction(([element, text]) => element.textContent === text,
    [await page.getByTestId('condition-canonical').elementHandle(), expected]);
  await page.getByTestId('wizard-next').click();
  assert.equal(await page.getByTestId('review-member').textContent(), 'Everyone (anonymous)');
  await page.locator('[data-testid="preview-row"][data-repository="frontend/js/react"]').waitFor();

  // Assign asks first, naming what becomes public; Cancel saves nothing.
  await page.getByTestId('assign').click();
  const dialog = page.getByTestId('public-dialog');
  await dialog.waitFor();
  assert.equal(await dialog.getByTestId('public-summary').textContent(),
    'content/read and metadata/read on frontend/js/react');
  await page.screenshot({ path: join(artifacts, 'access-public-confirmation.png'), fullPage: true });
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await assignmentsOf('Everyone (anonymous)')).length, 0);
  await page.getByTestId('assign').click();
  await dialog.getByTestId('confirm-public').click();
  await page.waitForURL(/\/access-control\?created=/);
  const stored = await assignmentsOf('Everyone (anonymous)');
  assert.equal(stored.length, 1);
  assert.equal(stored[0].condition, expected);

  const allowed = await pullAnonymously('frontend/js/react');
  assert.equal(allowed.code, 0, `anonymous pull of frontend/js/react failed:\n${allowed.stderr}`);
  const denied = await pullAnonymously('backend-infra/k8s');
  assert.notEqual(denied.code, 0, 'anonymous pull of backend-infra/k8s must be refused');

  assert.equal((await api('DELETE', `/api/v1/role-assignments/${stored[0].name}`)).status, 204);
  assert.deepEqual(errors, []);
});

test('settings: the preview counts what changes, the confirmation names it, and the mode switches', async () => {
  await setMode('rbac');
  const changing = (await api('POST', '/api/v1/registry/preview', { roleAssignmentMode: 'rbac-abac' })).json().changes.length;
  assert.ok(changing > 0, 'the administrator\'s Owner assignment changes with the mode');
  const { page, errors } = await open('/settings');
  assert.equal(await page.getByTestId('current-mode').getAttribute('data-mode'), 'rbac');
  assert.equal(await page.getByTestId('save-mode').isDisabled(), true);
  assert.equal(await page.getByTestId('read-only').isVisible(), false);
  await page.locator('[data-testid="mode-option"][data-mode="rbac-abac"]').check();
  const count = page.getByTestId('mode-preview-count');
  await count.waitFor();
  assert.equal(await count.getAttribute('data-count'), String(changing));
  assert.equal(await page.getByTestId('mode-change').count(), changing);
  await page.screenshot({ path: join(artifacts, 'access-settings-preview.png'), fullPage: true });
  // Back to the current mode: nothing to preview, nothing to save.
  await page.locator('[data-testid="mode-option"][data-mode="rbac"]').check();
  await count.waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('save-mode').isDisabled(), true);
  await page.locator('[data-testid="mode-option"][data-mode="rbac-abac"]').check();
  await count.waitFor();
  await page.getByTestId('save-mode').click();
  const dialog = page.getByTestId('mode-dialog');
  assert.match(await dialog.getByTestId('mode-dialog-summary').textContent(),
    new RegExp(`Switch to RBAC Registry \\+ ABAC Repository Permissions\\? ${changing} role assignments? changes?`));
  await dialog.getByTestId('confirm-mode').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="current-mode"]')?.dataset.mode === 'rbac-abac');
  assert.equal((await api('GET', '/api/v1/registry')).json().roleAssignmentMode, 'rbac-abac');
  // A reload shows the new mode, rendered by the server and hydrated.
  await page.reload();
  await live(page);
  assert.equal(await page.getByTestId('current-mode').getAttribute('data-mode'), 'rbac-abac');
  assert.deepEqual(errors, []);
});
