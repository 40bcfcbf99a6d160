/**
 * Drawing an inpainting mask with the pointer on a canvas laid over the
 * image. The mask is [S, S] on the host, 1 where a pixel is known and 0
 * where it is hidden, the layout the inpainting scorer takes. Painting
 * hides pixels, and painting with shift or the right button reveals them.
 */

/** Colour of hidden pixels on the overlay. */
const HIDDEN_RGBA = [230, 40, 40, 150] as const;

export class MaskPainter {
  private side = 1;
  private mask = new Float32Array(1).fill(1);
  /** Brush radius in image pixels. */
  brush = 3;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onChange: () => void,
  ) {
    canvas.addEventListener('pointerdown', (event) => {
      canvas.setPointerCapture(event.pointerId);
      this.paint(event);
    });
    canvas.addEventListener('pointermove', (event) => {
      if (event.buttons !== 0) this.paint(event);
    });
    canvas.addEventListener('contextmenu', (event) => event.preventDefault());
  }

  /** Starts a new, fully known mask of side `side`. */
  reset(side: number): void {
    this.side = side;
    this.mask = new Float32Array(side * side).fill(1);
    this.render();
  }

  /** Swaps known and hidden pixels. */
  invert(): void {
    for (let p = 0; p < this.mask.length; p++) this.mask[p] = 1 - this.mask[p];
    this.render();
    this.onChange();
  }

  /** Returns a copy of the mask, [S, S]: 1 known, 0 hidden. */
  values(): Float32Array {
    return this.mask.slice();
  }

  hiddenCount(): number {
    return this.mask.reduce((sum, m) => sum + (m === 0 ? 1 : 0), 0);
  }

  private paint(event: PointerEvent): void {
    const bounds = this.canvas.getBoundingClientRect();
    const x = ((event.clientX - bounds.left) / bounds.width) * this.side;
    const y = ((event.clientY - bounds.top) / bounds.height) * this.side;
    const reveal = event.shiftKey || (event.buttons & 2) !== 0;
    const radius = this.brush;
    for (let row = Math.floor(y - radius); row <= Math.ceil(y + radius); row++) {
      for (let column = Math.floor(x - radius); column <= Math.ceil(x + radius); column++) {
        if (row < 0 || column < 0 || row >= this.side || column >= this.side) continue;
        // Pixel centres within the radius of the pointer.
        if ((column + 0.5 - x) ** 2 + (row + 0.5 - y) ** 2 <= radius * radius) {
          this.mask[row * this.side + column] = reveal ? 1 : 0;
        }
      }
    }
    this.render();
    this.onChange();
  }

  private render(): void {
    const { side } = this;
    this.canvas.width = side;
    this.canvas.height = side;
    const context = this.canvas.getContext('2d') as CanvasRenderingContext2D;
    const pixels = context.createImageData(side, side);
    for (let p = 0; p < side * side; p++) {
      if (this.mask[p] === 0) pixels.data.set(HIDDEN_RGBA, p * 4);
    }
    context.putImageData(pixels, 0, 0);
  }
}
