/** Typed arrays indexed by message sequence number, grown by doubling. */
type Typed = Uint8Array | Uint32Array | Float64Array;

export class Grow<T extends Typed> {
  a: T;

  constructor(private readonly make: (length: number) => T) {
    this.a = make(1024);
  }

  ensure(i: number): void {
    if (i >= this.a.length) {
      let n = this.a.length;
      while (n <= i) {
        n *= 2;
      }
      const b = this.make(n);
      b.set(this.a);
      this.a = b;
    }
  }
}

export const growU8 = (): Grow<Uint8Array> => new Grow((n) => new Uint8Array(n));
export const growU32 = (): Grow<Uint32Array> => new Grow((n) => new Uint32Array(n));
export const growF64 = (): Grow<Float64Array> => new Grow((n) => new Float64Array(n));

/** One bit per message index: which messages a stream has received. */
export class SeenBits {
  private bits = new Uint8Array(16);

  /** Marks i; false if it was marked already (a duplicate). */
  mark(i: number): boolean {
    const byte = i >> 3;
    if (byte >= this.bits.length) {
      let n = this.bits.length;
      while (n <= byte) {
        n *= 2;
      }
      const b = new Uint8Array(n);
      b.set(this.bits);
      this.bits = b;
    }
    const bit = 1 << (i & 7);
    if ((this.bits[byte] & bit) !== 0) {
      return false;
    }
    this.bits[byte] |= bit;
    return true;
  }

  has(i: number): boolean {
    const byte = i >> 3;
    return byte < this.bits.length && (this.bits[byte] & (1 << (i & 7))) !== 0;
  }
}
