// The repository pages in a real browser, over content pushed by skopeo:
// the list and its search, a repository's tags, digests, sizes, platforms
// and pull command, a write lock on a tag refusing a push, untag, deleting a
// manifest (refused while locked) and deleting the whole repository, each
// behind its confirmation dialog. The OCI image layouts are written byte by
// byte here, as server/tests/it/clients.rs does.
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
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

let server;
let chromium;
let clients; // skopeo's own home, auth file and storage
let admin; // a browser context signed in as admin
let host; // host:port, the login server
let scratch; // the clients' HOME and the image layouts
const adminAuth = 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64');

const sha256 = (bytes) => 'sha256:' + createHash('sha256').update(bytes).digest('hex');

// ---------------------------------------------------------------------------
// Content

/** An uncompressed POSIX ustar archive holding one regular file. */
function tarWithOneFile(name, content) {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'latin1');
  const octal = (offset, length, value) =>
    header.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, 'latin1');
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, content.length);
  octal(136, 12, 1_700_000_000);
  header.write('0', 156, 'latin1');
  header.write('ustar\0', 257, 'latin1');
  header.write('00', 263, 'latin1');
  header.fill(' ', 148, 156);
  const sum = header.reduce((total, byte) => total + byte, 0);
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  const body = Buffer.alloc(Math.ceil(content.length / 512) * 512 + 1024);
  content.copy(body);
  return Buffer.concat([header, body]);
}

/** An OCI image layout directory (image-spec `image-layout.md`). */
class Layout {
  constructor(dir) {
    this.dir = dir;
    this.refs = [];
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  }

  put(mediaType, bytes) {
    const digest = sha256(bytes);
    writeFileSync(join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
    return { mediaType, digest, size: bytes.length };
  }

  /** A one-layer image; `total` is what the portal shows as its size. */
  image(architecture, text) {
    const layer = this.put(OCI_LAYER_TAR, tarWithOneFile('hello.txt', Buffer.from(text)));
    const config = this.put(OCI_CONFIG, Buffer.from(JSON.stringify({
      architecture, os: 'linux', config: { Cmd: ['/hello.txt'] },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    })));
    const manifest = this.put(OCI_MANIFEST, Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer],
    })));
    return { ...manifest, total: manifest.size + config.size + layer.size, architecture };
  }

  /** An index of `images`, each with its platform. */
  index(images) {
    const manifests = images.map(({ mediaType, digest, size, architecture }) =>
      ({ mediaType, digest, size, platform: { architecture, os: 'linux' } }));
    const index = this.put(OCI_INDEX, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests })));
    return { ...index, total: index.size + images.reduce((sum, image) => sum + image.total, 0) };
  }

  /** Names `top` as `tag` in index.json (keeping the other names). */
  tag(top, tag) {
    this.refs = this.refs.filter((ref) => ref.tag !== tag).concat([{ tag, top }]);
    const manifests = this.refs.map(({ tag: name, top: { mediaType, digest, size } }) =>
      ({ mediaType, digest, size, annotations: { 'org.opencontainers.image.ref.name': name } }));
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  }

  reference(tag) {
    return `oci:${this.dir}:${tag}`;
  }
}

/** Runs skopeo in the scratch environment; resolves to { code, stdout, stderr }. */
/** skopeo in the test's own client environment (support.mjs). */
function skopeo(args) {
  return clients.runAsync('skopeo', args);
}

/** `skopeo copy` of `tag` of `layout` to `repository:target` as admin. */
function push(layout, tag, destination, { all = false } = {}) {
  return skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false',
    '--dest-creds', `admin:${ADMIN_PASSWORD}`, ...(all ? ['--all'] : []),
    layout.reference(tag), `docker://${host}/${destination}`]);
}

async function pushed(layout, tag, destination, options) {
  const outcome = await push(layout, tag, destination, options);
  assert.equal(outcome.code, 0, `skopeo copy to ${destination} failed:\n${outcome.stderr}`);
}

/** GET on the data plane as admin. */
function registry(path, method = 'GET') {
  return fetch(`${server.base}${path}`, {
    method,
    headers: { authorization: adminAuth, accept: `${OCI_MANIFEST}, ${OCI_INDEX}` },
  });
}

// What the tests push.
const images = {};

before(async () => {
  server = await startServer();
  host = new URL(server.base).host;
  chromium = await launchBrowser();
  clients = containerClients();
  scratch = mkdtempSync(join(tmpdir(), 'portcullis-e2e-repositories-'));

  const hello = new Layout(join(scratch, 'hello'));
  images.v1 = hello.image('amd64', 'hello v1\n');
  images.v2 = hello.image('amd64', 'hello v2\n');
  images.v3 = hello.image('amd64', 'hello v3, pushed over v1\n');
  hello.tag(images.v1, 'v1');
  hello.tag(images.v2, 'v2');
  hello.tag(images.v3, 'v3');
  images.hello = hello;
  await pushed(hello, 'v1', 'samples/hello:v1');
  await pushed(hello, 'v1', 'samples/hello:latest');
  await pushed(hello, 'v2', 'samples/hello:v2');

  const multi = new Layout(join(scratch, 'multi'));
  images.amd64 = multi.image('amd64', 'hello from amd64\n');
  images.arm64 = multi.image('arm64', 'hello from arm64\n');
  images.index = multi.index([images.amd64, images.arm64]);
  multi.tag(images.index, 'v1');
  await pushed(multi, 'v1', 'samples/multi:v1', { all: true });

  await pushed(hello, 'v2', 'samples/doomed:v1');

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

/** A new admin page at `path`, hydrated, collecting page errors. */
async function open(path, context = admin) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${server.base}${path}`);
  await hydrated(page);
  return { page, errors };
}

const tagRow = (page, tag) => page.locator(`[data-testid="tag-row"][data-tag="${tag}"]`);
const manifestRow = (page, digest) => page.locator(`[data-testid="manifest-row"][data-digest="${digest}"]`);
const short = (digest) => digest.slice(0, 'sha256:'.length + 12);

async function waitForAttribute(locator, name, value) {
  await locator.page().waitForFunction(
    ([element, attribute, expected]) => element?.getAttribute(attribute) === expected,
    [await locator.elementHandle(), name, value],
  );
}

// ---------------------------------------------------------------------------

test('the list shows every repository with counts, and the search filters it', async () => {
  const { page, errors } = await open('/repositories');
  await page.getByRole('heading', { name: 'Repositories', exact: true }).waitFor();
  const rows = page.getByTestId('repository-row');
  assert.deepEqual(await rows.evaluateAll((all) => all.map((row) => row.dataset.name)),
    ['samples/doomed', 'samples/hello', 'samples/multi']);
  const hello = page.locator('[data-testid="repository-row"][data-name="samples/hello"]');
  assert.equal(await hello.getByTestId('tag-count').textContent(), '3');
  assert.equal(await hello.getByTestId('manifest-count').textContent(), '2');
  const multi = page.locator('[data-testid="repository-row"][data-name="samples/multi"]');
  assert.equal(await multi.getByTestId('manifest-count').textContent(), '3');

  await page.getByTestId('repository-search').fill('MULTI');
  await hello.waitFor({ state: 'hidden' });
  assert.equal(await multi.isVisible(), true);
  assert.equal(await page.getByTestId('repository-count').textContent(), '1 of 3 repositories');
  await page.screenshot({ path: join(artifacts, 'repositories-list-search.png'), fullPage: true });

  await page.getByTestId('repository-search').fill('nothing-like-this');
  await page.getByTestId('no-match').waitFor();
  await page.getByTestId('repository-search').fill('');
  await hello.waitFor();
  await page.screenshot({ path: join(artifacts, 'repositories-list.png'), fullPage: true });

  // Follow the link (client-side navigation).
  await hello.getByTestId('repository-link').click();
  await page.waitForURL(`${server.base}/repositories/samples/hello`);
  await page.getByTestId('repository-name').filter({ hasText: 'samples/hello' }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test('a repository shows its tags with digests, sizes, platforms, and a pull command to copy', async () => {
  const context = await chromium.browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  await context.addCookies(await admin.cookies());
  const { page, errors } = await open('/repositories/samples/multi', context);
  assert.equal(await page.getByTestId('repository-name').textContent(), 'samples/multi');

  const v1 = tagRow(page, 'v1');
  assert.equal(await v1.getAttribute('data-digest'), images.index.digest);
  const digest = v1.getByTestId('tag-digest');
  assert.equal(await digest.textContent(), short(images.index.digest));
  assert.equal(await digest.getAttribute('title'), images.index.digest);
  assert.match(await v1.getByTestId('tag-size').locator('span').getAttribute('title'),
    new RegExp(`^${images.index.total} bytes`));
  assert.deepEqual(await v1.getByTestId('tag-platforms').locator('li').allTextContents(), ['linux/amd64', 'linux/arm64']);
  assert.match(await v1.getByTestId('tag-pushed').locator('time').textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);

  // The index and both platform images are manifests of the repository.
  assert.equal(await page.getByTestId('manifest-row').count(), 3);
  const index = manifestRow(page, images.index.digest);
  assert.equal(await index.getByTestId('manifest-type').textContent(), 'Index');
  assert.deepEqual(await index.getByTestId('manifest-tags').locator('li').allTextContents(), ['v1']);
  const arm64 = manifestRow(page, images.arm64.digest);
  assert.equal(await arm64.getByTestId('manifest-type').textContent(), 'Image');
  assert.equal(await arm64.getByTestId('manifest-platforms').textContent(), 'linux/arm64');
  assert.equal(await arm64.getByTestId('manifest-tags').textContent(), 'in an index');
  assert.match(await arm64.getByTestId('manifest-size').locator('span').first().getAttribute('title'),
    new RegExp(`^${images.arm64.total} bytes`));

  // The pull command, copied to the clipboard.
  const command = `docker pull ${host}/samples/multi:v1`;
  assert.equal(await page.getByTestId('pull-command').inputValue(), command);
  await page.getByTestId('copy-pull-command').click();
  await page.getByTestId('copy-pull-command').filter({ hasText: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), command);
  await page.screenshot({ path: join(artifacts, 'repository-multi-platform.png'), fullPage: true });

  // With several tags, the command follows the tag chosen; "latest" first.
  await page.goto(`${server.base}/repositories/samples/hello`);
  await hydrated(page);
  assert.equal(await page.getByTestId('pull-command').inputValue(), `docker pull ${host}/samples/hello:latest`);
  await page.getByTestId('pull-tag').selectOption('v2');
  assert.equal(await page.getByTestId('pull-command').inputValue(), `docker pull ${host}/samples/hello:v2`);
  // A single-platform image: the platform its configuration names.
  assert.deepEqual(await tagRow(page, 'v1').getByTestId('tag-platforms').locator('li').allTextContents(), ['linux/amd64']);

  // On a phone the tables scroll sideways instead of squeezing the page.
  await page.setViewportSize({ width: 390, height: 844 });
  const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(pageWidth <= 390, `the page is ${pageWidth}px wide on a 390px screen`);
  await page.screenshot({ path: join(artifacts, 'repository-phone.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('a write lock on a tag refuses a push over it; unlocking lets the push through', async () => {
  const { page, errors } = await open('/repositories/samples/hello');
  const v1 = tagRow(page, 'v1');
  const write = v1.getByRole('switch', { name: 'write enabled for tag v1' });
  assert.equal(await write.getAttribute('aria-checked'), 'true');
  await write.click();
  await waitForAttribute(write, 'aria-checked', 'false');
  await page.getByTestId('notice').filter({ hasText: 'writeEnabled of tag v1 is now off.' }).waitFor();
  await v1.getByTestId('locked-badge').waitFor();
  await page.screenshot({ path: join(artifacts, 'repository-tag-write-locked.png'), fullPage: true });

  // The lock holds after a reload (it is stored, not just shown).
  await page.reload();
  await hydrated(page);
  assert.equal(await tagRow(page, 'v1').getByRole('switch', { name: 'write enabled for tag v1' })
    .getAttribute('aria-checked'), 'false');

  const refused = await push(images.hello, 'v3', 'samples/hello:v1');
  assert.notEqual(refused.code, 0, 'the push over a write-locked tag must fail');
  assert.match(refused.stderr, /denied|locked/i);
  // Another tag is not locked.
  await pushed(images.hello, 'v3', 'samples/hello:v3');

  const again = tagRow(page, 'v1').getByRole('switch', { name: 'write enabled for tag v1' });
  await again.click();
  await waitForAttribute(again, 'aria-checked', 'true');
  await pushed(images.hello, 'v3', 'samples/hello:v1');
  await page.reload();
  await hydrated(page);
  assert.equal(await tagRow(page, 'v1').getAttribute('data-digest'), images.v3.digest);
  // Keyboard: Space toggles the focused switch and focus stays on it.
  const read = tagRow(page, 'v1').getByRole('switch', { name: 'read enabled for tag v1' });
  await read.focus();
  await page.keyboard.press('Space');
  await waitForAttribute(read, 'aria-checked', 'false');
  await page.keyboard.press('Space');
  await waitForAttribute(read, 'aria-checked', 'true');
  assert.equal(await read.evaluate((element) => element === document.activeElement), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test('untag asks for confirmation, Escape cancels, and confirming removes only the tag', async () => {
  const { page, errors } = await open('/repositories/samples/hello');
  const v2 = tagRow(page, 'v2');
  await v2.getByTestId('untag-button').click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute('aria-modal'), 'true');
  assert.match(await dialog.textContent(), /Untag v2\?/);
  // Focus moves into the dialog, onto Cancel (never onto the destructive button).
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'cancel-button');
  await page.screenshot({ path: join(artifacts, 'repository-untag-dialog.png'), fullPage: true });
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await v2.count(), 1, 'Escape leaves the tag alone');
  // Focus returns to the button that opened the dialog.
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'untag-button');

  await v2.getByTestId('untag-button').click();
  await page.getByTestId('confirm-button').click();
  await v2.waitFor({ state: 'detached' });
  await page.getByTestId('notice').filter({ hasText: 'Tag v2 was removed' }).waitFor();
  // The manifest stays, untagged.
  const manifest = manifestRow(page, images.v2.digest);
  assert.equal(await manifest.getByTestId('manifest-tags').textContent(), 'untagged');
  assert.equal((await registry(`/v2/samples/hello/manifests/v2`)).status, 404);
  assert.equal((await registry(`/v2/samples/hello/manifests/${images.v2.digest}`)).status, 200);
  await page.screenshot({ path: join(artifacts, 'repository-untagged.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('deleting a manifest asks for confirmation; while locked the lock message is shown', async () => {
  const { page, errors } = await open('/repositories/samples/hello');
  const row = manifestRow(page, images.v2.digest);
  const remove = row.getByRole('switch', { name: `delete enabled for manifest ${short(images.v2.digest)}` });
  await remove.click();
  await waitForAttribute(remove, 'aria-checked', 'false');

  await row.getByTestId('delete-manifest-button').click();
  await page.getByRole('dialog').waitFor();
  await page.getByTestId('confirm-button').click();
  const refusal = page.getByTestId('dialog-error');
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /is locked and cannot be deleted: its deleteEnabled is false \(turn deleteEnabled on to allow it\)/);
  await page.screenshot({ path: join(artifacts, 'repository-delete-locked-manifest.png'), fullPage: true });
  // The refusal keeps the keyboard in the dialog: focus on the refusal,
  // Tab stays inside, Escape closes, focus returns to the opener.
  const focusInDialog = () => page.evaluate(() => !!document.activeElement?.closest('dialog'));
  await page.waitForFunction(() => document.activeElement?.dataset.testid === 'dialog-error');
  for (let i = 0; i < 5; i += 1) {
    await page.keyboard.press('Tab');
    assert.ok(await focusInDialog(), `Tab ${i + 1} after the refusal left the dialog`);
  }
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  await page.waitForFunction(() => document.activeElement?.dataset.testid === 'delete-manifest-button');
  assert.equal(await row.count(), 1);

  await remove.click();
  await waitForAttribute(remove, 'aria-checked', 'true');
  await row.getByTestId('delete-manifest-button').click();
  await page.getByRole('dialog').waitFor();
  await page.getByTestId('confirm-button').click();
  await row.waitFor({ state: 'detached' });
  await page.getByTestId('notice').filter({ hasText: `Manifest ${short(images.v2.digest)} was deleted.` }).waitFor();
  assert.equal((await registry(`/v2/samples/hello/manifests/${images.v2.digest}`)).status, 404);
  await page.screenshot({ path: join(artifacts, 'repository-manifest-deleted.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('deleting the repository needs its name typed; then it is gone from the list', async () => {
  const { page, errors } = await open('/repositories/samples/doomed');
  await page.getByTestId('delete-repository-button').click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /Delete the repository samples\/doomed\?/);
  // Focus is in the name field; the button waits for the exact name.
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'confirm-input');
  const confirm = page.getByTestId('confirm-button');
  assert.equal(await confirm.isDisabled(), true);
  await page.keyboard.type('samples/doom');
  assert.equal(await confirm.isDisabled(), true);
  // Tab stays inside the dialog.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'confirm-input');
  await page.getByTestId('confirm-input').fill('samples/doomed');
  assert.equal(await confirm.isDisabled(), false);
  await page.screenshot({ path: join(artifacts, 'repository-delete-dialog.png'), fullPage: true });
  await confirm.click();

  await page.waitForURL((url) => url.pathname === '/repositories' && url.searchParams.get('deleted') === 'samples/doomed');
  await page.getByTestId('notice').filter({ hasText: 'Repository samples/doomed was deleted.' }).waitFor();
  await page.locator('[data-testid="repository-row"][data-name="samples/hello"]').waitFor();
  assert.equal(await page.locator('[data-testid="repository-row"][data-name="samples/doomed"]').count(), 0);
  assert.equal((await registry('/v2/samples/doomed/tags/list')).status, 404);
  await page.screenshot({ path: join(artifacts, 'repository-deleted.png'), fullPage: true });

  // Its page now says so, with a 404.
  const response = await page.goto(`${server.base}/repositories/samples/doomed`);
  assert.equal(response.status(), 404);
  await hydrated(page);
  assert.match(await page.getByTestId('page-error').textContent(), /Repository samples\/doomed was not found\./);
  assert.deepEqual(errors, []);
  await page.close();
});

test('an unlisted repository is still listed for the administrator, marked unlisted', async () => {
  const { page, errors } = await open('/repositories/samples/multi');
  const list = page.getByTestId('repository-locks').getByRole('switch', { name: 'list enabled for repository samples/multi' });
  await list.click();
  await waitForAttribute(list, 'aria-checked', 'false');
  await page.getByTestId('unlisted-badge').waitFor();
  const catalog = await (await registry('/v2/_catalog')).json();
  assert.deepEqual(catalog.repositories, ['samples/hello']);

  await page.goto(`${server.base}/repositories`);
  await hydrated(page);
  const row = page.locator('[data-testid="repository-row"][data-name="samples/multi"]');
  await row.getByTestId('unlisted-badge').waitFor();
  await page.screenshot({ path: join(artifacts, 'repositories-unlisted.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a token holder signed in to the customer view gets 403 from the repository functions', async () => {
  const created = await fetch(`${server.base}/api/v1/tokens`, {
    method: 'POST',
    headers: { authorization: adminAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'customer', repositories: [{ repository: 'samples/hello', actions: ['content/read', 'metadata/read'] }] }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const password = (await created.json()).credentials.passwords[0].value;
  const context = await chromium.browser.newContext();
  const page = await context.newPage();
  await signIn(page, server.base, 'customer', password);
  await page.waitForURL((url) => url.pathname !== '/login');
  const statuses = await page.evaluate(async () => {
    const list = await fetch('/portal/repositories');
    const one = await fetch('/portal/repository?name=samples/hello');
    return [list.status, one.status];
  });
  assert.deepEqual(statuses, [403, 403]);
  // The page itself shows nothing of the repository.
  await page.goto(`${server.base}/repositories/samples/hello`);
  await hydrated(page);
  assert.equal(await page.getByTestId('repository-name').count(), 0);
  assert.equal(await page.getByTestId('tag-row').count(), 0);
  await page.screenshot({ path: join(artifacts, 'repositories-customer-forbidden.png'), fullPage: true });
  await context.close();
});
