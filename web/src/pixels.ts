/**
 * Host images on canvases. Host images are NHWC Float32Array in [0, 1], as
 * everywhere in the project, and one image is [S, S, c] with c = 1 or 3.
 */

/** Returns one square image of a batch, [S, S, c], as a view. */
export function imageAt(batch: Float32Array, index: number, side: number, channels: number): Float32Array {
  const length = side * side * channels;
  return batch.subarray(index * length, (index + 1) * length);
}

/** Draws a host image at its own size; CSS scales the canvas up without smoothing. */
export function drawImage(canvas: HTMLCanvasElement, image: Float32Array, side: number, channels: number): void {
  canvas.width = side;
  canvas.height = side;
  const context = canvas.getContext('2d') as CanvasRenderingContext2D;
  const pixels = context.createImageData(side, side);
  for (let p = 0; p < side * side; p++) {
    for (let rgb = 0; rgb < 3; rgb++) {
      const value = channels === 1 ? image[p] : image[p * 3 + rgb];
      pixels.data[p * 4 + rgb] = Math.round(Math.min(1, Math.max(0, value)) * 255);
    }
    pixels.data[p * 4 + 3] = 255;
  }
  context.putImageData(pixels, 0, 0);
}

/** Makes a canvas showing one image, with a CSS class for its display size. */
export function imageCanvas(image: Float32Array, side: number, channels: number, className: string): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.className = className;
  drawImage(canvas, image, side, channels);
  return canvas;
}

/**
 * Decodes an uploaded image file and fits it into a `side`×`side` square:
 * scaled to fit by the browser's smoothing, centred on black, converted to
 * gray by ITU-R BT.601 luminance for a gray model. `invert` turns dark ink
 * on light paper into the light-on-dark look of MNIST.
 *
 * @returns [side, side, channels] in [0, 1].
 */
export async function readImageFile(file: Blob, side: number, channels: 1 | 3, invert: boolean): Promise<Float32Array> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error('the file could not be decoded as an image: pick a PNG, JPEG, GIF or WebP file');
  }
  const canvas = document.createElement('canvas');
  canvas.width = side;
  canvas.height = side;
  const context = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  context.fillStyle = invert ? '#fff' : '#000';
  context.fillRect(0, 0, side, side);
  const scale = Math.min(side / bitmap.width, side / bitmap.height);
  const width = bitmap.width * scale;
  const height = bitmap.height * scale;
  context.imageSmoothingQuality = 'high';
  context.drawImage(bitmap, (side - width) / 2, (side - height) / 2, width, height);
  bitmap.close();

  const rgba = context.getImageData(0, 0, side, side).data;
  const image = new Float32Array(side * side * channels);
  for (let p = 0; p < side * side; p++) {
    const [r, g, b] = [rgba[p * 4] / 255, rgba[p * 4 + 1] / 255, rgba[p * 4 + 2] / 255];
    if (channels === 1) {
      const gray = 0.299 * r + 0.587 * g + 0.114 * b;
      image[p] = invert ? 1 - gray : gray;
    } else {
      image.set(invert ? [1 - r, 1 - g, 1 - b] : [r, g, b], p * 3);
    }
  }
  return image;
}

/** Lets the browser paint before a long synchronous step starts. */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}
