/**
 * Picks the image a panel works on: one of the exported example images,
 * the image the Generate panel shows, or an uploaded file.
 */
import type { LoadedFolder } from './modelFolder.js';
import { imageAt, imageCanvas, readImageFile } from './pixels.js';
import { showError } from './task.js';

export type PickHandler = (image: Float32Array, description: string) => void;

export class SourcePicker {
  private thumbs: HTMLCanvasElement[] = [];

  constructor(
    private readonly container: HTMLElement,
    private readonly onPick: PickHandler,
  ) {}

  /** Rebuilds the picker for a model folder and picks its first example. */
  setFolder(folder: LoadedFolder, generated: () => Float32Array | null): void {
    const { imageSize: side, imageChannels: channels } = folder.model.config;
    this.container.replaceChildren();
    this.thumbs = [];

    const label = document.createElement('span');
    label.className = 'hint';
    label.textContent = folder.examples === null ? 'Pick:' : `Pick (${folder.examples.source} test images):`;
    this.container.append(label);

    const examples = folder.examples;
    if (examples !== null) {
      for (let i = 0; i < examples.count; i++) {
        const image = imageAt(examples.images, i, side, channels);
        const caption = examples.labels === null ? `example ${i}` : `example ${i} (label ${examples.labels[i]})`;
        const thumb = imageCanvas(image, side, channels, 'thumb');
        thumb.title = caption;
        thumb.dataset.example = String(i);
        thumb.addEventListener('click', () => this.pick(image.slice(), caption, thumb));
        this.thumbs.push(thumb);
        this.container.append(thumb);
      }
    }

    const useGenerated = document.createElement('button');
    useGenerated.textContent = 'Generated image';
    useGenerated.title = 'the image the Generate panel shows now';
    useGenerated.addEventListener('click', () => {
      const image = generated();
      if (image !== null) this.pick(image.slice(), 'the generated image', null);
    });

    const upload = document.createElement('label');
    upload.className = 'file-button';
    upload.textContent = 'Upload…';
    const fileInput = document.createElement('input');
    fileInput.type = 'file';
    fileInput.accept = 'image/*';
    fileInput.hidden = true;
    upload.append(fileInput);

    const invertLabel = document.createElement('label');
    invertLabel.className = 'hint';
    const invert = document.createElement('input');
    invert.type = 'checkbox';
    invertLabel.append(invert, ' invert (dark ink on light paper)');
    const error = document.createElement('span');
    error.className = 'status';

    fileInput.addEventListener('change', async () => {
      const file = fileInput.files?.[0];
      if (file === undefined) return;
      error.textContent = '';
      try {
        const image = await readImageFile(file, side, channels, invert.checked);
        this.pick(image, file.name, null);
      } catch (failure) {
        showError(error, failure);
      }
      fileInput.value = '';
    });
    this.container.append(useGenerated, upload, invertLabel, error);

    if (examples !== null && examples.count > 0) {
      this.thumbs[0].click();
    } else {
      const image = generated();
      if (image !== null) this.pick(image.slice(), 'the generated image', null);
    }
  }

  private pick(image: Float32Array, description: string, thumb: HTMLCanvasElement | null): void {
    for (const t of this.thumbs) t.classList.toggle('selected', t === thumb);
    this.onPick(image, description);
  }
}
