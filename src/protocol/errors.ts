import type { ErrorCode } from './types.js';

/**
 * Every error a client or an API caller can see. The code is stable and machine-readable;
 * HTTP status and WebSocket close code are derived from it here and nowhere else.
 */
export { CloseCodes, errorCodes, type ErrorCode } from './types.js';

interface CodeMapping {
  http: number;
  /** Close code used when the error ends a session. 4000-4499: reconnect; 4500-4999: do not. */
  close: number;
}

const mappings: Record<ErrorCode, CodeMapping> = {
  bad_request: { http: 400, close: 4500 },
  unauthorized: { http: 401, close: 4501 },
  forbidden: { http: 403, close: 4502 },
  not_found: { http: 404, close: 4503 },
  too_large: { http: 413, close: 4504 },
  limit_exceeded: { http: 409, close: 4505 },
  rate_limited: { http: 429, close: 4429 },
  slow_consumer: { http: 503, close: 4001 },
  unavailable: { http: 503, close: 4002 },
  backend_error: { http: 502, close: 4006 },
  timeout: { http: 504, close: 4007 },
  internal: { http: 500, close: 4003 },
  bad_path: { http: 400, close: 4507 },
  forbidden_target: { http: 403, close: 4508 },
};

export class SwitchboardError extends Error {
  readonly code: ErrorCode;

  /** `cause` is for the log only (a driver's text); clients see the message. */
  constructor(code: ErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SwitchboardError';
    this.code = code;
  }

  get httpStatus(): number {
    return mappings[this.code].http;
  }

  get closeCode(): number {
    return mappings[this.code].close;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function closeCodeOf(code: ErrorCode): number {
  return mappings[code].close;
}

/** Any thrown value as a SwitchboardError; unknown errors become `internal` without leaking details. */
export function asSwitchboardError(err: unknown): SwitchboardError {
  if (err instanceof SwitchboardError) return err;
  return new SwitchboardError('internal', 'internal error');
}

/**
 * A backend (broker, store, registry) that cannot be reached, as `unavailable` with a stable message;
 * the driver's error is kept as the cause, for the log. SwitchboardErrors pass through.
 */
export function unavailableError(what: string, err: unknown): SwitchboardError {
  if (err instanceof SwitchboardError) return err;
  return new SwitchboardError('unavailable', `${what} is unavailable`, err);
}

/** The text of an error's cause (a driver's message), for logs; empty when it has none. */
export function causeOf(err: Error): string {
  const { cause } = err;
  return cause instanceof Error ? cause.message : cause === undefined ? '' : String(cause);
}
