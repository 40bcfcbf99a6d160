import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { writeFileAtomic } from './atomic.js';

describe('writeFileAtomic', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'ddn-atomic-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('creates a file and leaves no temporary files', async () => {
    const path = join(folder, 'model.json');
    await writeFileAtomic(path, '{"a":1}');

    expect(await readFile(path, 'utf8')).toBe('{"a":1}');
    expect(await readdir(folder)).toEqual(['model.json']);
  });

  it('replaces existing content', async () => {
    const path = join(folder, 'weights.bin');
    await writeFile(path, 'old content that is longer');
    await writeFileAtomic(path, Buffer.from([1, 2, 3]));

    expect([...(await readFile(path))]).toEqual([1, 2, 3]);
    expect(await readdir(folder)).toEqual(['weights.bin']);
  });

  it('cleans up when the rename fails', async () => {
    // Renaming a file over a non-empty folder fails.
    const path = join(folder, 'taken');
    await mkdir(path);
    await writeFile(join(path, 'inner'), 'x');

    await expect(writeFileAtomic(path, 'data')).rejects.toThrow();
    expect(await readdir(folder)).toEqual(['taken']);
  });

  it('rejects a missing folder', async () => {
    await expect(
      writeFileAtomic(join(folder, 'missing', 'file.txt'), 'x'),
    ).rejects.toThrow(/ENOENT/);
  });
});
