import type { ServerFrame } from './frames.js';
import type { Publication } from './publication.js';
import { messageJson, positionJson } from './frames.js';
import { wsTextFrame } from './ws-frame.js';

/**
 * Wire formats a session can speak. The hub encodes each publication once per format that has
 * subscribers on the channel, then hands the same bytes to every session of that format.
 */
export const WireFormat = {
  /** Native protocol over WebSocket: one JSON object per text frame. */
  ws: 0,
  /** Native protocol over Server-Sent Events. */
  sse: 1,
  /** Native protocol as newline-delimited JSON over HTTP streaming. */
  ndjson: 2,
  /** The Push-compatible WebSocket shape: {"event":"message","data":{"channel","message"}}. */
  pushWs: 3,
  /** The Push-compatible SSE shape: event:message / data:{"channel","message"}. */
  pushSse: 4,
  /** A held long-poll request: any publication only wakes it; the answer is read from history. */
  longPoll: 5,
  /** GraphQL over WebSocket (graphql-transport-ws): one result per operation, see src/graphql. */
  graphqlWs: 6,
  /** GraphQL over Server-Sent Events (graphql-sse, distinct connections). */
  graphqlSse: 7,
} as const;
export type WireFormat = (typeof WireFormat)[keyof typeof WireFormat];
/** Formats whose subscribers all get the same bytes of a publication; the others deliver it through a Hub deliverer. */
export type SharedFormat = Exclude<WireFormat, typeof WireFormat.graphqlWs | typeof WireFormat.graphqlSse>;
export const wireFormatCount = 8;
export const wireFormatNames = ['ws', 'sse', 'http-stream', 'push-ws', 'push-sse', 'long-poll', 'graphql-ws', 'graphql-sse'] as const;

const wakeUp = Buffer.alloc(0);

/**
 * Bytes of one publication in one wire format. `position` is positionJson() of the publication:
 * the offset and epoch of channels with history, '' otherwise.
 */
export function encodePublication(format: SharedFormat, channelJson: string, dataJson: string, position: string): Buffer {
  switch (format) {
    case WireFormat.ws:
      return wsTextFrame(messageJson(channelJson, dataJson, position));
    case WireFormat.sse:
      return Buffer.from(`event: message\ndata: {"channel":${channelJson},"data":${dataJson}${position}}\n\n`);
    case WireFormat.ndjson:
      return Buffer.from(`${messageJson(channelJson, dataJson, position)}\n`);
    case WireFormat.pushWs:
      return wsTextFrame(`{"event":"message","data":{"channel":${channelJson},"message":${dataJson}}}`);
    case WireFormat.pushSse:
      return Buffer.from(`event:message\ndata:{"channel":${channelJson},"message":${dataJson}}\n\n`);
    case WireFormat.longPoll:
      return wakeUp;
  }
}

/** Bytes of a protocol frame, or undefined for formats that do not carry it (the Push shapes). */
export function encodeControl(format: WireFormat, frame: ServerFrame): Buffer | undefined {
  switch (format) {
    case WireFormat.ws:
      return wsTextFrame(JSON.stringify(frame));
    case WireFormat.sse:
      return Buffer.from(`event: ${frame.type}\ndata: ${JSON.stringify(frame)}\n\n`);
    case WireFormat.ndjson:
      return Buffer.from(`${JSON.stringify(frame)}\n`);
    case WireFormat.pushWs:
    case WireFormat.pushSse:
    case WireFormat.longPoll:
    case WireFormat.graphqlWs:
    case WireFormat.graphqlSse:
      return undefined;
  }
}

/** Heartbeats that travel as data (WebSocket heartbeats of the native protocol are ping frames). */
export const heartbeatBytes: Record<WireFormat, Buffer | undefined> = {
  [WireFormat.ws]: undefined,
  [WireFormat.sse]: Buffer.from(': ping\n\n'),
  [WireFormat.ndjson]: Buffer.from('{"type":"ping"}\n'),
  [WireFormat.pushWs]: wsTextFrame('{"event":"ping","data":{}}'),
  [WireFormat.pushSse]: Buffer.from('event:heartbeat\ndata:{}\n\n'),
  [WireFormat.longPoll]: undefined,
  [WireFormat.graphqlWs]: undefined,
  [WireFormat.graphqlSse]: Buffer.from(':\n\n'),
};

/** Bytes of one publication for one session (history replay); the live fan-out shares encodings instead. */
export function encodeForSession(format: SharedFormat, pub: Publication): Buffer {
  return encodePublication(format, JSON.stringify(pub.channel), JSON.stringify(pub.data), positionJson(pub.offset, pub.epoch));
}
