// `serve --record <trace.jsonl>`: every served request appended as one trace line (the project's
// trace format, no content), written off the request path. Lines queue in memory and one write
// at a time drains them; a full file is rotated (trace.jsonl → trace.jsonl.1 → … → .N, the oldest
// dropped). A request never waits for the disk and never fails because of it: the first write
// error is logged once and recording stops, while serving goes on.
import { closeSync, existsSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { formatJsonlLine, normaliseRequest } from '../../workload/trace.js';
import type { TraceRequest } from '../../spec/types.generated.js';
import type { Logger } from '../log.js';

export interface RecordOptions {
  path: string;
  /** Rotate once the current file would grow past this many bytes (default 64 MiB). */
  maxBytes?: number;
  /** Rotated files kept beside the current one (default 5). */
  keep?: number;
  /** Lines waiting for the disk beyond this many bytes are dropped, and counted (default 8 MiB). */
  maxQueuedBytes?: number;
}

export const DEFAULT_RECORD_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_RECORD_KEEP = 5;
const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** The record file cannot be opened at startup: the server refuses to start. */
export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

/** One recorded request as its JSONL line (sizes and arrival rounded as every trace writer does). */
export function recordLine(r: TraceRequest): string {
  const line = normaliseRequest(r);
  if (r.latencyMs !== undefined) line.latencyMs = r.latencyMs;
  return formatJsonlLine(line) + '\n';
}

/** `path.k` for the k-th rotated file (k ≥ 1). */
export function rotatedPath(path: string, k: number): string {
  return `${path}.${k}`;
}

export class TraceRecorder {
  readonly path: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly maxQueuedBytes: number;
  private file: FileHandle | undefined;
  private fileBytes = 0;
  private queue: string[] = [];
  private queuedBytes = 0;
  private writing: Promise<void> | undefined;
  private stopped = false;
  /** Lines written, and lines dropped (queue full, or after a write error). */
  written = 0;
  dropped = 0;

  /**
   * Checks the path synchronously, so that a bad one stops the server before it starts: the
   * directory must exist and the file be writable. A non-empty file already there is rotated
   * away first, so one file never holds two recordings with different time origins.
   */
  constructor(
    options: RecordOptions,
    private readonly log: Logger,
  ) {
    this.path = options.path;
    this.maxBytes = options.maxBytes ?? DEFAULT_RECORD_MAX_BYTES;
    this.keep = options.keep ?? DEFAULT_RECORD_KEEP;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    if (!(Number.isInteger(this.maxBytes) && this.maxBytes >= 1024)) throw new RangeError('record maxBytes must be a whole number ≥ 1024');
    if (!(Number.isInteger(this.keep) && this.keep >= 0)) throw new RangeError('record keep must be a whole number ≥ 0');
    try {
      if (existsSync(this.path) && statSync(this.path).isDirectory())
        throw new RecordError(`--record ${this.path} is a directory; give a file path`);
      if (existsSync(this.path) && statSync(this.path).size > 0) this.rotateSync();
      closeSync(openSync(this.path, 'w'));
    } catch (err) {
      if (err instanceof RecordError) throw err;
      const e = err as NodeJS.ErrnoException;
      const why =
        e.code === 'ENOENT' ? 'its directory does not exist' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.message;
      throw new RecordError(`cannot record to ${this.path}: ${why}`);
    }
  }

  /** Queues one request's line; returns at once. */
  add(r: TraceRequest): void {
    if (this.stopped) {
      this.dropped++;
      return;
    }
    const line = recordLine(r);
    if (this.queuedBytes + line.length > this.maxQueuedBytes) {
      this.dropped++;
      return;
    }
    this.queue.push(line);
    this.queuedBytes += line.length;
    this.writing ??= this.drain().finally(() => (this.writing = undefined));
  }

  /** Writes what is queued and closes the file; later lines are dropped. */
  async close(): Promise<void> {
    while (this.writing) await this.writing;
    this.stopped = true;
    await this.file?.close().catch(() => undefined);
    this.file = undefined;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const chunk = this.takeChunk();
      try {
        if (this.file && this.fileBytes > 0 && this.fileBytes + Buffer.byteLength(chunk) > this.maxBytes) await this.rotate();
        this.file ??= await open(this.path, 'a');
        await this.file.write(chunk);
        this.fileBytes += Buffer.byteLength(chunk);
        this.written += chunk.split('\n').length - 1;
      } catch (err) {
        this.fail(err as Error, chunk);
      }
    }
  }

  /** Queued lines up to the rotation limit (at least one), so a rotation falls between lines. */
  private takeChunk(): string {
    let chunk = '';
    let bytes = 0;
    while (this.queue.length > 0) {
      const line = this.queue[0];
      const n = Buffer.byteLength(line);
      if (chunk && (bytes + n > this.maxBytes - this.fileBytes || bytes + n > 1 << 20)) break;
      chunk += line;
      bytes += n;
      this.queue.shift();
      this.queuedBytes -= line.length;
    }
    return chunk;
  }

  private fail(err: Error, chunk: string): void {
    this.stopped = true;
    this.dropped += chunk.split('\n').length - 1 + this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
    this.log.error('record.failed', {
      path: this.path,
      error: err.message,
      written: this.written,
      note: 'recording stopped; serving goes on',
    });
    void this.file?.close().catch(() => undefined);
    this.file = undefined;
  }

  private async rotate(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
    if (this.keep === 0) await rm(this.path, { force: true });
    else {
      await rm(rotatedPath(this.path, this.keep), { force: true });
      for (let k = this.keep - 1; k >= 1; k--) await rename(rotatedPath(this.path, k), rotatedPath(this.path, k + 1)).catch(ignoreMissing);
      await rename(this.path, rotatedPath(this.path, 1));
    }
    this.fileBytes = 0;
    this.log.info('record.rotated', { path: this.path, keep: this.keep });
  }

  private rotateSync(): void {
    if (this.keep === 0) return rmSync(this.path, { force: true });
    rmSync(rotatedPath(this.path, this.keep), { force: true });
    for (let k = this.keep - 1; k >= 1; k--)
      if (existsSync(rotatedPath(this.path, k))) renameSync(rotatedPath(this.path, k), rotatedPath(this.path, k + 1));
    renameSync(this.path, rotatedPath(this.path, 1));
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
