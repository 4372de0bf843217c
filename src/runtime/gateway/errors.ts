// Errors as the OpenAI API shapes them: `{ error: { message, type, param, code } }` with the
// HTTP status that goes with them, so OpenAI client libraries raise their usual exceptions.

export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'rate_limit_error' | 'server_error' | 'service_unavailable';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get type(): ApiErrorType {
    if (this.status === 401) return 'authentication_error';
    if (this.status === 429) return 'rate_limit_error';
    if (this.status === 503) return 'service_unavailable';
    return this.status >= 500 ? 'server_error' : 'invalid_request_error';
  }

  body(): { error: { message: string; type: ApiErrorType; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}
