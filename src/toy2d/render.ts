/**
 * Pictures of the toy: densities in the viridis colour map, side by side
 * as a PNG, and node histograms over training as an animated GIF.
 */
import sharp from 'sharp';

/**
 * Viridis at 10 evenly spaced points (0, 1/9, …, 1), as published in the
 * viridisLite R package, `viridis(10)`. Values between are linear
 * interpolations in sRGB, a close match to the 256-entry table.
 */
const VIRIDIS_STOPS: readonly (readonly [number, number, number])[] = [
  [0x44, 0x01, 0x54],
  [0x48, 0x28, 0x78],
  [0x3e, 0x4a, 0x89],
  [0x31, 0x68, 0x8e],
  [0x26, 0x82, 0x8e],
  [0x1f, 0x9e, 0x89],
  [0x35, 0xb7, 0x79],
  [0x6d, 0xcd, 0x59],
  [0xb4, 0xde, 0x2c],
  [0xfd, 0xe7, 0x25],
];

/** Writes the viridis RGB of `value` (clamped to [0, 1]) at `offset`. */
export function viridis(value: number, out: Uint8Array, offset: number): void {
  const clamped = Math.min(1, Math.max(0, value));
  const position = clamped * (VIRIDIS_STOPS.length - 1);
  const lower = Math.min(Math.floor(position), VIRIDIS_STOPS.length - 2);
  const fraction = position - lower;
  const from = VIRIDIS_STOPS[lower]!;
  const to = VIRIDIS_STOPS[lower + 1]!;
  for (let channel = 0; channel < 3; channel++) {
    const mixed = from[channel]! + fraction * (to[channel]! - from[channel]!);
    out[offset + channel] = Math.round(mixed);
  }
}

/** Pixels per cell side and gap between panels in `compare.png`. */
const PANEL_SCALE = 3;
const PANEL_GAP = 6;

/**
 * Renders bins × bins masses as an RGB image [bins·scale, bins·scale, 3],
 * each cell a square of `scale` pixels. Mass `maxMass` or more is the top
 * of the colour map.
 */
export function renderMass(
  mass: Float64Array,
  bins: number,
  maxMass: number,
  scale: number,
): Uint8Array {
  const side = bins * scale;
  const pixels = new Uint8Array(side * side * 3);
  for (let row = 0; row < side; row++) {
    for (let col = 0; col < side; col++) {
      const cell = Math.floor(row / scale) * bins + Math.floor(col / scale);
      viridis(mass[cell]! / maxMass, pixels, (row * side + col) * 3);
    }
  }
  return pixels;
}

/** Returns the largest value, used as the common colour scale. */
export function maxOf(values: Float64Array): number {
  let max = 0;
  for (const value of values) {
    max = Math.max(max, value);
  }
  return max;
}

/**
 * Writes panels (bins × bins masses each) left to right into one PNG, on
 * a white background, all coloured on the scale of the first panel.
 */
export async function writeComparePng(
  path: string,
  panels: Float64Array[],
  bins: number,
): Promise<void> {
  const side = bins * PANEL_SCALE;
  const width = panels.length * side + (panels.length - 1) * PANEL_GAP;
  const canvas = new Uint8Array(width * side * 3).fill(255);
  const maxMass = maxOf(panels[0]!);

  panels.forEach((mass, index) => {
    const pixels = renderMass(mass, bins, maxMass, PANEL_SCALE);
    const left = index * (side + PANEL_GAP);
    for (let row = 0; row < side; row++) {
      const source = pixels.subarray(row * side * 3, (row + 1) * side * 3);
      canvas.set(source, (row * width + left) * 3);
    }
  });
  await sharp(canvas, { raw: { width, height: side, channels: 3 } })
    .png()
    .toFile(path);
}

/**
 * Writes equally sized RGB frames ([side, side, 3] each) as a looping
 * animated GIF with `delayMs` between frames.
 */
export async function writeGif(
  path: string,
  frames: Uint8Array[],
  side: number,
  delayMs: number,
): Promise<void> {
  const frameBytes = side * side * 3;
  const stacked = new Uint8Array(frames.length * frameBytes);
  frames.forEach((frame, index) => stacked.set(frame, index * frameBytes));
  await sharp(stacked, {
    raw: {
      width: side,
      height: side * frames.length,
      channels: 3,
      pageHeight: side,
    },
  })
    .gif({ loop: 0, delay: frames.map(() => delayMs) })
    .toFile(path);
}
