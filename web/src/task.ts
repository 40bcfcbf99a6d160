/** Runs one piece of page work at a time, with a status line and disabled buttons. */
import * as tf from '@tensorflow/tfjs-core';

import { DdnError } from '../../src/errors.js';
import { nextFrame } from './pixels.js';

let running = 0;

/**
 * Disables `buttons`, shows "working…", lets the page paint, then runs
 * `work`. Its returned text, with the time taken, replaces the status;
 * an error is shown there instead. `document.body.dataset.busy` is 'true'
 * while any task runs, and `dataset.tensors` is the live tensor count
 * after each task; the end-to-end test reads both.
 */
export async function runTask(
  status: HTMLElement,
  buttons: HTMLButtonElement[],
  work: () => Promise<string>,
): Promise<boolean> {
  running++;
  document.body.dataset.busy = 'true';
  for (const button of buttons) button.disabled = true;
  status.classList.remove('error');
  status.textContent = 'working…';
  try {
    await nextFrame();
    const started = performance.now();
    const message = await work();
    status.textContent = `${message} (${Math.round(performance.now() - started)} ms)`;
    return true;
  } catch (error) {
    showError(status, error);
    return false;
  } finally {
    for (const button of buttons) button.disabled = false;
    running--;
    if (running === 0) {
      document.body.dataset.busy = 'false';
      document.body.dataset.tensors = String(tf.memory().numTensors);
    }
  }
}

/**
 * Shows an error in `target`. Invalid input (DdnError, RangeError) is the
 * user's to fix, so only other errors also go to the console with a stack.
 */
export function showError(target: HTMLElement, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  target.textContent = `error: ${message}`;
  target.classList.add('error');
  target.hidden = false;
  if (!(error instanceof DdnError || error instanceof RangeError)) console.error(error);
}

/** Finds an element by id, typed; a missing one is a bug in index.html. */
export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`index.html has no element #${id}`);
  return element as T;
}

/** Reads an integer input, clamped to its min and max. */
export function integerInput(input: HTMLInputElement): number {
  const value = Math.round(Number(input.value));
  const min = input.min === '' ? -Infinity : Number(input.min);
  const max = input.max === '' ? Infinity : Number(input.max);
  const clamped = Math.min(max, Math.max(min, Number.isFinite(value) ? value : min));
  input.value = String(clamped);
  return clamped;
}

/** Reads a non-negative number input. */
export function weightInput(input: HTMLInputElement): number {
  const value = Number(input.value);
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new DdnError(`invalid weight '${input.value}': expected a number ≥ 0`);
  }
  return value;
}
