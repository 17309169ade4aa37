// Shared pieces of the browser tests: start a real `portcullis serve` on a
// free port with a fresh data directory, and a headless Debian Chromium.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
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

// ---------------------------------------------------------------------------
// Container clients (podman, skopeo) in a scratch environment of their own:
// home, runtime directory, auth file and storage, so no test sees another's
// login and nothing of the machine's is touched.

export const shellQuote = (word) => `'${word.replaceAll("'", "'\\''")}'`;

export function containerClients() {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-clients-'));
  for (const sub of ['home', 'run', 'tmp', 'storage/root', 'storage/runroot', 'storage/tmp', 'images']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  chmodSync(join(dir, 'run'), 0o700);
  const env = { ...process.env };
  for (const key of ['DOCKER_CONFIG', 'REGISTRY_AUTH_FILE', 'CONTAINERS_STORAGE_CONF', 'XDG_CONFIG_HOME']) delete env[key];
  Object.assign(env, {
    HOME: join(dir, 'home'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
    XDG_DATA_HOME: join(dir, 'home/.local/share'),
    REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
    TMPDIR: join(dir, 'tmp'),
  });
  const podmanArgs = ['--root', join(dir, 'storage/root'), '--runroot', join(dir, 'storage/runroot'),
    '--tmpdir', join(dir, 'storage/tmp'), '--storage-driver', 'vfs', '--events-backend', 'file',
    '--cgroup-manager', 'cgroupfs'];
  const report = (program, args, code, stdout, stderr) => `${program} ${args.join(' ')} -> ${code}\n${stdout}\n${stderr}`;
  const run = (program, args, input) => {
    const result = spawnSync(program, args, { env, input, encoding: 'utf8', timeout: 180_000 });
    if (result.error) throw new Error(`cannot run ${program}: ${result.error.message} (see scripts/setup.sh)`);
    return { ok: result.status === 0, stdout: result.stdout, stderr: result.stderr,
      report: report(program, args, result.status, result.stdout, result.stderr) };
  };
  // Without blocking this process (a server the test runs in it, such as
  // an OpenID Connect issuer, answers meanwhile).
  const runAsync = (program, args, input) => new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, code, stdout, stderr, report: report(program, args, code, stdout, stderr) });
    });
    child.stdin.end(input ?? '');
  });
  return {
    dir,
    authFile: join(dir, 'auth.json'),
    podmanArgs,
    run,
    runAsync,
    podman: (args, input) => run('podman', [...podmanArgs, ...args], input),
    cleanup: () => {
      spawnSync('podman', [...podmanArgs, 'rmi', '--all', '--force'], { env, encoding: 'utf8', timeout: 180_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a copied snippet exactly as pasted, in bash, with podman pointed at
 *  the scratch storage (a shell function, so the snippet's text is
 *  untouched). `input` is what the person types after pasting (the
 *  password the line reads without echo). */
export function runSnippet(clients, snippet, { input, wait = false } = {}) {
  const podmanFunction = `podman() { command podman ${clients.podmanArgs.map(shellQuote).join(' ')} "$@"; }`;
  const args = ['-c', `set -e\n${podmanFunction}\n${snippet}\n`];
  return wait ? clients.runAsync('bash', args, input) : clients.run('bash', args, input);
}
