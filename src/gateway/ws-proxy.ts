import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { downstreamHeaders } from './headers.js';
import { classify } from './http-proxy.js';
import type { Upstream } from './upstreams.js';

/** Largest body of a refused upstream handshake passed on to the client. */
const MAX_REFUSAL_BODY = 64 * 1024;

/** Joins two sockets; when one closes the other is ended once what it still has to send is flushed. */
function splice(a: Duplex, b: Duplex): void {
  const fail = () => {
    a.destroy();
    b.destroy();
  };
  const closeOther = (other: Duplex) => () => {
    if (other.destroyed) return;
    other.once('finish', () => other.destroy());
    other.end();
  };
  a.on('error', fail);
  b.on('error', fail);
  a.on('close', closeOther(b));
  b.on('close', closeOther(a));
  (a as Socket).setNoDelay?.(true);
  (b as Socket).setNoDelay?.(true);
  a.pipe(b);
  b.pipe(a);
}

/**
 * Carries a WebSocket (or any Upgrade) handshake to an HTTP instance; when it answers 101 the two
 * sockets are joined and bytes flow both ways untouched. A refusal (any other status) is passed
 * on to the client. Resolves with the instance's status; rejects with an UpstreamError when the
 * instance cannot be reached or does not answer within `timeout`.
 */
export function proxyUpgrade(up: Upstream, path: string, headers: OutgoingHttpHeaders, timeout: number, client: Duplex, head: Buffer): Promise<number> {
  const url = new URL(up.instance.url);
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    let guard;
    try {
      guard = up.targets?.socketOptions(url.hostname, 'gateway');
    } catch (err) {
      reject(classify(err, false));
      return;
    }
    const req = (secure ? https : http).request({
      ...guard,
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port || (secure ? 443 : 80),
      method: 'GET',
      path,
      headers,
      agent: false,
      timeout,
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error('handshake timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' })));
    req.once('error', (err) => reject(classify(err, false)));
    req.once('upgrade', (res: IncomingMessage, socket: Socket, upstreamHead: Buffer) => {
      socket.setTimeout(0);
      let text = `HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}\r\n`;
      for (let i = 0; i < res.rawHeaders.length; i += 2) text += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
      client.write(`${text}\r\n`);
      if (upstreamHead.length > 0) client.write(upstreamHead);
      if (head.length > 0) socket.write(head);
      splice(client, socket);
      resolve(101);
    });
    req.once('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_REFUSAL_BODY) chunks.push(chunk);
      });
      res.once('end', () => {
        const body = Buffer.concat(chunks);
        const status = res.statusCode ?? 502;
        const out = downstreamHeaders(res.headers);
        delete out['content-length'];
        let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
        for (const [name, value] of Object.entries(out)) for (const v of Array.isArray(value) ? value : [value]) text += `${name}: ${v}\r\n`;
        client.end(Buffer.concat([Buffer.from(`${text}content-length: ${body.length}\r\nconnection: close\r\n\r\n`), body]));
        resolve(status);
      });
      res.once('error', (err) => reject(classify(err, true)));
    });
    req.end();
  });
}
