// The control channel between a gateway and an executor in another pod: the same ToHost /
// FromHost messages the supervisor sends over child-process IPC, carried over one TCP connection
// that started as an HTTP Upgrade (`Upgrade: cornserve-control`) on the executor's port. Each
// message is a 4-byte little-endian length and the message in V8's serialization (what IPC's
// `advanced` mode uses), so media bytes and audio samples cross as typed arrays, not JSON.
import { deserialize, serialize } from 'node:v8';

export const CONTROL_PROTOCOL = 'cornserve-control';
export const CONTROL_PATH = '/control';
/** Response header of the upgrade: the executor's tensor endpoint port (same host). */
export const TENSOR_PORT_HEADER = 'x-cornserve-tensor-port';
/** Largest control message accepted (a request's media ride in invoke messages). */
export const MAX_CONTROL_MESSAGE_BYTES = 256 * 1024 * 1024;

export function encodeControl(msg: unknown): Buffer {
  const body = serialize(msg);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** Reassembles messages from the chunks a socket delivers. */
export class ControlReader<T> {
  private buffered: Buffer[] = [];
  private size = 0;

  constructor(private readonly onMessage: (msg: T) => void) {}

  push(chunk: Buffer): void {
    this.buffered.push(chunk);
    this.size += chunk.length;
    for (;;) {
      if (this.size < 4) return;
      if (this.buffered[0].length < 4) this.buffered = [Buffer.concat(this.buffered)];
      const length = this.buffered[0].readUInt32LE(0);
      if (length > MAX_CONTROL_MESSAGE_BYTES)
        throw new Error(`control message of ${length} bytes is over the ${MAX_CONTROL_MESSAGE_BYTES}-byte limit`);
      // Joined only once the whole message is in: a large one arrives in many chunks.
      if (this.size < 4 + length) return;
      const all = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered);
      const msg = deserialize(all.subarray(4, 4 + length)) as T;
      const rest = all.subarray(4 + length);
      this.buffered = rest.length > 0 ? [rest] : [];
      this.size = rest.length;
      this.onMessage(msg);
    }
  }
}
