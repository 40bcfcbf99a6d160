/**
 * Bit-level writing and reading, most significant bit first within each
 * byte. The reader never reads past its buffer: it reports exhaustion and
 * the caller decides whether that is an error.
 */

export class BitWriter {
  private bytes = new Uint8Array(64);
  private byteCount = 0;
  private current = 0;
  private filled = 0;

  /** Appends the low `width` bits of `value` (0 ≤ width ≤ 32), high bit first. */
  writeBits(value: number, width: number): void {
    for (let bit = width - 1; bit >= 0; bit--) {
      this.writeBit(Math.floor(value / 2 ** bit) & 1);
    }
  }

  writeBit(bit: number): void {
    this.current = (this.current << 1) | (bit & 1);
    this.filled++;
    if (this.filled === 8) {
      this.pushByte(this.current);
      this.current = 0;
      this.filled = 0;
    }
  }

  /** Returns the bytes written, the last byte padded with zero bits. */
  finish(): Uint8Array {
    if (this.filled > 0) {
      this.pushByte(this.current << (8 - this.filled));
      this.current = 0;
      this.filled = 0;
    }
    return this.bytes.slice(0, this.byteCount);
  }

  private pushByte(byte: number): void {
    if (this.byteCount === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[this.byteCount++] = byte;
  }
}

export class BitReader {
  private position = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** Bits not yet read. */
  get remaining(): number {
    return this.bytes.length * 8 - this.position;
  }

  /** Reads one bit; past the end it returns 0 and counts the overrun. */
  readBit(): number {
    if (this.position >= this.bytes.length * 8) {
      this.position++;
      return 0;
    }
    const byte = this.bytes[this.position >>> 3]!;
    const bit = (byte >>> (7 - (this.position & 7))) & 1;
    this.position++;
    return bit;
  }

  /** Reads `width` bits (0 ≤ width ≤ 32) as an unsigned integer, high bit first. */
  readBits(width: number): number {
    let value = 0;
    for (let i = 0; i < width; i++) {
      value = value * 2 + this.readBit();
    }
    return value;
  }
}
