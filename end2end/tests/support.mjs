// Shared pieces of the browser tests: start a real `portcullis serve` on a
// free port with a fresh data directory, and a headless Debian Chromium.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const artifacts = join(root, 'end2end', 'artifacts');
mkdirSync(artifacts, { recursive: true });

export const ADMIN_PASSWORD = 'browser-test-admin-password';

/** Starts the debug build of the server; resolves to { base, stop }. */
export async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-e2e-'));
  const binary = process.env.PORTCULLIS_BIN ?? join(root, 'target', 'debug', 'portcullis');
  const child = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir,
    '--site-root', join(root, 'target', 'site')], {
    env: { ...process.env, PORTCULLIS_ADMIN_PASSWORD: ADMIN_PASSWORD, PORTCULLIS_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await new Promise((resolveBase, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 30 s')), 30_000);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = line.match(/listening on (http:\/\/\S+)/);
      if (match) { clearTimeout(timer); resolveBase(match[1]); }
    });
  });
  return {
    base,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Headless Debian Chromium; Playwright gives each launch a fresh,
 *  temporary profile (its own --user-data-dir). */
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { browser, close: () => browser.close() };
}

/** Waits until the page's wasm has hydrated (the app sets the marker). */
export async function hydrated(page) {
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
}

export async function signIn(page, base, user, password) {
  await page.goto(`${base}/login`);
  await hydrated(page);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const adminAuthorization = 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64');
const sha256 = (bytes) => 'sha256:' + createHash('sha256').update(bytes).digest('hex');

/** The management API of `server` as the administrator: the parsed answer;
 * a refusal fails the test with its status and body. */
export async function adminApi(server, method, path, body) {
  const response = await fetch(`${server.base}${path}`, {
    method,
    headers: { authorization: adminAuthorization, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Pushes a one-layer image to `server` as the administrator, with
 * monolithic uploads. */
export async function pushImage(server, repository, tag) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.from(`layer of ${repository}:${tag}`);
  for (const blob of [config, layer]) {
    const response = await fetch(`${server.base}/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, {
      method: 'POST', headers: { authorization: adminAuthorization, 'content-type': 'application/octet-stream' }, body: blob,
    });
    assert.equal(response.status, 201, `blob upload to ${repository}`);
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
  });
  const response = await fetch(`${server.base}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT', headers: { authorization: adminAuthorization, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest,
  });
  assert.equal(response.status, 201, `manifest to ${repository}:${tag}`);
}
