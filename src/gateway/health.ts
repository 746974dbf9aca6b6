import net from 'node:net';
import { request } from 'undici';
import type { Upstream } from './upstreams.js';

function tcpCheck(upstream: Upstream, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const url = new URL(upstream.instance.url);
    const port = Number(url.port || (url.protocol === 'https:' || url.protocol === 'grpcs:' ? 443 : 80));
    let guard;
    try {
      guard = upstream.targets?.socketOptions(url.hostname, 'gateway');
    } catch {
      resolve(false);
      return;
    }
    const socket = net.connect({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port, timeout: timeoutMs, ...guard });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

async function httpCheck(upstream: Upstream, path: string, timeoutMs: number): Promise<boolean> {
  const base = new URL(upstream.instance.url.replace(/^grpc/, 'http'));
  const target = `${base.origin}${base.pathname.replace(/\/$/, '')}${path}`;
  try {
    const res = await request(target, {
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      ...(upstream.checkDispatcher && { dispatcher: upstream.checkDispatcher }),
    });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 400;
  } catch {
    return false;
  }
}

/** One active health check of an instance: http (2xx or 3xx on the path), tcp (connects) or grpc (grpc.health.v1 SERVING). */
export async function checkInstance(upstream: Upstream, timeoutMs: number): Promise<boolean> {
  const { check } = upstream.instance;
  switch (check.type) {
    case 'http':
      return httpCheck(upstream, check.path, timeoutMs);
    case 'tcp':
      return tcpCheck(upstream, timeoutMs);
    case 'grpc':
      return upstream.grpc ? upstream.grpc.healthy(timeoutMs) : false;
    case 'none':
      return true;
  }
}
