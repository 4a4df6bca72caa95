// The GPU path, run on Vulkan over Mesa's software driver (lavapipe), as llama.cpp's own CI does: the backend is
// loaded at run time into the one build, the vision tower and the text model run on it, and their answers match
// the CPU's. ggml uses a CPU-type Vulkan device only when GGML_VK_VISIBLE_DEVICES names it. The first encode after a
// load compiles shader pipelines (27 s here on an empty Mesa shader cache, 111 s on loaded cores), so this file loads
// few models.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dot } from '../src/core/util/vectors.js';
import { selectAcceleration, type Acceleration } from '../src/engine/accel/acceleration.js';
import { physicalCores } from '../src/core/util/cpu.js';
import { VisionEncoder } from '../src/engine/encoder/vision-encoder.js';
import { VisionLanguageModel } from '../src/engine/vlm/vision-language-model.js';
import { startTestApp } from './helpers/app.js';
import { runScript, startScript, watchOutput } from './helpers/cli.js';
import { scenePng } from './helpers/images.js';
import { TINY_MMPROJ, TINY_TEXT_MODEL } from './helpers/models.js';

/** Ids of the 5 nearest other vectors to vectors[q]. */
function ranked(vectors: Float32Array[], q: number): { i: number; s: number }[] {
  return vectors.map((v, i) => ({ i, s: i === q ? -Infinity : dot(vectors[q]!, v) })).sort((a, b) => b.s - a.s);
}

/**
 * The GPU's top 5 is the CPU's, in the CPU's order except among neighbours the CPU scores within 2e-3 (the GPU's
 * rounding).
 */
function sameTop5(gpu: Float32Array[], cpu: Float32Array[], q: number): void {
  const want = ranked(cpu, q),
    score = new Map(want.map((h) => [h.i, h.s]));
  const got = ranked(gpu, q)
    .slice(0, 5)
    .map((h) => h.i);
  expect(new Set(got)).toEqual(new Set(want.slice(0, 5).map((h) => h.i)));
  for (let k = 1; k < got.length; k++)
    expect(score.get(got[k - 1]!)! - score.get(got[k]!)!, `query ${q}, rank ${k}`).toBeGreaterThan(-2e-3);
}

describe('on Vulkan (lavapipe)', () => {
  let accel: Acceleration;
  beforeAll(() => {
    process.env.GGML_VK_VISIBLE_DEVICES = '0'; // lavapipe is a CPU-type device: name it
    accel = selectAcceleration('vulkan');
  });

  it("loads the Vulkan backend from node-llama-cpp's Vulkan package into the one build", () => {
    expect(accel.gpu).toMatchObject({ name: 'Vulkan0', backend: 'Vulkan', type: 'gpu' });
    expect(accel.gpu!.description).toMatch(/llvmpipe/);
  });

  it("encodes on the GPU with the CPU's vectors (cosine >= 0.999) and the same top-5 neighbours", async () => {
    const options = { minTokens: 16, maxTokens: 256, threads: 2 };
    const notes: string[] = [];
    const gpu = await VisionEncoder.load(TINY_MMPROJ, { ...options, useGpu: true, log: (m) => notes.push(m) });
    const cpu = await VisionEncoder.load(TINY_MMPROJ, { ...options, useGpu: false, log: (m) => notes.push(m) });
    try {
      expect([gpu.device, cpu.device]).toEqual(['Vulkan0', 'CPU']); // where ggml's memory accounting puts the weights
      const onGpu: Float32Array[] = [],
        onCpu: Float32Array[] = [];
      for (let seed = 0; seed < 16; seed++) {
        const png = await scenePng(seed);
        onGpu.push((await gpu.embed(png)).vector);
        onCpu.push((await cpu.embed(png)).vector);
      }
      for (let i = 0; i < onGpu.length; i++) expect(dot(onGpu[i]!, onCpu[i]!)).toBeGreaterThanOrEqual(0.999);
      // not the CPU's bits: the GPU really computed them
      expect(onGpu.some((v, i) => v.some((x, j) => x !== onCpu[i]![j]))).toBe(true);
      for (let q = 0; q < onGpu.length; q++) sameTop5(onGpu, onCpu, q);
      // the first encode compiles shader pipelines on the GPU, and says so with the time it took; the CPU compiles
      // nothing
      expect(notes).toEqual([
        expect.stringMatching(
          /^first encode on Vulkan0: compiling GPU shader pipelines, up to a minute on an empty shader cache/,
        ),
        expect.stringMatching(/^first encode on Vulkan0 took [\d.]+ s$/),
      ]);
    } finally {
      await gpu.dispose();
      await cpu.dispose();
    }
  });

  it("runs the VL model with all layers on the GPU: the CPU's P(yes) within 1e-3, and describe streams", async () => {
    const options = { minTokens: 16, maxTokens: 64, threads: 2 };
    const gpu = await VisionLanguageModel.load(TINY_TEXT_MODEL, TINY_MMPROJ, {
      ...options,
      useGpu: true,
      gpuLayers: -1,
    });
    const cpu = await VisionLanguageModel.load(TINY_TEXT_MODEL, TINY_MMPROJ, {
      ...options,
      useGpu: false,
      gpuLayers: 0,
    });
    try {
      // every text layer (libllama's count, 5/5, includes the output layer)
      expect(gpu.layersOnGpu).toBe(gpu.text.layers);
      expect(cpu.layersOnGpu).toBe(0);
      expect(gpu.encoderBackend().device).toBe('Vulkan0');
      const question = 'Do these two images show the same kind of thing? Answer yes or no.';
      for (const seed of [1, 2, 3]) {
        const pair = [await gpu.decode(await scenePng(0)), await gpu.decode(await scenePng(seed))];
        const [pg, pc] = [await gpu.probabilityYes(question, pair), await cpu.probabilityYes(question, pair)];
        expect(Math.abs(pg - pc)).toBeLessThanOrEqual(1e-3);
      }
      const chunks: string[] = [];
      const r = await gpu.generate('Describe this image.', [await gpu.decode(await scenePng(4))], {
        maxTokens: 6,
        onText: (t) => chunks.push(t),
      });
      expect(r.nTokens).toBe(6);
      expect(chunks.length).toBeGreaterThanOrEqual(1);
      expect(chunks.join('')).toBe(r.text);
    } finally {
      await gpu.dispose();
      await cpu.dispose();
    }
  });

  it('reports the Vulkan device in /api/health and /api/stats', async () => {
    const t = await startTestApp({
      LOOKALIKE_GPU: 'vulkan',
      LOOKALIKE_MMPROJ: TINY_MMPROJ,
      LOOKALIKE_MIN_TOKENS: '16',
    });
    try {
      const health = (await t.app.inject('/api/health')).json();
      expect(health.device).toMatchObject({ kind: 'gpu', name: 'Vulkan0', backend: 'Vulkan', visionTower: 'Vulkan0' });
      expect(health.device.description).toMatch(/^Vulkan0 \(llvmpipe/);
      expect(health.device.memoryTotal).toBeGreaterThan(0);
      expect((await t.app.inject('/api/stats')).json().device.name).toBe('Vulkan0');
    } finally {
      await t.close();
    }
  });
});

describe('choosing the device at start', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'lookalike-gpu-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = () => ({
    LOOKALIKE_MMPROJ: TINY_MMPROJ,
    LOOKALIKE_DATA_DIR: dataDir,
    PORT: '0',
    LOOKALIKE_LOG_LEVEL: 'info',
  });

  it('auto without a usable GPU backend runs on the CPU and logs why each GPU backend was skipped', async () => {
    // without GGML_VK_VISIBLE_DEVICES, lavapipe is not taken for a GPU: this machine then has none
    const child = startScript('src/web/server.ts', [], {
      ...env(),
      LOOKALIKE_GPU: 'auto',
      GGML_VK_VISIBLE_DEVICES: '',
    });
    const output = watchOutput(child);
    try {
      await output.waitFor(/GPU: CUDA skipped: (no driver|CUDA runtime missing)/, 60_000);
      await output.waitFor(/GPU: Vulkan skipped: no device.*GGML_VK_VISIBLE_DEVICES/, 60_000);
      await output.waitFor(
        new RegExp(`device: CPU, ${physicalCores()} threads?, ggml \\w+ kernels \\(LOOKALIKE_GPU=auto\\)`),
        60_000,
      );
      await output.waitFor(/gallery ready/, 60_000);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('LOOKALIKE_GPU=cuda on a machine without CUDA stops the start with a clear message and no crash', async () => {
    const out = await runScript('src/web/server.ts', [], { ...env(), LOOKALIKE_GPU: 'cuda' });
    expect(out.code).toBe(1);
    expect(out.stdout + out.stderr).toMatch(/could not start: LOOKALIKE_GPU=cuda: no driver.*LOOKALIKE_GPU=auto/);
  });
});
