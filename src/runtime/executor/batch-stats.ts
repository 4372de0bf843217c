// Rows per model call, summarised in constant space: an executor serves for as long as the
// server runs, so it keeps counts, not a list of every call's size.

export class BatchSizeStats {
  calls = 0;
  rows = 0;
  max = 0;
  /** Rows of the latest call (0 before the first). */
  last = 0;

  record(rows: number): void {
    this.calls++;
    this.rows += rows;
    if (rows > this.max) this.max = rows;
    this.last = rows;
  }

  /** Mean rows per call (0 before the first). */
  get mean(): number {
    return this.calls === 0 ? 0 : this.rows / this.calls;
  }
}
