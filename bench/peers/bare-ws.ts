/**
 * Peer: the practical ceiling for a plain Node server. `node:http` + `ws`, channel -> Set of
 * sockets, and on publish one pre-serialised string sent to every subscriber (`ws.send` per
 * socket; `res.write` per SSE response). Same endpoints and message shapes as Switchboard's
 * native protocol, so the load generator is identical:
 *   GET /ws?channels=a,b   WebSocket: {"type":"welcome",...} then {"type":"message","channel","data"}
 *   GET /sse?channels=a    SSE: event: welcome, then event: message / data: {"channel","data"}
 *   POST /api/publish      {channel, data} or [{channel, data}, ...]
 */
import http from 'node:http';
import type { ServerResponse } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { channelsOf, handlePublish, listenArgs, sendJson } from './common.js';

const wsByChannel = new Map<string, Set<WebSocket>>();
const sseByChannel = new Map<string, Set<ServerResponse>>();
let nextSession = 1;

function add<T>(map: Map<string, Set<T>>, channel: string, member: T): void {
  let set = map.get(channel);
  if (!set) map.set(channel, (set = new Set()));
  set.add(member);
}

function remove<T>(map: Map<string, Set<T>>, channels: string[], member: T): void {
  for (const channel of channels) {
    const set = map.get(channel);
    if (!set) continue;
    set.delete(member);
    if (set.size === 0) map.delete(channel);
  }
}

function publish(item: { channel: string; data: unknown }): number {
  const channelJson = JSON.stringify(item.channel);
  const dataJson = JSON.stringify(item.data);
  let reached = 0;
  const sockets = wsByChannel.get(item.channel);
  if (sockets) {
    const text = `{"type":"message","channel":${channelJson},"data":${dataJson}}`;
    for (const ws of sockets) ws.send(text);
    reached += sockets.size;
  }
  const streams = sseByChannel.get(item.channel);
  if (streams) {
    const text = `event: message\ndata: {"channel":${channelJson},"data":${dataJson}}\n\n`;
    for (const res of streams) res.write(text);
    reached += streams.size;
  }
  return reached;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://peer');
  if (req.method === 'POST' && url.pathname === '/api/publish') {
    handlePublish(req, res, publish).catch(() => res.destroy());
    return;
  }
  if (req.method === 'GET' && url.pathname === '/sse') {
    const channels = channelsOf(url);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.socket?.setNoDelay(true);
    res.write(`event: welcome\ndata: ${JSON.stringify({ type: 'welcome', session: String(nextSession++), channels })}\n\n`);
    for (const channel of channels) add(sseByChannel, channel, res);
    res.on('close', () => remove(sseByChannel, channels, res));
    return;
  }
  sendJson(res, 404, { error: { code: 'not_found', message: 'not found' } });
});
server.keepAliveTimeout = 60_000;

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url ?? '/', 'http://peer');
  if (url.pathname !== '/ws') {
    socket.destroy();
    return;
  }
  const channels = channelsOf(url);
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.send(JSON.stringify({ type: 'welcome', session: String(nextSession++), channels }));
    for (const channel of channels) add(wsByChannel, channel, ws);
    ws.on('close', () => remove(wsByChannel, channels, ws));
    ws.on('error', () => ws.terminate());
  });
});

const { host, port } = listenArgs(process.argv.slice(2));
server.listen(port, host);
