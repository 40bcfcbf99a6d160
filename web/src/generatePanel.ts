/**
 * Random generation with a seed, the latent as one chip per level, and the
 * picked image of every level. Clicking a chip re-draws that level and all
 * later ones, continuing the same random stream, so a seed and a sequence
 * of clicks always lead to the same image.
 */
import { Rng } from '../../src/data/rng.js';
import { decodeLevels, randomLatent, redrawFrom } from './latentWalk.js';
import type { LoadedFolder } from './modelFolder.js';
import { drawImage, imageCanvas } from './pixels.js';
import { byId, integerInput, runTask } from './task.js';

export class GeneratePanel {
  private folder: LoadedFolder | null = null;
  private latent: Int32Array | null = null;
  private rng = new Rng(0);
  private image: Float32Array | null = null;

  private readonly seed = byId<HTMLInputElement>('seed');
  private readonly status = byId<HTMLElement>('generate-status');
  private readonly buttons = [byId<HTMLButtonElement>('generate'), byId<HTMLButtonElement>('random-seed')];
  private readonly canvas = byId<HTMLCanvasElement>('generated');
  private readonly chips = byId<HTMLElement>('chips');
  private readonly latentText = byId<HTMLElement>('latent-text');
  private readonly levels = byId<HTMLElement>('levels');

  constructor() {
    const [generate, randomSeed] = this.buttons;
    generate.addEventListener('click', () => void this.generate());
    randomSeed.addEventListener('click', () => {
      this.seed.value = String(Math.floor(Math.random() * 2 ** 31));
      void this.generate();
    });
  }

  /** Returns the image shown now, [S, S, c] in [0, 1], or null before the first one. */
  current(): Float32Array | null {
    return this.image;
  }

  async setFolder(folder: LoadedFolder): Promise<void> {
    this.folder = folder;
    await this.generate();
  }

  /** Draws a new latent from the seed and shows it. */
  async generate(): Promise<void> {
    const folder = this.folder;
    if (folder === null) return;
    const seed = integerInput(this.seed);
    await runTask(this.status, this.buttons, async () => {
      this.rng = new Rng(seed);
      await this.show(folder, randomLatent(folder.model.ks, this.rng));
      return `seed ${seed}`;
    });
  }

  /** Keeps the levels before `level` and re-draws the rest. */
  private async walk(level: number): Promise<void> {
    const folder = this.folder;
    if (folder === null || this.latent === null) return;
    const latent = this.latent;
    await runTask(this.status, this.buttons, async () => {
      await this.show(folder, redrawFrom(latent, level, folder.model.ks, this.rng));
      return `re-drew levels ${level + 1} to ${latent.length}`;
    });
  }

  private async show(folder: LoadedFolder, latent: Int32Array): Promise<void> {
    const { imageChannels: channels } = folder.model.config;
    const levelImages = await decodeLevels(folder.model, latent);
    const final = levelImages[levelImages.length - 1];
    this.latent = latent;
    this.image = final.pixels;
    drawImage(this.canvas, final.pixels, final.side, channels);

    const ks = folder.model.ks;
    this.chips.replaceChildren(
      ...Array.from(latent, (index, level) => {
        const chip = document.createElement('button');
        chip.className = 'chip';
        chip.dataset.level = String(level);
        chip.title = `level ${level + 1}: node ${index} of K = ${ks[level]}; click to re-draw this level and the ones after it`;
        const small = document.createElement('small');
        small.textContent = `L${level + 1}`;
        chip.append(small, String(index));
        chip.addEventListener('click', () => void this.walk(level));
        return chip;
      }),
    );
    this.latentText.textContent = `latent [${Array.from(latent).join(', ')}]`;

    this.levels.replaceChildren(
      ...levelImages.map(({ level, side, pixels }) => {
        const figure = document.createElement('figure');
        const caption = document.createElement('figcaption');
        caption.textContent = `level ${level + 1}: ${side}×${side}`;
        figure.append(imageCanvas(pixels, side, channels, 'level'), caption);
        return figure;
      }),
    );
  }
}
