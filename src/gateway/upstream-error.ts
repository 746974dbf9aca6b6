/** Why an attempt at an upstream instance failed; the label of switchboard_gateway_upstream_errors_total. */
export type UpstreamFailure =
  'connect' | 'timeout' | 'reset' | 'status_5xx' | 'too_large' | 'grpc_unavailable' | 'grpc_deadline' | 'grpc_error' | 'forbidden_target' | 'bad_response';

/**
 * A failed attempt at one instance. `beforeSending` failures (the connection could not be made,
 * gRPC UNAVAILABLE) left the request unprocessed: an idempotent one may be tried on another instance.
 */
export class UpstreamError extends Error {
  constructor(
    readonly reason: UpstreamFailure,
    message: string,
    readonly beforeSending = false,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}
