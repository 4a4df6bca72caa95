#!/usr/bin/env node
// Builds the two native pieces that npm cannot fetch here, offline, from installed packages only:
//   1. faiss-node against Debian's libfaiss-dev (its own install script downloads from GitHub: denied in package.json);
//   2. lookalike's own module (src/engine/native) against the llama.cpp source and prebuilt libraries of node-llama-cpp.
// Runs as `postinstall`; skips work whose output is up to date (`--quiet`: then it prints nothing). The module links
// node-llama-cpp's CPU libraries; GPU backends are loaded at run time (src/engine/accel), so there is one build for
// all.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const cmakeJs = join(packageDir('cmake-js'), 'bin', 'cmake-js');
const jobs = String(Math.max(1, Math.min(4, Number(process.env.LOOKALIKE_BUILD_JOBS) || 2)));

// The folder of an installed package (some, like node-llama-cpp, do not export their package.json).
function packageDir(name) {
  for (const base of require.resolve.paths(name) ?? []) {
    if (existsSync(join(base, name, 'package.json'))) return join(base, name);
  }
  return null;
}

const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
function log(msg) {
  process.stderr.write(`[build-native] ${msg}\n`);
}
function logUpToDate(what) {
  if (!quiet) log(`${what}: up to date`);
}
function run(cmd, args, cwd) {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
}
function fail(msg) {
  log(`ERROR: ${msg}`);
  log('See "Troubleshooting the native build" in README.md.');
  process.exit(1);
}
function hashFiles(files, extra = '') {
  const h = createHash('sha256').update(extra);
  // relative: one stamp for every checkout of the tree
  for (const f of files) h.update(relative(root, f)).update(readFileSync(f));
  return h.digest('hex');
}
function upToDate(stampFile, hash, output) {
  return existsSync(output) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash;
}

function buildFaiss() {
  const pkgDir = packageDir('faiss-node');
  const output = join(pkgDir, 'build', 'Release', 'faiss-node.node');
  const patchDir = join(root, 'patches', 'faiss-node');
  const patchFiles = readdirSync(patchDir)
    .sort()
    .map((f) => join(patchDir, f));
  const stamp = join(pkgDir, 'build', '.lookalike-stamp');
  const hash = hashFiles(patchFiles, readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  if (upToDate(stamp, hash, output)) return logUpToDate('faiss-node');
  if (!existsSync('/usr/include/faiss/Index.h'))
    fail('libfaiss-dev is missing: apt-get install libfaiss-dev libopenblas-dev patchelf cmake g++');
  log('faiss-node: building against the system libfaiss');
  // Our overlay: a deps/faiss CMake shim that finds the system faiss, and the patched binding source.
  mkdirSync(join(pkgDir, 'deps', 'faiss'), { recursive: true });
  copyFileSync(join(patchDir, 'deps-faiss-CMakeLists.txt'), join(pkgDir, 'deps', 'faiss', 'CMakeLists.txt'));
  for (const f of patchFiles.filter((p) => p.endsWith('.cc'))) copyFileSync(f, join(pkgDir, 'src', f.split('/').pop()));
  run(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn', '-p', jobs], pkgDir);
  writeFileSync(stamp, hash);
}

function llamaSource() {
  const llamaPkg = packageDir('node-llama-cpp');
  const { tag } = JSON.parse(readFileSync(join(llamaPkg, 'llama', 'llama.cpp.info.json'), 'utf8'));
  const dir = join(root, 'node_modules', '.cache', 'lookalike', `llama.cpp-${tag}`);
  if (!existsSync(join(dir, 'tools', 'mtmd', 'CMakeLists.txt'))) {
    log(`llama.cpp ${tag}: unpacking the source bundle that node-llama-cpp ships`);
    mkdirSync(dirname(dir), { recursive: true });
    run('git', ['clone', '--quiet', join(llamaPkg, 'llama', 'gitRelease.bundle'), dir], root);
  }
  return { tag, dir };
}

function binsDir() {
  const variant = `linux-${process.arch}`;
  const pkgDir = packageDir(`@node-llama-cpp/${variant}`);
  if (!pkgDir) fail(`@node-llama-cpp/${variant} is not installed (it is an optional dependency of node-llama-cpp)`);
  const dir = join(pkgDir, 'bins', variant);
  if (!existsSync(dir)) fail(`no prebuilt binaries in ${dir}`);
  return dir;
}

function buildModule() {
  const src = join(root, 'src', 'engine', 'native');
  const out = join(src, 'build');
  const output = join(out, 'Release', 'lookalike_native.node');
  const { tag, dir } = llamaSource();
  const bins = binsDir();
  const sources = readdirSync(src)
    .filter((f) => /\.(cpp|h|txt)$/.test(f))
    .sort()
    .map((f) => join(src, f));
  const hash = hashFiles(sources, `${tag}|${bins}`);
  const stamp = join(out, '.lookalike-stamp');
  if (upToDate(stamp, hash, output)) return logUpToDate('lookalike native module');
  log(`lookalike native module: compiling llama.cpp ${tag} mtmd sources (about a minute with 2 jobs)`);
  run(
    process.execPath,
    [
      cmakeJs,
      'compile',
      '--log-level',
      'warn',
      '-d',
      src,
      '-O',
      out,
      '-p',
      jobs,
      `--CDLLAMA_SRC_DIR=${dir}`,
      `--CDLLAMA_BINS_DIR=${bins}`,
      `--CDLOOKALIKE_MODULE_DIR=${join(out, 'Release')}`,
    ],
    root,
  );
  writeFileSync(stamp, hash);
}

try {
  const only = args.find((a) => !a.startsWith('--'));
  if (!only || only === 'faiss') buildFaiss();
  if (!only || only === 'module') buildModule();
} catch (err) {
  fail(err.message);
}
