// The tensor wire format: a small self-describing header, then the tensor's raw bytes. Every
// field is little-endian; the header says its own length so a reader needs one fixed-size
// peek before it knows how much more to read.
//
//   off  size  field
//   0    4     magic 'CSTF'
//   4    1     kind (FrameKind)
//   5    1     dtype code (tensor.ts)
//   6    1     ndim
//   7    1     flags (bit 0: last chunk of the edge)
//   8    4     chunk index
//   12   4     header length in bytes (this fixed part + shape + strings)
//   16   8     payload length in bytes (float64: exact below 2^53)
//   24   2     request id length (UTF-8 bytes)
//   26   2     edge length
//   28   4     text length (an error message or a token)
//   32   8×n   shape
//   …          request id, edge, text
import { dtypeCode, dtypeFromCode, type DType } from './tensor.js';

export const MAGIC = 0x46545343; // 'CSTF' read little-endian
export const FIXED_HEADER_BYTES = 32;
/** Headers longer than this are refused: they can only come from a corrupt or hostile peer. */
export const MAX_HEADER_BYTES = 64 * 1024;

export enum FrameKind {
  /** producer → consumer: one tensor (or one chunk of a streaming edge), payload follows. */
  Tensor = 1,
  /** consumer → producer: send me (requestId, edge) when it exists. */
  Subscribe = 2,
  /** producer → consumer: the producer failed; text is why. */
  Error = 3,
  /** consumer → producer: forget every subscription of requestId. */
  Cancel = 4,
  /** producer → consumer: a streaming edge ended without a final tensor. */
  End = 5,
  /** consumer → producer, first frame of a connection: text is the shared token. */
  Hello = 6,
}

export const FLAG_LAST = 1;

export interface FrameHeader {
  kind: FrameKind;
  requestId: string;
  edge: string;
  dtype: DType;
  shape: number[];
  chunk: number;
  last: boolean;
  payloadBytes: number;
  text: string;
}

export function encodeHeader(h: Partial<FrameHeader> & { kind: FrameKind }): Buffer {
  const requestId = Buffer.from(h.requestId ?? '', 'utf8');
  const edge = Buffer.from(h.edge ?? '', 'utf8');
  const text = Buffer.from(h.text ?? '', 'utf8');
  const shape = h.shape ?? [];
  if (requestId.length > 0xffff || edge.length > 0xffff) throw new Error('request id or edge name too long for a frame header');
  if (shape.length > 255) throw new Error(`tensor rank ${shape.length} is over 255`);
  const length = FIXED_HEADER_BYTES + 8 * shape.length + requestId.length + edge.length + text.length;
  if (length > MAX_HEADER_BYTES) throw new Error(`frame header of ${length} bytes is over ${MAX_HEADER_BYTES}`);
  const buf = Buffer.allocUnsafe(length);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt8(h.kind, 4);
  buf.writeUInt8(dtypeCode(h.dtype ?? 'uint8'), 5);
  buf.writeUInt8(shape.length, 6);
  buf.writeUInt8(h.last ? FLAG_LAST : 0, 7);
  buf.writeUInt32LE(h.chunk ?? 0, 8);
  buf.writeUInt32LE(length, 12);
  buf.writeDoubleLE(h.payloadBytes ?? 0, 16);
  buf.writeUInt16LE(requestId.length, 24);
  buf.writeUInt16LE(edge.length, 26);
  buf.writeUInt32LE(text.length, 28);
  let off = FIXED_HEADER_BYTES;
  for (const d of shape) {
    buf.writeDoubleLE(d, off);
    off += 8;
  }
  requestId.copy(buf, off);
  off += requestId.length;
  edge.copy(buf, off);
  off += edge.length;
  text.copy(buf, off);
  return buf;
}

/** Reads the header length from a fixed part, checking the magic; throws on garbage. */
export function peekHeaderLength(fixed: Buffer): number {
  if (fixed.readUInt32LE(0) !== MAGIC) throw new Error('bad frame magic: the peer does not speak the cornserve tensor protocol');
  const length = fixed.readUInt32LE(12);
  if (length < FIXED_HEADER_BYTES || length > MAX_HEADER_BYTES) throw new Error(`bad frame header length ${length}`);
  return length;
}

export function decodeHeader(buf: Buffer): FrameHeader {
  const length = peekHeaderLength(buf);
  const kind = buf.readUInt8(4) as FrameKind;
  if (!(kind in FrameKind)) throw new Error(`unknown frame kind ${kind}`);
  const ndim = buf.readUInt8(6);
  const idLen = buf.readUInt16LE(24);
  const edgeLen = buf.readUInt16LE(26);
  const textLen = buf.readUInt32LE(28);
  if (FIXED_HEADER_BYTES + 8 * ndim + idLen + edgeLen + textLen !== length) throw new Error('frame header lengths disagree');
  const payloadBytes = buf.readDoubleLE(16);
  if (!Number.isSafeInteger(payloadBytes) || payloadBytes < 0) throw new Error(`bad frame payload length ${payloadBytes}`);
  const shape: number[] = [];
  let off = FIXED_HEADER_BYTES;
  for (let i = 0; i < ndim; i++, off += 8) shape.push(buf.readDoubleLE(off));
  const requestId = buf.toString('utf8', off, off + idLen);
  off += idLen;
  const edge = buf.toString('utf8', off, off + edgeLen);
  off += edgeLen;
  const text = buf.toString('utf8', off, off + textLen);
  return {
    kind,
    requestId,
    edge,
    dtype: dtypeFromCode(buf.readUInt8(5)),
    shape,
    chunk: buf.readUInt32LE(8),
    last: (buf.readUInt8(7) & FLAG_LAST) !== 0,
    payloadBytes,
    text,
  };
}
