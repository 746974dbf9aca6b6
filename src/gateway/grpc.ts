import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { UpstreamError } from './upstream-error.js';

/** proto/forwarding.proto at the root of the package (this module runs from dist/src/gateway/). */
export const forwardingProtoPath = fileURLToPath(new URL('../../../proto/forwarding.proto', import.meta.url));

/** A ForwardingReq as JavaScript sees it (proto field names in camelCase). */
export interface ForwardingRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string[]>;
  body: Buffer;
  remoteAddress: string;
  user: string;
  /** JSON object as text. */
  context: string;
  host: string;
  scheme: string;
  route: string;
  service: string;
  originalPath: string;
  requestId: string;
}

export interface ForwardingResponse {
  statusCode: number;
  headers: Record<string, string[]>;
  body: Buffer;
}

type WireHeaders = Record<string, { values: string[] }>;

interface ForwardingClient extends grpc.Client {
  Send(
    request: unknown,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, response?: { statusCode: number; headers: WireHeaders; body: Buffer }) => void,
  ): grpc.ClientUnaryCall;
}

let definition: grpc.GrpcObject | undefined;

/** The loaded forwarding package (switchboard.forwarding.v1), for clients and for services written in Node. */
export function forwardingPackage(): grpc.GrpcObject {
  definition ??= grpc.loadPackageDefinition(protoLoader.loadSync(forwardingProtoPath, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true }));
  return ((definition.switchboard as grpc.GrpcObject).forwarding as grpc.GrpcObject).v1 as grpc.GrpcObject;
}

/** The ForwardingService definition, for `server.addService` in a service implementing it. */
export function forwardingServiceDefinition(): grpc.ServiceDefinition {
  return (forwardingPackage().ForwardingService as grpc.ServiceClientConstructor).service;
}

/** A client of one instance: `grpc://host:port` (plaintext) or `grpcs://host:port` (TLS). */
export function createForwardingClient(url: string, maxMessageBytes: number): grpc.Client {
  const parsed = new URL(url);
  const Client = forwardingPackage().ForwardingService as grpc.ServiceClientConstructor;
  const credentials = parsed.protocol === 'grpcs:' ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
  return new Client(parsed.host, credentials, {
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.max_receive_message_length': maxMessageBytes,
    // Fail a call at once when the instance cannot be reached instead of queueing it.
    'grpc.enable_retries': 0,
  });
}

const toWire = (headers: Record<string, string[]>): WireHeaders => Object.fromEntries(Object.entries(headers).map(([k, values]) => [k, { values }]));
const fromWire = (headers: WireHeaders): Record<string, string[]> => Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v.values ?? []]));

/**
 * Calls ForwardingService.Send on one instance with a deadline. Failures are UpstreamErrors:
 * UNAVAILABLE (the instance could not be reached; the call was not processed) is `grpc_unavailable`
 * and may be retried elsewhere, DEADLINE_EXCEEDED is `grpc_deadline`, a too large message
 * (RESOURCE_EXHAUSTED) `too_large`, any other status `grpc_error`.
 */
export function forwardToGrpc(client: grpc.Client, request: ForwardingRequest, timeoutMs: number): Promise<ForwardingResponse> {
  return new Promise((resolve, reject) => {
    (client as ForwardingClient).Send({ ...request, headers: toWire(request.headers) }, { deadline: Date.now() + timeoutMs }, (err, response) => {
      if (err) {
        reject(grpcFailure(err));
        return;
      }
      resolve({ statusCode: response!.statusCode || 200, headers: fromWire(response!.headers), body: response!.body ?? Buffer.alloc(0) });
    });
  });
}

function grpcFailure(err: grpc.ServiceError): UpstreamError {
  switch (err.code) {
    case grpc.status.UNAVAILABLE:
      return new UpstreamError('grpc_unavailable', `gRPC UNAVAILABLE: ${err.details}`, true);
    case grpc.status.DEADLINE_EXCEEDED:
      return new UpstreamError('grpc_deadline', 'gRPC DEADLINE_EXCEEDED: the service did not answer in time');
    case grpc.status.RESOURCE_EXHAUSTED:
      return new UpstreamError('too_large', `gRPC RESOURCE_EXHAUSTED: ${err.details}`);
    default:
      return new UpstreamError('grpc_error', `gRPC ${grpc.status[err.code] ?? err.code}: ${err.details}`);
  }
}

/** grpc.health.v1.Health/Check for the whole server (empty service name); resolves true when SERVING. */
export function grpcHealthCheck(client: grpc.Client, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      () => Buffer.alloc(0),
      // HealthCheckResponse { ServingStatus status = 1; }: field 1, varint; SERVING is 1.
      (bytes: Buffer) => (bytes.length >= 2 && bytes[0] === 0x08 ? bytes[1] : 0),
      {},
      { deadline: Date.now() + timeoutMs },
      (err, status) => resolve(!err && status === 1),
    );
  });
}
