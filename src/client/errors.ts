import { errorCodes, type ErrorCode } from '../protocol/types.js';

/**
 * Error codes a client can see: the server's stable protocol codes
 * (docs/protocol.md#error-codes; `timeout` is also raised by the SDK itself) and two of the SDK's own.
 */
export type ClientErrorCode =
  | ErrorCode
  /** The connection was lost before the answer came; the request may or may not have been carried out. */
  | 'disconnected'
  /** The client was closed (by `close()` or by a close code that forbids reconnecting). */
  | 'closed';

/** An error from the server (its protocol code and message) or from the SDK (`timeout`, `disconnected`, `closed`). */
export class SwitchboardClientError extends Error {
  /** The stable machine-readable code; branch on this, not on the message. */
  readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string) {
    super(message);
    this.name = 'SwitchboardClientError';
    this.code = code;
  }
}

const serverCodes = new Set<string>(errorCodes);

/** An error object from a `reply` frame or an HTTP error body as a typed error. */
export function fromServerError(error: { code?: unknown; message?: unknown } | undefined, fallback = 'internal'): SwitchboardClientError {
  const code = typeof error?.code === 'string' && serverCodes.has(error.code) ? error.code : fallback;
  const message = typeof error?.message === 'string' ? error.message : 'the server answered with an error';
  return new SwitchboardClientError(code as ClientErrorCode, message);
}
