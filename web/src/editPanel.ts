/**
 * Zero-shot editing: inpainting from a drawn mask, super-resolution of a
 * low-resolution image, class guidance with the exported classifier, and
 * any two of them together with weights. All of it is the project's guided
 * sampler (`guidedSample`), run in the page.
 */
import { DdnError } from '../../src/errors.js';
import { downsampleImages, repeatPixels } from '../../src/sampling/degrade.js';
import { type GuideTerm, type SuperResolutionFactor, guidedSample } from '../../src/sampling/guide.js';
import { MaskPainter } from './maskPainter.js';
import type { LoadedFolder } from './modelFolder.js';
import { drawImage, imageAt, imageCanvas, readImageFile } from './pixels.js';
import { SourcePicker } from './sourcePicker.js';
import { byId, integerInput, runTask, showError, weightInput } from './task.js';

export class EditPanel {
  private folder: LoadedFolder | null = null;
  private source: Float32Array | null = null;
  /** An uploaded low-resolution image [S/f, S/f, c], or null to average the source down. */
  private uploadedLowRes: { image: Float32Array; factor: number } | null = null;

  private readonly picker: SourcePicker;
  private readonly painter: MaskPainter;
  private readonly imageCanvas = byId<HTMLCanvasElement>('edit-image');
  private readonly status = byId<HTMLElement>('edit-status');
  private readonly runButton = byId<HTMLButtonElement>('edit-run');
  private readonly results = byId<HTMLElement>('edit-results');
  private readonly factor = byId<HTMLSelectElement>('superres-factor');
  private readonly lowResCanvas = byId<HTMLCanvasElement>('lowres');
  private readonly lowResNote = byId<HTMLElement>('lowres-note');
  private readonly classSelect = byId<HTMLSelectElement>('class-label');
  private readonly classNote = byId<HTMLElement>('class-note');
  private readonly useClass = byId<HTMLInputElement>('use-class');

  /** `generated` returns the image the Generate panel shows. */
  constructor(private readonly generated: () => Float32Array | null) {
    this.picker = new SourcePicker(byId('edit-source'), (image) => this.setSource(image));
    this.painter = new MaskPainter(byId('edit-mask'), () => undefined);

    const brush = byId<HTMLInputElement>('brush');
    brush.addEventListener('input', () => (this.painter.brush = Number(brush.value)));
    this.painter.brush = Number(brush.value);
    byId('mask-clear').addEventListener('click', () => this.painter.reset(this.side()));
    byId('mask-invert').addEventListener('click', () => this.painter.invert());
    this.factor.addEventListener('change', () => this.showLowRes());
    byId('lowres-reset').addEventListener('click', () => {
      this.uploadedLowRes = null;
      this.showLowRes();
    });
    const lowResFile = byId<HTMLInputElement>('lowres-file');
    lowResFile.addEventListener('change', () => void this.uploadLowRes(lowResFile));
    this.runButton.addEventListener('click', () => void this.run());
  }

  setFolder(folder: LoadedFolder): void {
    this.folder = folder;
    this.uploadedLowRes = null;
    this.results.replaceChildren();
    this.painter.reset(folder.model.config.imageSize);

    // Class guidance is offered only with an exported classifier.
    const config = folder.classifierConfig;
    this.classSelect.replaceChildren(
      ...Array.from({ length: config?.classes ?? 0 }, (_, label) => {
        const option = document.createElement('option');
        option.value = String(label);
        option.textContent = config?.classNames?.[label] ?? String(label);
        return option;
      }),
    );
    this.useClass.disabled = folder.classifier === null;
    this.classSelect.disabled = folder.classifier === null;
    if (folder.classifier === null) this.useClass.checked = false;
    this.classNote.textContent =
      folder.classifier === null ? `Class guidance is off: ${folder.classifierMissing}.` : '';

    this.picker.setFolder(folder, this.generated);
  }

  private side(): number {
    return this.folder?.model.config.imageSize ?? 1;
  }

  private setSource(image: Float32Array): void {
    const folder = this.folder;
    if (folder === null) return;
    this.source = image;
    drawImage(this.imageCanvas, image, folder.model.config.imageSize, folder.model.config.imageChannels);
    this.showLowRes();
  }

  private factorValue(): SuperResolutionFactor {
    return Number(this.factor.value) as SuperResolutionFactor;
  }

  /** Returns the low-resolution condition [S/f, S/f, c]: the upload, or the source averaged down. */
  private lowRes(): Float32Array | null {
    const folder = this.folder;
    if (folder === null || this.source === null) return null;
    const factor = this.factorValue();
    if (this.uploadedLowRes !== null && this.uploadedLowRes.factor === factor) return this.uploadedLowRes.image;
    const { imageSize, imageChannels } = folder.model.config;
    return downsampleImages(this.source, 1, imageSize, imageChannels, factor);
  }

  private showLowRes(): void {
    const folder = this.folder;
    const lowRes = this.lowRes();
    if (folder === null || lowRes === null) return;
    const side = folder.model.config.imageSize / this.factorValue();
    drawImage(this.lowResCanvas, lowRes, side, folder.model.config.imageChannels);
    const uploaded = this.uploadedLowRes !== null && this.uploadedLowRes.factor === this.factorValue();
    this.lowResNote.textContent = `${side}×${side}: ${uploaded ? 'the uploaded image' : 'the image above, averaged down'}`;
  }

  private async uploadLowRes(input: HTMLInputElement): Promise<void> {
    const file = input.files?.[0];
    const folder = this.folder;
    if (file === undefined || folder === null) return;
    const factor = this.factorValue();
    try {
      const side = folder.model.config.imageSize / factor;
      const image = await readImageFile(file, side, folder.model.config.imageChannels, false);
      this.uploadedLowRes = { image, factor };
      this.showLowRes();
      byId<HTMLInputElement>('use-superres').checked = true;
    } catch (error) {
      showError(this.status, error);
    }
    input.value = '';
  }

  /** Collects the checked conditions as guide terms. */
  private terms(folder: LoadedFolder, source: Float32Array): GuideTerm[] {
    const terms: GuideTerm[] = [];
    if (byId<HTMLInputElement>('use-inpaint').checked) {
      const hidden = this.painter.hiddenCount();
      const total = this.side() ** 2;
      if (hidden === 0) {
        throw new DdnError('inpainting: draw over the image to hide the pixels to generate');
      }
      if (hidden === total) {
        throw new DdnError('inpainting: every pixel is hidden, so nothing is left to guide by');
      }
      terms.push({
        condition: { task: 'inpaint', images: source, mask: this.painter.values() },
        weight: weightInput(byId('weight-inpaint')),
      });
    }
    if (byId<HTMLInputElement>('use-superres').checked) {
      terms.push({
        condition: { task: 'superres', images: this.lowRes() as Float32Array, factor: this.factorValue() },
        weight: weightInput(byId('weight-superres')),
      });
    }
    if (this.useClass.checked && folder.classifier !== null) {
      terms.push({
        condition: { task: 'class', label: Number(this.classSelect.value), classifier: folder.classifier },
        weight: weightInput(byId('weight-class')),
      });
    }
    if (terms.length === 0) {
      throw new DdnError('pick at least one condition: inpaint, super-resolve or class');
    }
    return terms;
  }

  async run(): Promise<void> {
    const folder = this.folder;
    const source = this.source;
    if (folder === null || source === null) return;
    const n = integerInput(byId('edit-count'));
    const topK = integerInput(byId('edit-topk'));
    const seed = integerInput(byId('edit-seed'));
    await runTask(this.status, [this.runButton], async () => {
      const terms = this.terms(folder, source);
      const { imageSize: side, imageChannels: channels } = folder.model.config;
      // NOTE: samplers read scores with dataSync, because the Sampler
      // interface is synchronous, so the page does not respond until this returns.
      const { images } = guidedSample(folder.model, terms, { n, topK, seed, batchSize: 8 });

      const figures: HTMLElement[] = [];
      const superres = terms.find((t) => t.condition.task === 'superres');
      if (superres !== undefined && superres.condition.task === 'superres') {
        // The low-resolution input enlarged by pixel repetition, for comparison.
        const factor = superres.condition.factor;
        const enlarged = repeatPixels(superres.condition.images, 1, side / factor, channels, factor);
        figures.push(figure(imageCanvas(enlarged, side, channels, 'result'), 'low-res input'));
      }
      for (let i = 0; i < n; i++) {
        const canvas = imageCanvas(imageAt(images, i, side, channels), side, channels, 'result');
        canvas.dataset.sample = String(i);
        figures.push(figure(canvas, `sample ${i + 1}`));
      }
      this.results.replaceChildren(...figures);
      const names = terms.map((t) => `${t.condition.task} ×${t.weight}`).join(' + ');
      return `${n} samples guided by ${names}, top-k ${topK}`;
    });
  }
}

function figure(canvas: HTMLCanvasElement, caption: string): HTMLElement {
  const element = document.createElement('figure');
  const text = document.createElement('figcaption');
  text.textContent = caption;
  element.append(canvas, text);
  return element;
}
