/**
 * The browser playground. First, in Node: `ddn export` and the page's
 * folder loader, bit text and tree walk. Then end to end: builds web/ with
 * Vite, serves the build on localhost, and drives Debian's Chromium through
 * playwright-core. It generates, walks the latent tree, draws a mask,
 * inpaints, guides by two conditions, encodes, and checks that canvases
 * changed, no tensors leaked and the console logged no errors. Screenshots
 * go to web/screenshots/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type Browser, type Page, chromium } from 'playwright-core';
import { type PreviewServer, build, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import * as tf from '@tensorflow/tfjs-core';

import { initBackend } from '../src/backend/select.js';
import { Classifier, makeClassifierConfig } from '../src/classifier/cnn.js';
import { saveClassifier } from '../src/classifier/io.js';
import { type ExportManifest, exportCommand } from '../src/cli/export.js';
import { main } from '../src/cli/main.js';
import type { Output } from '../src/cli/output.js';
import { Rng } from '../src/data/rng.js';
import { DdnError } from '../src/errors.js';
import { saveModel } from '../src/io/modelDir.js';
import { levelKs, levelSizes, makeConfig, validateConfig } from '../src/model/config.js';
import { DdnModel } from '../src/model/model.js';
import { bitsToLatent, latentToBits } from '../web/src/latentBits.js';
import { decodeLevels, randomLatent, redrawFrom } from '../web/src/latentWalk.js';
import { disposeFolder, type FolderReader, loadFolder } from '../web/src/modelFolder.js';

const CHROMIUM = '/usr/bin/chromium';
const CONFIG_FILE = 'web/vite.config.ts';
const SCREENSHOTS = 'web/screenshots';
const SHIPPED_CONFIG = 'web/public/models/mnist/config.json';
const hasChromium = existsSync(CHROMIUM);

// The machine's network is closed, so Chromium's background services stay off.
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Makes an Output that keeps the result lines. */
function quietOutput(lines: string[]): Output {
  return { result: (line) => lines.push(line), note: () => undefined, json: () => undefined };
}

/** Makes the page's folder reader for a folder on disk. */
function diskReader(dir: string): FolderReader {
  return async (path) => (existsSync(join(dir, path)) ? new Uint8Array(readFileSync(join(dir, path))) : null);
}

describe('web playground without a browser', () => {
  let root = '';
  let runDir = '';
  let classifierDir = '';
  // A tiny MNIST-sized model: 32×32×1, K = 4, 3 levels.
  const config = makeConfig({ imageSize: 32, imageChannels: 1, k: 4, levels: 3, channels: 8 });

  beforeAll(async () => {
    await initBackend('cpu');
    root = await mkdtemp(join(tmpdir(), 'ddn-export-'));
    runDir = join(root, 'run');
    classifierDir = join(root, 'classifier');
    const model = new DdnModel(config, 3);
    await saveModel(model, runDir, { data: 'mnist', steps: 0 });
    model.dispose();
    const classifier = new Classifier(makeClassifierConfig({ imageSize: 32, imageChannels: 1, classes: 10 }));
    await saveClassifier(classifier, classifierDir);
    classifier.dispose();
  });

  afterAll(async () => {
    if (root !== '') await rm(root, { recursive: true, force: true });
  });

  it('export writes a folder the page loads', async () => {
    const out = join(root, 'export');
    const lines: string[] = [];
    await exportCommand({ model: runDir, out, classifier: classifierDir, exampleCount: 4 }, quietOutput(lines));
    expect(lines.join('\n')).toContain('classifier included, 4 example images');

    const manifest = JSON.parse(await readFile(join(out, 'export.json'), 'utf8')) as ExportManifest;
    expect(manifest.classifier).toBe('classifier/');
    expect(manifest.examples).toEqual({ file: 'examples.safetensors', count: 4, source: 'mnist' });
    expect(readFileSync(join(out, 'model.safetensors'))).toEqual(readFileSync(join(runDir, 'model.safetensors')));

    const folder = await loadFolder(diskReader(out), 'export');
    try {
      expect(folder.checksumChecked).toBe(true);
      expect(folder.model.ks).toEqual([4, 4, 4]);
      expect(folder.classifierConfig?.classes).toBe(10);
      expect(folder.classifierMissing).toBeNull();
      expect(folder.examples?.count).toBe(4);
      expect(folder.examples?.labels).toHaveLength(4);
    } finally {
      disposeFolder(folder);
    }
  });

  it('export without classifier leaves class guidance off', async () => {
    const out = join(root, 'export');
    await exportCommand({ model: runDir, out, examples: 'none', exampleCount: 16 }, quietOutput([]));
    expect(existsSync(join(out, 'classifier'))).toBe(false);
    expect(existsSync(join(out, 'examples.safetensors'))).toBe(false);
    const folder = await loadFolder(diskReader(out), 'export');
    try {
      expect(folder.classifier).toBeNull();
      expect(folder.classifierMissing).toContain('--classifier');
      expect(folder.examples).toBeNull();
    } finally {
      disposeFolder(folder);
    }
  });

  it('export command line options', async () => {
    const out = join(root, 'from-cli');
    let stdout = '';
    let stderr = '';
    const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const args = ['export', '--model', runDir, '--out', out, '--classifier', classifierDir, '--backend', 'cpu'];
      expect(await main([...args, '--example-count', '2', '--json'])).toBe(0);
      expect(await main([...args, '--example-count', '-1'])).toBe(1);
    } finally {
      outSpy.mockRestore();
      errSpy.mockRestore();
    }
    expect(JSON.parse(stdout.trim())).toMatchObject({ out, classifier: true, examples: 2 });
    expect(stderr).toContain("invalid --example-count '-1'");
  });

  it('export rejects a folder with other files', async () => {
    const out = join(root, 'busy');
    await mkdir(out);
    await writeFile(join(out, 'notes.txt'), 'keep me');
    const run = exportCommand({ model: runDir, out, exampleCount: 0 }, quietOutput([]));
    await expect(run).rejects.toThrow(/not part of an export \(notes\.txt\)/);
  });

  it('loader rejects altered weights', async () => {
    const out = join(root, 'altered');
    await exportCommand({ model: runDir, out, examples: 'none', exampleCount: 0 }, quietOutput([]));
    const weights = readFileSync(join(out, 'model.safetensors'));
    weights[weights.length - 1] ^= 0xff;
    await writeFile(join(out, 'model.safetensors'), weights);
    await expect(loadFolder(diskReader(out), 'altered')).rejects.toThrow(/SHA-256 does not match/);
  });

  it('latent bits round trip', () => {
    const ks = [3, 256, 2, 64];
    const latent = Int32Array.from([2, 200, 1, 63]);
    const text = latentToBits(latent, ks);
    expect(text).toBe('10 11001000 1 111111');
    expect(bitsToLatent(text, ks)).toEqual(latent);
    expect(bitsToLatent(text.replace(/ /g, '\n'), ks)).toEqual(latent);
    expect(() => bitsToLatent('10 1100100', ks)).toThrow(/expected 17 bits/);
    expect(() => bitsToLatent('1x 11001000 1 111111', ks)).toThrow(DdnError);
    // 11 is code 3 at a level with K = 3.
    expect(() => bitsToLatent('11 11001000 1 111111', ks)).toThrow(/outside \[0, 3\)/);
  });

  it('tree walk matches sample and decode', async () => {
    const model = new DdnModel(config, 3);
    try {
      const sampled = model.sample(1, new Rng(5));
      const latent = randomLatent(model.ks, new Rng(5));
      expect(latent).toEqual(sampled.latents[0]);

      const tensorsBefore = tf.memory().numTensors;
      const levels = await decodeLevels(model, latent);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      expect(levels.map((l) => l.side)).toEqual(levelSizes(config));
      const final = levels[levels.length - 1];
      expect(final.side).toBe(32);
      const decoded = model.decode([latent]).images;
      for (let i = 0; i < decoded.length; i++) expect(final.pixels[i]).toBeCloseTo(decoded[i], 5);

      const walked = redrawFrom(latent, 1, model.ks, new Rng(9));
      expect(walked[0]).toBe(latent[0]);
      expect(() => redrawFrom(latent, 3, model.ks, new Rng(9))).toThrow(RangeError);
    } finally {
      model.dispose();
    }
  });
});

if (!hasChromium) {
  console.warn(`tests/web.test.ts: skipping the browser tests because ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

const suiteName = hasChromium
  ? 'web playground in Chromium'
  : `web playground (skipped: ${CHROMIUM} is missing; install it with apt-get install -y chromium)`;

describe.skipIf(!hasChromium)(suiteName, () => {
  let outDir = '';
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let url = '';
  const consoleErrors: string[] = [];
  // L and the packed bits of the shipped model, which the page must show.
  let levels = 0;
  let packedBits = 0;

  beforeAll(async () => {
    const file = JSON.parse(await readFile(SHIPPED_CONFIG, 'utf8')) as { config: unknown };
    const ks = levelKs(validateConfig(file.config, SHIPPED_CONFIG));
    levels = ks.length;
    packedBits = ks.reduce((sum, k) => sum + Math.ceil(Math.log2(k)), 0);

    outDir = await mkdtemp(join(tmpdir(), 'ddn-web-'));
    await build({ configFile: CONFIG_FILE, logLevel: 'warn', build: { outDir } });
    server = await preview({ configFile: CONFIG_FILE, logLevel: 'warn', build: { outDir }, preview: { port: 0, strictPort: false } });
    const address = server.httpServer.address() as AddressInfo;
    url = `http://127.0.0.1:${address.port}/`;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
    await mkdir(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outDir !== '') await rm(outDir, { recursive: true, force: true });
  });

  /** Waits until no page task runs and returns the status text of `statusId`. */
  async function settled(statusId: string): Promise<string> {
    await page.waitForFunction(() => document.body.dataset.busy === 'false', undefined, { timeout: 60_000 });
    return (await page.textContent(`#${statusId}`)) ?? '';
  }

  function canvasData(selector: string): Promise<string> {
    return page.$eval(selector, (canvas) => (canvas as HTMLCanvasElement).toDataURL());
  }

  /** Mean and spread of the red channel of every canvas matching `selector`. */
  function canvasStats(selector: string): Promise<{ mean: number; spread: number }[]> {
    return page.$$eval(selector, (canvases) =>
      canvases.map((element) => {
        const canvas = element as HTMLCanvasElement;
        const context = canvas.getContext('2d') as CanvasRenderingContext2D;
        const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
        let sum = 0;
        let min = 255;
        let max = 0;
        for (let i = 0; i < data.length; i += 4) {
          sum += data[i];
          min = Math.min(min, data[i]);
          max = Math.max(max, data[i]);
        }
        return { mean: sum / (data.length / 4), spread: max - min };
      }),
    );
  }

  it('loads the shipped model and generates', async () => {
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.ready !== undefined, undefined, { timeout: 60_000 });
    const ready = await page.evaluate(() => document.body.dataset.ready);
    expect(ready, await page.textContent('#page-error')).toBe('true');
    expect(await page.textContent('#backend')).toMatch(/^backend: (webgpu|webgl|wasm|cpu)$/);
    expect(await page.textContent('#model-info')).toContain(`L = ${levels}`);
    await settled('generate-status');
    const tensorsAfterLoad = await page.evaluate(() => document.body.dataset.tensors);

    // A new seed changes the image, the chips and the level strip.
    const before = await canvasData('#generated');
    await page.fill('#seed', '7');
    await page.click('#generate');
    expect(await settled('generate-status')).toContain('seed 7');
    expect(await canvasData('#generated')).not.toBe(before);
    expect(await page.$$eval('#chips .chip', (chips) => chips.length)).toBe(levels);
    expect(await page.$$eval('#levels canvas', (canvases) => canvases.length)).toBe(levels);
    const [final] = await canvasStats('#generated');
    expect(final.spread).toBeGreaterThan(50);

    // Walking the tree keeps the levels before the clicked chip.
    const latentBefore = await page.textContent('#latent-text');
    const walkLevel = Math.floor(levels / 2);
    await page.click(`#chips .chip[data-level="${walkLevel}"]`);
    expect(await settled('generate-status')).toContain(`re-drew levels ${walkLevel + 1} to ${levels}`);
    const latentAfter = await page.textContent('#latent-text');
    const prefix = (text: string | null) => (text ?? '').replace(/^latent \[/, '').split(', ').slice(0, walkLevel).join();
    expect(prefix(latentAfter)).toBe(prefix(latentBefore));
    expect(latentAfter).not.toBe(latentBefore);
    expect(await page.evaluate(() => document.body.dataset.tensors)).toBe(tensorsAfterLoad);
    await page.screenshot({ path: join(SCREENSHOTS, 'generate.png'), fullPage: false });
  });

  it('draws a mask and inpaints', async () => {
    const tensorsBefore = await page.evaluate(() => document.body.dataset.tensors);
    await page.locator('#edit-panel').scrollIntoViewIfNeeded();

    // Hide the bottom half of the digit with two strokes of the brush.
    const maskBefore = await canvasData('#edit-mask');
    const box = await page.locator('#edit-mask').boundingBox();
    if (box === null) throw new Error('#edit-mask is not visible');
    for (const y of [0.62, 0.82]) {
      await page.mouse.move(box.x + box.width * 0.05, box.y + box.height * y);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.95, box.y + box.height * y, { steps: 12 });
      await page.mouse.up();
    }
    expect(await canvasData('#edit-mask')).not.toBe(maskBefore);

    await page.click('#edit-run');
    const status = await settled('edit-status');
    expect(status).toContain('8 samples guided by inpaint');
    const samples = await canvasStats('#edit-results canvas[data-sample]');
    expect(samples).toHaveLength(8);
    for (const sample of samples) expect(sample.spread).toBeGreaterThan(50);
    expect(await page.evaluate(() => document.body.dataset.tensors)).toBe(tensorsBefore);
    await page.locator('#edit-panel').screenshot({ path: join(SCREENSHOTS, 'inpaint.png') });
    await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });
  });

  it('guides by super-resolution and class together', async () => {
    await page.uncheck('#use-inpaint');
    await page.check('#use-superres');
    const classAvailable = await page.isEnabled('#use-class');
    if (classAvailable) {
      await page.check('#use-class');
      await page.selectOption('#class-label', '3');
    }
    await page.fill('#edit-count', '4');
    await page.click('#edit-run');
    const status = await settled('edit-status');
    expect(status).toContain(classAvailable ? 'superres ×1 + class ×1' : 'superres ×1');
    // The enlarged low-resolution input comes first, then the samples.
    expect(await page.$$eval('#edit-results canvas', (canvases) => canvases.length)).toBe(5);
  });

  it('encodes an image to bits and back', async () => {
    await page.locator('#encode-panel').scrollIntoViewIfNeeded();
    await page.click('#encode-run');
    expect(await settled('encode-status')).toMatch(new RegExp(`encoded: ${packedBits} bits, PSNR \\d+\\.\\d+ dB`));
    const bits = (await page.inputValue('#bits')).replace(/\s/g, '');
    expect(bits).toMatch(new RegExp(`^[01]{${packedBits}}$`));
    const [decoded] = await canvasStats('#encode-decoded');
    expect(decoded.spread).toBeGreaterThan(50);

    // Changing the last level's code changes the decoded image a little.
    const before = await canvasData('#encode-decoded');
    const flipped = bits.slice(0, -1) + (bits.endsWith('0') ? '1' : '0');
    await page.fill('#bits', flipped);
    await page.click('#decode-run');
    expect(await settled('encode-status')).toContain(`decoded: ${packedBits} bits`);
    expect(await canvasData('#encode-decoded')).not.toBe(before);
    await page.screenshot({ path: join(SCREENSHOTS, 'playground.png'), fullPage: true });
  });

  it('logs no console errors', () => {
    expect(consoleErrors).toEqual([]);
  });
});
