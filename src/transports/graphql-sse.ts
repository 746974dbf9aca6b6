import { createHandler, type Request } from 'graphql-sse';
import type { FastifyPluginAsync } from 'fastify';
import type { ServerResponse } from 'node:http';
import { GraphqlConnection, type ResultFraming } from '../graphql/connection.js';
import type { ChannelOperations } from '../graphql/schema.js';
import { WireFormat } from '../protocol/wire.js';
import type { Sink } from '../sessions/sink.js';
import { HttpStreamSink, startStream, streamContentTypes } from './http-stream.js';
import { prepareOperation, sourceStream, type GraphqlTransportDeps } from './graphql.js';

/** A graphql-sse `next` event: in distinct connections mode it carries no id, so every subscriber of a selection gets the same bytes. */
const nextEvent: ResultFraming = (session, _op, result) => {
  const event = (result.sseEvent ??= Buffer.from(`event: next\ndata: ${result.json}\n\n`));
  session.enqueue(event);
  return event.length;
};

/** The response as a session sink that holds what is queued until the stream's headers are written. */
class PendingStreamSink implements Sink {
  readonly answersPings = false;
  private readonly stream: HttpStreamSink;
  private early: Buffer[] | undefined = [];

  constructor(res: ServerResponse) {
    this.stream = new HttpStreamSink(res);
  }

  /** The headers are out: what was held follows them. */
  start(): void {
    const early = this.early ?? [];
    this.early = undefined;
    for (const bytes of early) this.stream.write(bytes);
  }

  write(bytes: Buffer): void {
    if (this.early) this.early.push(bytes);
    else this.stream.write(bytes);
  }

  bufferedBytes(): number {
    return (this.early?.reduce((n, b) => n + b.length, 0) ?? 0) + this.stream.bufferedBytes();
  }

  ping(): void {}

  end(): void {
    this.stream.end();
  }

  destroy(): void {
    this.stream.destroy();
  }
}

/**
 * GraphQL over Server-Sent Events at /graphql (graphql-sse, distinct connections mode): GET or
 * POST with `Accept: text/event-stream`. graphql-sse parses, validates and runs the operation and
 * writes its protocol events; a subscription's results come from the shared fan-out. Everything
 * goes out through the session's queue, in order.
 */
export const graphqlSseRoutes: FastifyPluginAsync<GraphqlTransportDeps> = async (app, deps) => {
  const { channels, config } = deps;
  deps.deliverWith(WireFormat.graphqlSse, nextEvent);
  const handler = createHandler<unknown, GraphqlConnection, ChannelOperations>({
    schema: channels.schema,
    onSubscribe: (req, params) => {
      const { query } = params;
      if (typeof query !== 'string') return undefined;
      const prepared = prepareOperation(channels.schema, channels.documents, config.graphql.maxQueryBytes, deps.stats, { ...params, query });
      return Array.isArray(prepared) ? { errors: prepared } : { ...prepared, contextValue: req.context.forOperation('', query) };
    },
    subscribe: sourceStream,
  });

  const serve = async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    const url = new URL(req.url, 'http://switchboard');
    const request = deps.admit(req.raw, url, 'graphql-sse');
    const { identity, channels: own } = await deps.authorize(request);
    const res = reply.raw;
    const sink = new PendingStreamSink(res);
    const connection = new GraphqlConnection(channels, { id: '', ...identity }, nextEvent, () =>
      deps.openSession({ format: WireFormat.graphqlSse, sink, remote: request.remote, channels: own, identity }),
    );
    const graphqlRequest: Request<unknown, GraphqlConnection> = {
      method: req.method,
      url: req.url,
      headers: { get: (key) => (req.headers[key] === undefined ? null : String(req.headers[key])) },
      body: req.body === undefined ? null : (req.body as Record<string, unknown>),
      raw: req.raw,
      context: connection,
    };
    const [body, init] = await handler(graphqlRequest);
    reply.hijack();
    const session = connection.session;
    const closed = () => {
      session?.handleClosed();
      connection.close();
      if (body && typeof body !== 'string') void body.return?.(undefined);
    };
    // The client may have gone while the operation started: then no close event is coming.
    if (res.destroyed) return closed();
    res.once('close', closed);
    if (!body || typeof body === 'string') {
      res.writeHead(init.status ?? 200, init.headers as Record<string, string> | undefined);
      res.end(body ?? undefined);
      return;
    }
    startStream(res, streamContentTypes.sse);
    sink.start();
    for await (const chunk of body) {
      if (session) session.enqueue(Buffer.from(chunk));
      else if (!res.writableEnded) res.write(chunk);
    }
    if (session) session.close(1000, 'completed');
    else res.end();
  };
  app.get('/graphql', serve);
  app.post('/graphql', serve);
};
