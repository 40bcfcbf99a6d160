/** Wall-clock timing helpers shared by the benchmark scripts. */

/** Median of a non-empty list. */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Milliseconds of each of `steps` calls of `body`, after `warmup` untimed calls. */
export function timeSteps(warmup: number, steps: number, body: () => unknown): number[] {
  for (let i = 0; i < warmup; i++) body();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    body();
    times.push(performance.now() - start);
  }
  return times;
}

/** The same for an asynchronous body. */
export async function timeStepsAsync(
  warmup: number,
  steps: number,
  body: () => Promise<unknown>,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await body();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    await body();
    times.push(performance.now() - start);
  }
  return times;
}
