import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import { ownedTempDir } from './processes.js';
import { tool } from './tools.js';

export interface Certificate {
  cert: string;
  key: string;
}

/** A directory of self-signed certificates for localhost and 127.0.0.1, made with openssl; `remove()` deletes it. */
export function certificateDir(): { dir: string; make(name: string): Certificate; remove(): void } {
  const dir = ownedTempDir('switchboard-tls-');
  return {
    dir,
    make(name) {
      const cert = join(dir, `${name}.crt`);
      const key = join(dir, `${name}.key`);
      execFileSync(
        tool('openssl'),
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-keyout',
          key,
          '-out',
          cert,
          '-subj',
          `/CN=${name}`,
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      return { cert, key };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The common name of the certificate a TLS server presents to a new connection. */
export function servedName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false }, () => {
      const name = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(String(name));
    });
    socket.on('error', reject);
  });
}

/** An HTTPS request over HTTP/1.1 that trusts any certificate. */
export function httpsRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: options.method ?? 'GET', headers: options.headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** An HTTP/2 session to a TLS node that trusts any certificate. */
export async function connectH2(port: number): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}
