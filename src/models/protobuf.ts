// Minimal protobuf wire-format writer and reader: just what ONNX files need (varints, fixed32,
// length-delimited fields). No schema, no reflection; the ONNX modules name the field numbers.
//
// Messages are kept as lists of byte chunks so that a 40 MB initializer is copied once, when the
// finished model is flattened, instead of once per nesting level.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const SCRATCH_BYTES = 4096;

export class ProtoMessage {
  private readonly chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(SCRATCH_BYTES);
  private scratchLen = 0;
  private flushedBytes = 0;

  get byteLength(): number {
    return this.flushedBytes + this.scratchLen;
  }

  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  float32(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.reserve(4);
    new DataView(this.scratch.buffer).setFloat32(this.scratchLen, value, true);
    this.scratchLen += 4;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** Length-delimited bytes; large payloads are referenced, not copied, until toBytes(). */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(value.byteLength);
    this.append(value);
    return this;
  }

  message(field: number, sub: ProtoMessage): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(sub.byteLength);
    sub.flush();
    for (const chunk of sub.chunks) this.append(chunk);
    return this;
  }

  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoMessage();
    for (const v of values) inner.rawVarint(v);
    inner.flush();
    this.tag(field, WIRE_LEN);
    this.rawVarint(inner.byteLength);
    for (const chunk of inner.chunks) this.append(chunk);
    return this;
  }

  packedFloat32(field: number, values: readonly number[]): this {
    const data = new Float32Array(values);
    return this.bytes(field, new Uint8Array(data.buffer));
  }

  toBytes(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.flushedBytes);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  private rawVarint(value: number | bigint): void {
    this.reserve(10);
    // Negative int64 values are encoded as their 64-bit two's complement (always 10 bytes).
    let v = BigInt.asUintN(64, BigInt(value));
    if (v < 0x80n) {
      this.scratch[this.scratchLen++] = Number(v);
      return;
    }
    while (v >= 0x80n) {
      this.scratch[this.scratchLen++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.scratch[this.scratchLen++] = Number(v);
  }

  private append(bytes: Uint8Array): void {
    if (bytes.byteLength <= 256) {
      this.reserve(bytes.byteLength);
      this.scratch.set(bytes, this.scratchLen);
      this.scratchLen += bytes.byteLength;
      return;
    }
    this.flush();
    this.chunks.push(bytes);
    this.flushedBytes += bytes.byteLength;
  }

  private reserve(bytes: number): void {
    if (this.scratchLen + bytes > this.scratch.byteLength) this.flush();
  }

  private flush(): void {
    if (this.scratchLen === 0) return;
    this.chunks.push(this.scratch.slice(0, this.scratchLen));
    this.flushedBytes += this.scratchLen;
    this.scratch = new Uint8Array(SCRATCH_BYTES);
    this.scratchLen = 0;
  }
}

/** One decoded field. `bytes` is a view into the source buffer for length-delimited fields. */
export type ProtoField =
  | { field: number; wire: 'varint'; value: bigint }
  | { field: number; wire: 'fixed32'; value: number }
  | { field: number; wire: 'fixed64'; value: bigint }
  | { field: number; wire: 'len'; bytes: Uint8Array };

export class ProtoDecodeError extends Error {}

/** Iterates the top-level fields of one message; nested messages are decoded by calling it again. */
export function* readFields(buf: Uint8Array): Generator<ProtoField> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.byteLength) throw new ProtoDecodeError('truncated varint');
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtoDecodeError('varint longer than 10 bytes');
    }
  };
  while (pos < buf.byteLength) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 0) throw new ProtoDecodeError(`field number 0 at byte ${pos}`);
    if (wire === WIRE_VARINT) {
      yield { field, wire: 'varint', value: varint() };
    } else if (wire === WIRE_FIXED32) {
      if (pos + 4 > buf.byteLength) throw new ProtoDecodeError('truncated fixed32');
      yield { field, wire: 'fixed32', value: view.getFloat32(pos, true) };
      pos += 4;
    } else if (wire === WIRE_FIXED64) {
      if (pos + 8 > buf.byteLength) throw new ProtoDecodeError('truncated fixed64');
      yield { field, wire: 'fixed64', value: view.getBigUint64(pos, true) };
      pos += 8;
    } else if (wire === WIRE_LEN) {
      const len = Number(varint());
      if (pos + len > buf.byteLength) throw new ProtoDecodeError(`length ${len} runs past the end at byte ${pos}`);
      yield { field, wire: 'len', bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else {
      throw new ProtoDecodeError(`unsupported wire type ${wire} for field ${field}`);
    }
  }
}
