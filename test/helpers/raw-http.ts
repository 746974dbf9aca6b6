import net from 'node:net';

export interface RawAnswer {
  /** The status of the answer, or 0 when the server closed (or stayed silent) without one. */
  status: number;
  /** The response head and whatever followed it in the same reads. */
  text: string;
  /** What followed the head: the whole body when the answer had a Content-Length. */
  body: string;
}

export interface RawRequest {
  method: string;
  /** Path and query, sent as they are (no encoding). */
  target: string;
  headers?: string[];
  body?: string;
  /** Ask for a WebSocket upgrade. */
  upgrade?: boolean;
  /** The local address to connect from (another loopback address stands for another client IP). */
  localAddress?: string;
}

/**
 * Sends one request byte for byte over TCP (no client library normalising it) and resolves with
 * the status line once the response head arrived, the connection closed or `timeoutMs` passed.
 */
export function rawHttp(port: number, req: RawRequest, timeoutMs = 3000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: req.localAddress });
    let received = '';
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
      const end = received.indexOf('\r\n\r\n');
      resolve({ status: match ? Number(match[1]) : 0, text: received, body: end === -1 ? '' : received.slice(end + 4) });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      // A body of known length is waited for; a stream's first bytes are not.
      const length = /\r\ncontent-length: *(\d+)/i.exec(received.slice(0, end));
      if (!length || received.length - end - 4 >= Number(length[1])) finish();
    });
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const lines = [`${req.method} ${req.target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...(req.headers ?? [])];
    if (req.upgrade) lines.push('Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==');
    else lines.push('Connection: close');
    if (body) lines.push(`Content-Length: ${body.length}`);
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body ?? Buffer.alloc(0)]));
  });
}
