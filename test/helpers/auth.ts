import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { connectWs } from './clients.js';
import { scrape } from './prometheus.js';

/** A signing key pair of one algorithm, with its public half as PEM (SPKI) and as a JWK. */
export interface SigningKey {
  alg: 'RS256' | 'ES256' | 'EdDSA';
  privateKey: CryptoKey;
  publicPem: string;
  publicJwk: JWK;
}

export async function signingKey(alg: SigningKey['alg'], kid?: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const publicJwk = { ...(await exportJWK(publicKey)), alg, use: 'sig', ...(kid ? { kid } : {}) };
  return { alg, privateKey, publicPem: await exportSPKI(publicKey), publicJwk };
}

export interface TokenOptions {
  /** Seconds from now; negative for a token that already expired. Leave out for no exp. */
  expiresIn?: number;
  /** Seconds from now the token becomes valid. */
  notBefore?: number;
  /** Seconds since the epoch; now when left out. */
  issuedAt?: number;
  issuer?: string;
  audience?: string;
  jti?: string;
  kid?: string;
}

const now = () => Math.floor(Date.now() / 1000);

function build(claims: JWTPayload, options: TokenOptions, header: { alg: string; kid?: string }): SignJWT {
  const jwt = new SignJWT(claims).setProtectedHeader(options.kid ? { ...header, kid: options.kid } : header).setIssuedAt(options.issuedAt ?? now());
  if (options.expiresIn !== undefined) jwt.setExpirationTime(now() + options.expiresIn);
  if (options.notBefore !== undefined) jwt.setNotBefore(now() + options.notBefore);
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  if (options.jti) jwt.setJti(options.jti);
  return jwt;
}

/** A JWT signed with an HMAC secret (HS256 unless told). */
export function hmacToken(secret: string, claims: JWTPayload, options: TokenOptions = {}, alg: 'HS256' | 'HS384' | 'HS512' = 'HS256'): Promise<string> {
  return build(claims, options, { alg }).sign(new TextEncoder().encode(secret));
}

/** A JWT signed with a private key of its own algorithm. */
export function keyToken(key: SigningKey, claims: JWTPayload, options: TokenOptions = {}): Promise<string> {
  return build(claims, options, { alg: key.alg }).sign(key.privateKey);
}

/** An unsecured JWT: header {"alg":"none"} and an empty signature. */
export function unsecuredToken(claims: JWTPayload): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iat: now(), ...claims })}.`;
}

/** The same token with its payload replaced (and the original signature kept). */
export function tamper(token: string, claims: JWTPayload): string {
  const [header, payload, signature] = token.split('.');
  const changed = { ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), ...claims };
  return `${header}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`;
}

export interface HookCall {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  at: number;
}

/** What a hook answers: a status and a body (JSON unless a string), after an optional delay; `hang` never answers. */
export interface HookAnswer {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
  hang?: boolean;
}

export interface HookServer {
  url: string;
  calls: HookCall[];
  stop(): Promise<void>;
}

/**
 * A real HTTP endpoint on the loopback interface standing in for a backend's hook (or a JWKS
 * endpoint): every request is recorded and answered by `answer`.
 */
export async function startHookServer(answer: (call: HookCall) => HookAnswer | Promise<HookAnswer>): Promise<HookServer> {
  const calls: HookCall[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (text += d));
    req.on('end', async () => {
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const call: HookCall = { path: req.url ?? '/', headers: req.headers, body, at: Date.now() };
      calls.push(call);
      const { status = 200, body: reply = {}, headers = {}, delayMs = 0, hang = false } = await answer(call);
      if (hang) return;
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(typeof reply === 'string' ? reply : JSON.stringify(reply));
      };
      if (delayMs <= 0) return send();
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A JWKS endpoint serving `keys` at /jwks.json, counting how often it is fetched. */
export async function startJwksServer(keys: JWK[]): Promise<HookServer & { keys: JWK[]; fetches(): number }> {
  const state = { keys };
  const server = await startHookServer(() => ({ body: { keys: state.keys } }));
  return {
    ...server,
    get keys() {
      return state.keys;
    },
    set keys(value: JWK[]) {
      state.keys = value;
    },
    fetches: () => server.calls.length,
  };
}

/** switchboard_auth_failures_total{reason} of a node. */
export async function authFailures(baseUrl: string, reason: string): Promise<number> {
  return (await scrape(baseUrl)).value('switchboard_auth_failures_total', { reason });
}

/** switchboard_hook_calls_total{hook,outcome} of a node. */
export async function hookCalls(baseUrl: string, hook: string, outcome: string): Promise<number> {
  return (await scrape(baseUrl)).value('switchboard_hook_calls_total', { hook, outcome });
}

/** The `Authorization: Bearer` header for a token. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Whether a WebSocket with this bearer token is welcomed (true) or refused with 401 (false). */
export async function wsAccepts(wsUrl: string, token: string): Promise<boolean> {
  try {
    const ws = await connectWs(`${wsUrl}/ws`, { headers: bearer(token) });
    await ws.next((f) => f.type === 'welcome');
    ws.close();
    return true;
  } catch (err) {
    if ((err as { status?: number }).status !== 401) throw err;
    return false;
  }
}
