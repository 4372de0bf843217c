// Why an incoming edge failed. Each message names the request and edge so that the error a
// client finally sees says what broke, not just that something did.

/** The connection to the producing process closed or never opened. */
export class PeerLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerLostError';
  }
}

/** The producing component failed and said so. */
export class ProducerFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProducerFailedError';
  }
}

/** The request was cancelled (it failed elsewhere, timed out or its client left). */
export class CancelledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CancelledError';
  }
}
