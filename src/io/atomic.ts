import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `data` to `path` so that readers see either the old file or the
 * complete new one, never a partial write.
 *
 * The data goes to a temporary file in the same folder (so the rename stays
 * on one file system), is flushed with fsync, and is then renamed over
 * `path`. The folder is fsynced afterwards so that the rename itself
 * survives a crash. On failure the temporary file is removed and the error
 * is rethrown.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
): Promise<void> {
  const folder = dirname(path);
  const suffix = `${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const temporaryPath = join(folder, `.${basename(path)}.${suffix}`);

  try {
    const file = await open(temporaryPath, 'wx');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporaryPath, path);
  } catch (error) {
    await unlink(temporaryPath).catch(() => undefined);
    throw error;
  }

  await syncFolder(folder);
}

/**
 * Flushes a folder's entries to disk. Some platforms (Windows) and file
 * systems do not allow opening a folder for fsync; there the rename is
 * still done, only without this extra guarantee.
 */
async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // Best effort, see above.
  } finally {
    await handle?.close();
  }
}
