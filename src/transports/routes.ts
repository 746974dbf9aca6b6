import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { asSwitchboardError } from '../errors.js';
import type { SwitchboardNode } from '../node.js';
import { decodeCursor } from '../protocol/cursor.js';
import { FrameError } from '../protocol/frames.js';
import { WireFormat, heartbeatBytes } from '../protocol/wire.js';
import type { Session } from '../sessions/session.js';
import { HttpStreamSink, startStream, streamContentTypes } from './http-stream.js';
import { longPoll } from './long-poll.js';
import { WebSocketTransport } from './websocket.js';
import { errorBody } from '../api/errors.js';

/** `?channels=a,b` (and repeated `channel=`) from a request URL. */
export function channelsFromQuery(url: URL): string[] {
  const names = url.searchParams.getAll('channels').flatMap((v) => v.split(','));
  names.push(...url.searchParams.getAll('channel'));
  return [...new Set(names.map((n) => n.trim()).filter((n) => n !== ''))];
}

function remoteOf(req: IncomingMessage): string {
  return `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`;
}

/** Answers a refused upgrade on the raw socket, with the same JSON error body as the API. */
function refuseUpgrade(socket: Duplex, status: number, body: object): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

const websocketPaths: Record<string, WireFormat> = { '/ws': WireFormat.ws };
const pushWebsocketPaths: Record<string, WireFormat> = { '/ws/messages': WireFormat.pushWs };

/** Client endpoints: WebSocket upgrades, SSE and HTTP streaming (docs/protocol.md). */
export function registerClientRoutes(node: SwitchboardNode): void {
  const { app, config, metrics } = node;
  const { stats } = metrics;
  const transport = new WebSocketTransport(config.limits.maxFrameBytes);
  const paths = { ...websocketPaths, ...(config.compat.push.enabled ? pushWebsocketPaths : {}) };

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://switchboard');
    const format = paths[url.pathname];
    if (format === undefined) {
      stats.error('not_found');
      refuseUpgrade(socket, 404, errorBody('not_found', `no WebSocket endpoint at ${url.pathname}`));
      return;
    }
    let channels;
    try {
      channels = node.admit(channelsFromQuery(url));
    } catch (err) {
      const error = asSwitchboardError(err);
      stats.error(error.code);
      refuseUpgrade(socket, error.httpStatus, errorBody(error.code, error.message));
      return;
    }
    transport.upgrade(req, socket, head, {
      open: (sink) => {
        const session = node.openSession({ format, sink, remote: remoteOf(req), channels });
        if (format === WireFormat.pushWs) session.enqueue(heartbeatBytes[WireFormat.pushWs]!);
        return sessionHandlers(node, session);
      },
    });
  });

  const streamRoute = (path: string, format: WireFormat, contentType: string, prelude?: Buffer) => {
    app.get(path, (req, reply) => {
      const url = new URL(req.url, 'http://switchboard');
      const channels = node.admit(channelsFromQuery(url));
      const lastEventId = req.headers['last-event-id'];
      const resumeFrom = typeof lastEventId === 'string' ? lastEventId : url.searchParams.get('cursor');
      const cursor = resumeFrom ? decodeCursor(resumeFrom) : undefined;
      reply.hijack();
      const res = reply.raw;
      startStream(res, contentType, prelude);
      const sink = new HttpStreamSink(res);
      const session = node.openSession({ format, sink, remote: remoteOf(req.raw), channels, cursor });
      if (format === WireFormat.sse) sink.cursor = () => node.hub.cursorOf(session);
      res.on('close', () => session.handleClosed());
    });
  };
  app.get('/poll', async (req) => {
    const url = new URL(req.url, 'http://switchboard');
    return longPoll(node, req.raw, url, node.admit(channelsFromQuery(url)));
  });
  streamRoute('/sse', WireFormat.sse, streamContentTypes.sse, Buffer.from(`retry: ${config.sessions.closeGracePeriod}\n\n`));
  streamRoute('/stream', WireFormat.ndjson, streamContentTypes.ndjson);
  if (config.compat.push.enabled) {
    streamRoute('/sse/messages', WireFormat.pushSse, streamContentTypes.sse, heartbeatBytes[WireFormat.pushSse]);
  }
}

function sessionHandlers(node: SwitchboardNode, session: Session) {
  const { stats } = node.metrics;
  return {
    message: (text: string) => {
      stats.messagesIn[session.format]! += 1;
      if (session.format === WireFormat.pushWs) {
        // Push clients only ever send {"event":"pong"}; anything else is ignored, as the seed does.
        return;
      }
      node.commands.handleMessage(session, text);
    },
    badInput: (reason: 'binary' | 'invalid_utf8') => {
      stats.messagesIn[session.format]! += 1;
      const message = reason === 'binary' ? 'binary frames are not accepted; send JSON text' : 'text frame is not valid UTF-8';
      node.commands.reject(session, new FrameError('bad_request', message));
    },
    tooLarge: () => {
      stats.limit('frame_size');
      stats.error('too_large');
    },
    activity: () => {
      session.lastSeen = Date.now();
    },
    closed: () => session.handleClosed(),
  };
}
