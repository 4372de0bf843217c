// Recycled receive buffers. A fresh 64 MiB ArrayBuffer costs its page faults on first touch,
// and on this machine those faults, not the socket, dominate a transfer (64 MiB in ~50 ms into
// fresh memory, ~12 ms into recycled memory; bench/serve.ts). The consumer returns a tensor's
// buffer once the component that read it has finished.

export interface BufferPoolOptions {
  /** Payloads below this are allocated exactly and never pooled (the faults are cheap). */
  minPooledBytes?: number;
  /** The most idle memory the pool keeps. */
  maxIdleBytes?: number;
}

export class BufferPool {
  private readonly idle = new Map<number, ArrayBuffer[]>();
  private readonly mine = new WeakSet<ArrayBuffer>();
  private readonly out = new WeakSet<ArrayBuffer>();
  private idleBytes = 0;
  private readonly minPooledBytes: number;
  private readonly maxIdleBytes: number;

  constructor(options: BufferPoolOptions = {}) {
    this.minPooledBytes = options.minPooledBytes ?? 64 * 1024;
    this.maxIdleBytes = options.maxIdleBytes ?? 256 * 1024 * 1024;
  }

  /** A buffer of at least `bytes` (a power-of-two size class when pooled). */
  allocate(bytes: number): ArrayBuffer {
    if (bytes < this.minPooledBytes) return new ArrayBuffer(bytes);
    const size = 2 ** Math.ceil(Math.log2(bytes));
    const list = this.idle.get(size);
    const buf = list?.pop();
    if (buf) {
      this.idleBytes -= size;
      this.out.add(buf);
      return buf;
    }
    const fresh = new ArrayBuffer(size);
    this.mine.add(fresh);
    this.out.add(fresh);
    return fresh;
  }

  /** Takes a buffer back; buffers it did not hand out, or already has, are ignored. */
  release(buf: ArrayBufferLike): void {
    if (!(buf instanceof ArrayBuffer) || !this.mine.has(buf) || !this.out.has(buf)) return;
    this.out.delete(buf);
    if (this.idleBytes + buf.byteLength > this.maxIdleBytes) return; // let the GC have it
    let list = this.idle.get(buf.byteLength);
    if (!list) this.idle.set(buf.byteLength, (list = []));
    list.push(buf);
    this.idleBytes += buf.byteLength;
  }

  get idleByteCount(): number {
    return this.idleBytes;
  }
}
