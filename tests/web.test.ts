/**
 * End-to-end test of the browser playground: builds web/ with Vite, serves
 * the build on localhost, and drives Debian's Chromium through
 * playwright-core. It generates, walks the latent tree, draws a mask,
 * inpaints, guides by two conditions, encodes, and checks that canvases
 * changed, no tensors leaked and the console logged no errors. Screenshots
 * go to web/screenshots/.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type Browser, type Page, chromium } from 'playwright-core';
import { type PreviewServer, build, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { levelKs, validateConfig } from '../src/model/config.js';

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
    expect(await page.isVisible('#latent-download')).toBe(true);
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
