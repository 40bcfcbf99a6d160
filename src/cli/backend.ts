/** Sets up the backend a command asked for and prints which one runs. */
import { type BackendInfo, type BackendName, initBackend } from '../backend/select.js';
import type { Output } from './output.js';

export const BACKEND_CHOICES: readonly BackendName[] = ['wasm', 'cpu', 'node'];

export async function startBackend(requested: BackendName | undefined, out: Output): Promise<BackendInfo> {
  const info = await initBackend(requested);
  if (info.warning !== undefined) out.note(`warning: ${info.warning}`);
  out.note(`backend: ${info.name} (${threads(info.threads)})${describeNative(info)}`);
  return info;
}

function threads(count: number): string {
  return `${count} thread${count === 1 ? '' : 's'}`;
}

/** ', native kernels (2 threads)', or why they are off; empty off wasm. */
function describeNative(info: BackendInfo): string {
  if (info.native === undefined) return '';
  if ('threads' in info.native) return `, native kernels (${threads(info.native.threads)})`;
  return `; native kernels off: ${info.native.reason}`;
}
