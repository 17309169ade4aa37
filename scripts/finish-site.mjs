#!/usr/bin/env node
// Finishes the site `cargo leptos build` wrote (target/site), after every
// build (the Makefile calls it):
//
//   node scripts/finish-site.mjs debug     # after cargo leptos build [--bin-cargo-args=--tests]
//   node scripts/finish-site.mjs release   # after cargo leptos build --release
//
// 1. Copies the hash file cargo-leptos wrote next to the binary
//    (<target dir>/<profile>/hash.txt: the hashed names of the script, wasm
//    and stylesheet) into the site root. The debug and release builds share
//    the site root, so the binary's own copy may describe a site that the
//    other profile's build has since replaced; the server prefers the copy
//    beside the files (server/src/http/portal.rs, `HashedAssets::find`).
// 2. Writes a brotli (.br) and a gzip (.gz) variant beside every
//    compressible file of the site root, which the server sends to browsers
//    that accept them. Compressing here costs seconds once instead of on
//    every request. Release builds get the smallest variants (brotli quality
//    11); debug builds, whose wasm is several times larger and rebuilt
//    often, a quick level.
//
// Idempotent: a variant newer than its file is kept; variants whose file is
// gone are removed.
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const profile = process.argv[2];
if (profile !== 'debug' && profile !== 'release') {
  console.error('usage: node scripts/finish-site.mjs debug|release');
  process.exit(2);
}
const release = profile === 'release';
// Cargo.toml: site-root = "target/site" (relative to the workspace, whatever
// the target directory); the binary is in the target directory.
const siteRoot = resolve(root, process.env.LEPTOS_SITE_ROOT ?? 'target/site');
const targetDir = resolve(root, process.env.CARGO_TARGET_DIR ?? 'target');

if (!existsSync(join(siteRoot, 'pkg'))) {
  console.error(`finish-site: ${siteRoot}/pkg is missing; run cargo leptos build first`);
  process.exit(1);
}

const hashFile = join(targetDir, profile, 'hash.txt');
if (existsSync(hashFile)) {
  copyFileSync(hashFile, join(siteRoot, 'hash.txt'));
} else {
  // Without `hash-files` the names carry no hash: nothing to describe, and
  // an old copy would name files this build removed.
  rmSync(join(siteRoot, 'hash.txt'), { force: true });
}

// Text compresses well; wasm too (brotli's generic mode). Images other than
// SVG are compressed already.
const textual = new Set(['.js', '.mjs', '.css', '.svg', '.json', '.html', '.map']);
const compressible = (name) => textual.has(extname(name)) || extname(name) === '.wasm';

const files = [];
(function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.isFile()) files.push(path);
  }
})(siteRoot);

let written = 0;
let before = 0;
let after = 0;
for (const path of files) {
  const variant = path.match(/^(.*)\.(br|gz)$/);
  if (variant) {
    if (!existsSync(variant[1])) rmSync(path);
    continue;
  }
  if (!compressible(path)) continue;
  const modified = statSync(path).mtimeMs;
  const fresh = (out) => existsSync(out) && statSync(out).mtimeMs >= modified;
  if (fresh(`${path}.br`) && fresh(`${path}.gz`)) continue;
  const content = readFileSync(path);
  const brotli = brotliCompressSync(content, {
    params: {
      [constants.BROTLI_PARAM_MODE]: textual.has(extname(path)) ? constants.BROTLI_MODE_TEXT : constants.BROTLI_MODE_GENERIC,
      [constants.BROTLI_PARAM_QUALITY]: release ? constants.BROTLI_MAX_QUALITY : 5,
      [constants.BROTLI_PARAM_LGWIN]: release ? constants.BROTLI_MAX_WINDOW_BITS : constants.BROTLI_DEFAULT_WINDOW,
      [constants.BROTLI_PARAM_SIZE_HINT]: content.length,
    },
  });
  const gzip = gzipSync(content, { level: release ? 9 : 6 });
  // A variant no smaller than the file (a tiny file) is not worth sending.
  for (const [out, bytes] of [[`${path}.br`, brotli], [`${path}.gz`, gzip]]) {
    if (bytes.length < content.length) writeFileSync(out, bytes);
    else rmSync(out, { force: true });
  }
  written += 1;
  before += content.length;
  after += Math.min(brotli.length, content.length);
}
console.log(`finish-site: ${profile}; ${written} file(s) compressed` +
  (written ? `, ${before} bytes -> ${after} with brotli` : ''));
