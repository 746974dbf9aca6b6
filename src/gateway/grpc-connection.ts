import type { Client } from '@grpc/grpc-js';
import type { ForwardingRequest, ForwardingResponse } from './grpc.js';

type GrpcModule = typeof import('./grpc.js');

/**
 * The client of one gRPC instance, made on first use: @grpc/* is loaded only by a node that
 * forwards to a gRPC service, not at start-up.
 */
export class GrpcConnection {
  private client: Promise<{ grpc: GrpcModule; client: Client }> | undefined;

  constructor(
    private readonly url: string,
    private readonly maxMessageBytes: number,
  ) {}

  async send(request: ForwardingRequest, timeoutMs: number): Promise<ForwardingResponse> {
    const { grpc, client } = await this.connect();
    return grpc.forwardToGrpc(client, request, timeoutMs);
  }

  /** grpc.health.v1 Check: true when the instance is SERVING. */
  async healthy(timeoutMs: number): Promise<boolean> {
    const { grpc, client } = await this.connect();
    return grpc.grpcHealthCheck(client, timeoutMs);
  }

  close(): void {
    void this.client?.then(
      ({ client }) => client.close(),
      () => {},
    );
  }

  private connect(): Promise<{ grpc: GrpcModule; client: Client }> {
    this.client ??= import('./grpc.js').then((grpc) => ({ grpc, client: grpc.createForwardingClient(this.url, this.maxMessageBytes) }));
    return this.client;
  }
}
