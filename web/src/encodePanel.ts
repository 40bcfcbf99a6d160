/**
 * Encoding an image to its latent and back. The latent is shown as chips
 * and as its packed bits, each code in ceil(log2 K) bits as in the packed
 * .ddnl payload. The user can edit the bits and decode them again.
 */
import { psnr } from '../../src/eval/metrics.js';
import { arithmeticEncode } from '../../src/latent/arithmetic.js';
import { packedBits } from '../../src/latent/format.js';
import { bitsPerImage } from '../../src/model/config.js';
import { bitsToLatent, latentToBits } from './latentBits.js';
import type { LoadedFolder } from './modelFolder.js';
import { drawImage } from './pixels.js';
import { SourcePicker } from './sourcePicker.js';
import { byId, runTask } from './task.js';

export class EncodePanel {
  private folder: LoadedFolder | null = null;
  private source: Float32Array | null = null;

  private readonly picker: SourcePicker;
  private readonly status = byId<HTMLElement>('encode-status');
  private readonly buttons = [byId<HTMLButtonElement>('encode-run'), byId<HTMLButtonElement>('decode-run')];
  private readonly original = byId<HTMLCanvasElement>('encode-original');
  private readonly decoded = byId<HTMLCanvasElement>('encode-decoded');
  private readonly chips = byId<HTMLElement>('encode-chips');
  private readonly bits = byId<HTMLTextAreaElement>('bits');
  private readonly stats = byId<HTMLElement>('encode-stats');

  /** `generated` returns the image the Generate panel shows. */
  constructor(private readonly generated: () => Float32Array | null) {
    this.picker = new SourcePicker(byId('encode-source'), (image) => this.setSource(image));
    const [encode, decode] = this.buttons;
    encode.addEventListener('click', () => void this.encode());
    decode.addEventListener('click', () => void this.decodeBits());
  }

  setFolder(folder: LoadedFolder): void {
    this.folder = folder;
    this.bits.value = '';
    this.stats.textContent = '';
    this.chips.replaceChildren();
    this.picker.setFolder(folder, this.generated);
  }

  private setSource(image: Float32Array): void {
    const folder = this.folder;
    if (folder === null) return;
    this.source = image;
    drawImage(this.original, image, folder.model.config.imageSize, folder.model.config.imageChannels);
  }

  async encode(): Promise<void> {
    const folder = this.folder;
    const source = this.source;
    if (folder === null || source === null) return;
    await runTask(this.status, this.buttons, async () => {
      const { latents } = folder.model.reconstruct(source, 1);
      const latent = latents[0];
      this.bits.value = latentToBits(latent, folder.model.ks);
      const quality = await this.showDecoded(folder, latent);
      return `encoded: ${quality}`;
    });
  }

  async decodeBits(): Promise<void> {
    const folder = this.folder;
    if (folder === null) return;
    await runTask(this.status, this.buttons, async () => {
      const latent = bitsToLatent(this.bits.value, folder.model.ks);
      return `decoded: ${await this.showDecoded(folder, latent)}`;
    });
  }

  /** Decodes the latent, shows it, and returns its PSNR against the input as text. */
  private async showDecoded(folder: LoadedFolder, latent: Int32Array): Promise<string> {
    const { imageSize: side, imageChannels: channels } = folder.model.config;
    const { images } = folder.model.decode([latent], folder.model.levels, 1);
    drawImage(this.decoded, images, side, channels);

    const ks = folder.model.ks;
    this.chips.replaceChildren(
      ...Array.from(latent, (code, level) => {
        const chip = document.createElement('span');
        chip.className = 'chip';
        chip.title = `level ${level + 1}: node ${code} of K = ${ks[level]}`;
        const small = document.createElement('small');
        small.textContent = `L${level + 1}`;
        chip.append(small, String(code));
        return chip;
      }),
    );
    const bits = bitsPerImage(folder.model.config);
    const packed = ks.reduce((sum, k) => sum + packedBits(k), 0);
    const arithmeticBytes = arithmeticEncode([latent], ks).length;
    const quality = this.source === null ? '' : `PSNR ${psnr(this.source, images).toFixed(2)} dB`;
    this.stats.textContent =
      `${ks.length} levels, ${bits.toFixed(1)} bits of information (Σ log2 K): ` +
      `${packed} bits packed (${Math.ceil(packed / 8)} bytes), ${arithmeticBytes} bytes arithmetic-coded. ${quality}`;
    return quality === '' ? `${packed} bits` : `${packed} bits, ${quality}`;
  }

}
