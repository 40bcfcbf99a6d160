/** Sets up the backend a command asked for and prints which one runs. */
import { type BackendInfo, type BackendName, initBackend } from '../backend/select.js';
import type { Output } from './output.js';

export const BACKEND_CHOICES: readonly BackendName[] = ['wasm', 'cpu', 'node'];

export async function startBackend(requested: BackendName | undefined, out: Output): Promise<BackendInfo> {
  const info = await initBackend(requested);
  if (info.warning !== undefined) out.note(`warning: ${info.warning}`);
  out.note(`backend: ${info.name} (${info.threads} thread${info.threads === 1 ? '' : 's'})`);
  return info;
}
