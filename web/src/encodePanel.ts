/**
 * Encoding an image to its latent and back. The latent is shown as chips
 * and as its packed bits (each code in ceil(log2 K) bits, the layout of the
 * packed .ddnl payload); the bits can be edited and decoded again.
 */
import { DdnError } from '../../src/errors.js';
import { psnr } from '../../src/eval/metrics.js';
import { packedBits, validateLatents, writeLatentFile } from '../../src/latent/format.js';
import { bitsPerImage } from '../../src/model/config.js';
import type { LoadedFolder } from './modelFolder.js';
import { drawImage } from './pixels.js';
import { SourcePicker } from './sourcePicker.js';
import { byId, runTask } from './task.js';

/** Writes a latent as bits, one space-separated group per level. */
export function latentToBits(latent: ArrayLike<number>, ks: readonly number[]): string {
  return Array.from(latent, (code, level) => code.toString(2).padStart(packedBits(ks[level]), '0')).join(' ');
}

/**
 * Reads bits written by latentToBits; spaces and line breaks are ignored.
 *
 * @throws DdnError for other characters, a wrong bit count or a code ≥ K.
 */
export function bitsToLatent(text: string, ks: readonly number[]): Int32Array {
  const bits = text.replace(/\s+/g, '');
  const widths = ks.map(packedBits);
  const total = widths.reduce((sum, w) => sum + w, 0);
  if (!/^[01]*$/.test(bits)) {
    throw new DdnError('the bits may contain only 0, 1 and spaces');
  }
  if (bits.length !== total) {
    throw new DdnError(`expected ${total} bits (${widths.join(' + ')}), got ${bits.length}`);
  }
  const latent = new Int32Array(ks.length);
  let offset = 0;
  widths.forEach((width, level) => {
    latent[level] = width === 0 ? 0 : parseInt(bits.slice(offset, offset + width), 2);
    offset += width;
  });
  validateLatents([latent], ks);
  return latent;
}

export class EncodePanel {
  private folder: LoadedFolder | null = null;
  private source: Float32Array | null = null;
  private downloadUrl: string | null = null;

  private readonly picker: SourcePicker;
  private readonly status = byId<HTMLElement>('encode-status');
  private readonly buttons = [byId<HTMLButtonElement>('encode-run'), byId<HTMLButtonElement>('decode-run')];
  private readonly original = byId<HTMLCanvasElement>('encode-original');
  private readonly decoded = byId<HTMLCanvasElement>('encode-decoded');
  private readonly chips = byId<HTMLElement>('encode-chips');
  private readonly bits = byId<HTMLTextAreaElement>('bits');
  private readonly stats = byId<HTMLElement>('encode-stats');
  private readonly download = byId<HTMLAnchorElement>('latent-download');

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
    this.download.hidden = true;
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
      this.offerDownload(folder, latent);
      const quality = await this.showDecoded(folder, latent);
      return `encoded: ${quality}`;
    });
  }

  async decodeBits(): Promise<void> {
    const folder = this.folder;
    if (folder === null) return;
    await runTask(this.status, this.buttons, async () => {
      const latent = bitsToLatent(this.bits.value, folder.model.ks);
      this.offerDownload(folder, latent);
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
    const quality = this.source === null ? '' : `PSNR ${psnr(this.source, images).toFixed(2)} dB`;
    this.stats.textContent =
      `${ks.length} levels, ${bits.toFixed(1)} bits of information (Σ log2 K), ${packed} bits packed. ` +
      `${quality}`;
    return quality === '' ? `${packed} bits` : `${packed} bits, ${quality}`;
  }

  /** Offers the latent as a .ddnl file that `ddn decode --model … --input` reads. */
  private offerDownload(folder: LoadedFolder, latent: Int32Array): void {
    const content = { weightsSha256: folder.weightsSha256, ks: folder.model.ks, latents: [latent] };
    const packed = writeLatentFile({ ...content, coding: 'packed' });
    const arithmetic = writeLatentFile({ ...content, coding: 'arithmetic' });
    const bytes = arithmetic.length < packed.length ? arithmetic : packed;
    if (this.downloadUrl !== null) URL.revokeObjectURL(this.downloadUrl);
    this.downloadUrl = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
    this.download.href = this.downloadUrl;
    this.download.download = 'latent.ddnl';
    this.download.textContent = `Download .ddnl (${bytes.length} bytes)`;
    this.download.title = `packed ${packed.length} bytes, arithmetic-coded ${arithmetic.length} bytes, with header and checksum`;
    this.download.hidden = false;
  }
}
