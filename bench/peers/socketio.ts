/**
 * Peer: Socket.IO 4, the websocket transport only. A client joins the rooms named in its
 * handshake query (`/socket.io/?EIO=4&transport=websocket&channels=a,b`) on connection; a
 * publication is `io.to(channel).emit('message', {channel, data})`, so clients receive
 * `42["message",{"channel":...,"data":...}]`. Same publish endpoint as Switchboard:
 *   POST /api/publish   {channel, data} or [{channel, data}, ...]
 */
import http from 'node:http';
import { Server } from 'socket.io';
import { handlePublish, listenArgs, sendJson } from './common.js';

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/api/publish') {
    handlePublish(req, res, (item) => {
      io.to(item.channel).emit('message', { channel: item.channel, data: item.data });
      return io.sockets.adapter.rooms.get(item.channel)?.size ?? 0;
    }).catch(() => res.destroy());
    return;
  }
  // Socket.IO answers its own path before this handler runs.
  if (req.url?.startsWith('/socket.io/')) return;
  sendJson(res, 404, { error: { code: 'not_found', message: 'not found' } });
});
server.keepAliveTimeout = 60_000;

const io = new Server(server, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
});

io.on('connection', (socket) => {
  const query = socket.handshake.query.channels;
  const channels = (Array.isArray(query) ? query.join(',') : (query ?? '')).split(',').filter((c) => c !== '');
  if (channels.length > 0) void socket.join(channels);
});

const { host, port } = listenArgs(process.argv.slice(2));
server.listen(port, host);
