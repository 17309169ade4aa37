// Asset delivery: the page names hashed script and wasm files, served
// precompressed (brotli, gzip) and cached for a year; pages, server
// functions and un-hashed names are not; a repeat visit takes the wasm from
// the browser's cache.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { startServer, launchBrowser, hydrated } from './support.mjs';

const IMMUTABLE = 'public, max-age=31536000, immutable';

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

/** GET with node:http, which (unlike fetch) leaves the body as sent:
 *  { status, headers, body } with body a Buffer. */
function get(url, headers = {}) {
  return new Promise((resolveGet, reject) => {
    request(url, { headers }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolveGet({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    }).on('error', reject).end();
  });
}

/** The script and wasm a page loads to hydrate, as Leptos links them. */
async function hydrationFiles(page) {
  return {
    js: await page.locator('link[rel="modulepreload"]').getAttribute('href'),
    wasm: await page.locator('link[rel="preload"][type="application/wasm"]').getAttribute('href'),
    css: await page.locator('link[rel="stylesheet"]').getAttribute('href'),
  };
}

test('the script and wasm have hashed names and are served compressed and immutable', async () => {
  const page = await chromium.browser.newPage();
  await page.goto(`${server.base}/login`);
  await hydrated(page);
  const { js, wasm } = await hydrationFiles(page);
  await page.close();
  assert.match(js, /^\/pkg\/portcullis\.[A-Za-z0-9_-]{22}\.js$/);
  assert.match(wasm, /^\/pkg\/portcullis\.[A-Za-z0-9_-]{22}\.wasm$/);

  for (const [path, type] of [[js, /^text\/javascript/], [wasm, /^application\/wasm$/]]) {
    const plain = await get(`${server.base}${path}`, { 'accept-encoding': 'identity' });
    assert.equal(plain.status, 200, path);
    assert.equal(plain.headers['content-encoding'], undefined, path);
    assert.match(plain.headers['content-type'], type, path);
    assert.equal(plain.headers['cache-control'], IMMUTABLE, path);
    assert.match(plain.headers.vary, /accept-encoding/i, path);

    for (const [encoding, decompress] of [['br', brotliDecompressSync], ['gzip', gunzipSync]]) {
      const compressed = await get(`${server.base}${path}`, { 'accept-encoding': encoding });
      assert.equal(compressed.status, 200, `${path} ${encoding}`);
      assert.equal(compressed.headers['content-encoding'], encoding, path);
      assert.match(compressed.headers['content-type'], type, `${path} ${encoding}`);
      assert.equal(compressed.headers['cache-control'], IMMUTABLE, `${path} ${encoding}`);
      assert.match(compressed.headers.vary, /accept-encoding/i, `${path} ${encoding}`);
      assert.ok(compressed.body.length < plain.body.length,
        `${path}: ${encoding} ${compressed.body.length} bytes, identity ${plain.body.length}`);
      assert.ok(decompress(compressed.body).equals(plain.body), `${path}: ${encoding} decompresses to the file`);
    }
  }

  // Of the encodings it accepts, a browser gets brotli.
  const preferred = await get(`${server.base}${wasm}`, { 'accept-encoding': 'gzip, deflate, br' });
  assert.equal(preferred.headers['content-encoding'], 'br');
});

test('pages, server functions and names without a hash are not cached for a year', async () => {
  const page = await chromium.browser.newPage();
  await page.goto(`${server.base}/login`);
  await hydrated(page);
  const { css } = await hydrationFiles(page);
  await page.close();

  const html = await get(`${server.base}/login`, { 'accept-encoding': 'br, gzip' });
  assert.equal(html.status, 200);
  assert.match(html.headers['content-type'], /^text\/html/);
  assert.doesNotMatch(html.headers['cache-control'] ?? '', /immutable|max-age=31536000/);

  const session = await get(`${server.base}/portal/session`);
  assert.equal(session.status, 200);
  assert.doesNotMatch(session.headers['cache-control'] ?? '', /immutable|max-age=31536000/);

  // The shell links its stylesheet by a name without a hash.
  const stylesheet = await get(`${server.base}${css}`, { 'accept-encoding': 'br' });
  assert.equal(stylesheet.status, 200, css);
  assert.match(stylesheet.headers['content-type'], /^text\/css/);
  assert.equal(stylesheet.headers['cache-control'], 'no-cache', css);
  // Revalidating costs no body.
  const again = await get(`${server.base}${css}`, { 'if-modified-since': stylesheet.headers['last-modified'] });
  assert.equal(again.status, 304, css);

  // A hashed name this build does not have (an old page's) is not kept.
  const gone = await get(`${server.base}/pkg/portcullis.AAAAAAAAAAAAAAAAAAAAAA.wasm`);
  assert.equal(gone.status, 404);
  assert.doesNotMatch(gone.headers['cache-control'] ?? '', /immutable|max-age/);
});

test('a repeat visit in the same browser context does not download the wasm again', async () => {
  const context = await chromium.browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  // Per request id: its URL, bytes received, whether the cache answered.
  let requests = new Map();
  const row = (id) => requests.get(id) ?? requests.set(id, { bytes: 0, cached: false }).get(id);
  cdp.on('Network.requestWillBeSent', ({ requestId, request: sent }) => { row(requestId).url = sent.url; });
  cdp.on('Network.requestServedFromCache', ({ requestId }) => { row(requestId).cached = true; });
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    if (response.fromDiskCache) row(requestId).cached = true;
  });
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => { row(requestId).bytes = encodedDataLength; });
  const wasmLoads = () => [...requests.values()].filter((r) => r.url?.endsWith('.wasm'));

  await page.goto(`${server.base}/login`);
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  const first = wasmLoads();
  assert.ok(first.some((r) => !r.cached && r.bytes > 0), `first visit downloads the wasm: ${JSON.stringify(first)}`);

  requests = new Map();
  await page.reload();
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  for (const load of wasmLoads()) {
    assert.ok(load.cached && load.bytes === 0, `the repeat visit took the wasm from the cache: ${JSON.stringify(load)}`);
  }
  await context.close();
});
