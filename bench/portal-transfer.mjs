#!/usr/bin/env node
// Bytes a browser transfers for the sign-in page (/login, no cookies): a
// first visit in a fresh browser context, then a repeat visit (a reload in
// the same context). Sums what Chromium reports as received for each
// request (CDP Network.loadingFinished encodedDataLength: headers and body
// as sent on the wire, so compressed bodies count compressed and answers
// from the browser's cache count nothing).
//
//   make release && node bench/portal-transfer.mjs
//   PORTCULLIS_BIN=target/debug/portcullis node bench/portal-transfer.mjs
//   BASE=http://127.0.0.1:5000 node bench/portal-transfer.mjs   # a running server
//
// Starts target/release/portcullis (or PORTCULLIS_BIN) on a free port with a
// fresh data directory and the site in target/site, unless BASE is given
// (end2end/tests/support.mjs's startServer).
// Needs Debian's chromium (or CHROMIUM) and `npm install` (playwright-core).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The browser tests' server and browser, with the release build by default.
process.env.PORTCULLIS_BIN ??= join(root, 'target', 'release', 'portcullis');
const { startServer, launchBrowser } = await import('../end2end/tests/support.mjs');

/** Loads the page with `load` and returns one row per request. */
async function measure(cdp, page, load) {
  const requests = new Map();
  const row = (id) => requests.get(id) ?? requests.set(id, { bytes: 0, from: 'network' }).get(id);
  const onRequest = ({ requestId, request }) => { row(requestId).url = request.url; };
  const onResponse = ({ requestId, response }) => {
    const r = row(requestId);
    r.status = response.status;
    r.encoding = response.headers['content-encoding'] ?? response.headers['Content-Encoding'] ?? '';
    if (response.fromDiskCache) r.from = 'disk cache';
    if (response.fromServiceWorker) r.from = 'service worker';
  };
  const onCached = ({ requestId }) => { row(requestId).from = 'memory cache'; };
  const onFinished = ({ requestId, encodedDataLength }) => { row(requestId).bytes = encodedDataLength; };
  const onFailed = ({ requestId, errorText }) => { row(requestId).status = errorText; };
  cdp.on('Network.requestWillBeSent', onRequest);
  cdp.on('Network.responseReceived', onResponse);
  cdp.on('Network.requestServedFromCache', onCached);
  cdp.on('Network.loadingFinished', onFinished);
  cdp.on('Network.loadingFailed', onFailed);
  await load();
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
  await page.waitForLoadState('networkidle');
  cdp.off('Network.requestWillBeSent', onRequest);
  cdp.off('Network.responseReceived', onResponse);
  cdp.off('Network.requestServedFromCache', onCached);
  cdp.off('Network.loadingFinished', onFinished);
  cdp.off('Network.loadingFailed', onFailed);
  return [...requests.values()];
}

function report(title, rows, base) {
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  console.log(`\n${title}: ${total} bytes (${(total / 1024).toFixed(1)} KiB) in ${rows.length} requests`);
  for (const r of rows) {
    const path = r.url?.startsWith(base) ? r.url.slice(base.length) : r.url;
    console.log(`  ${String(r.bytes).padStart(9)}  ${String(r.status ?? '').padEnd(4)} ${(r.encoding || '-').padEnd(5)} ${r.from.padEnd(12)} ${path}`);
  }
  return total;
}

const server = process.env.BASE ? { base: process.env.BASE.replace(/\/$/, ''), stop: async () => {} } : await startServer();
const { browser, close } = await launchBrowser();
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const first = report('first visit', await measure(cdp, page, () => page.goto(`${server.base}/login`)), server.base);
  const repeat = report('repeat visit (reload)', await measure(cdp, page, () => page.reload()), server.base);
  console.log(`\n${JSON.stringify({ firstVisitBytes: first, repeatVisitBytes: repeat })}`);
  await context.close();
} finally {
  await close();
  await server.stop();
}
