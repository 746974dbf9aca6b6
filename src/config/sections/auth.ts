import { parseBoolean, parseBytes, parseDuration, parseEnum, parseInteger, parseString, parsePublicKeys, parseStringList, parseUrl, httpSchemes } from '../values.js';
import type { SchemaNode } from '../field.js';

/** How clients authenticate: JWTs, connect and disconnect hooks, privileged users. */
export const auth = {
  anonymous: {
    parse: parseBoolean,
    default: false,
    doc: 'accept connections without a token or connect hook answer, as the anonymous user; --demo makes it true unless it is set',
  },
  jwt: {
    secrets: { parse: parseStringList, default: [], secret: true, doc: 'HMAC secrets for HS256/HS384/HS512 client tokens; list several to rotate' },
    publicKeys: { parse: parsePublicKeys, default: [], doc: 'PEM public keys (SPKI) for RS256/ES256/EdDSA client tokens' },
    jwksUrl: { parse: (v) => parseUrl(v, httpSchemes), default: '', doc: 'JWKS URL to fetch token keys from (cached, refetched for unknown key ids)' },
    jwksCacheMaxAge: { parse: parseDuration, default: '10m', doc: 'how long fetched JWKS keys are used before they are fetched again' },
    jwksCooldown: { parse: parseDuration, default: '30s', doc: 'least time between two JWKS fetches (rate limit for unknown key ids)' },
    algorithms: {
      parse: (v): string[] => parseStringList(v).map((a) => parseEnum(a, ['HS256', 'HS384', 'HS512', 'RS256', 'ES256', 'EdDSA'] as const)),
      default: ['HS256', 'HS384', 'HS512', 'RS256', 'ES256', 'EdDSA'],
      doc: 'token algorithms accepted; none is never accepted',
    },
    issuer: { parse: parseString, default: '', doc: 'required iss claim; empty: not checked' },
    audience: { parse: parseString, default: '', doc: 'required aud claim; empty: not checked' },
    clockSkew: { parse: parseDuration, default: '30s', doc: 'tolerance for exp and nbf' },
    userClaim: { parse: parseString, default: 'sub', doc: 'claim that names the user' },
    cookie: { parse: parseString, default: 'switchboard_token', doc: 'cookie a browser may carry its token in' },
    maxTokenBytes: { parse: parseBytes, default: '8KiB', doc: 'largest token accepted' },
  },
  firstFrameTimeout: { parse: parseDuration, default: '5s', doc: 'how long a WebSocket may take to send its token in a first connect frame' },
  refreshGrace: { parse: parseDuration, default: '10s', doc: 'after a token expires, how long the client has to send a new one before the session is closed' },
  privilegedClaim: { parse: parseString, default: 'role', doc: "claim that marks privileged users (they may subscribe to other users' personal channels)" },
  privilegedValue: { parse: parseString, default: 'admin', doc: 'value of privilegedClaim (or an element of it) that makes a user privileged' },
  personalNamespace: { parse: parseString, default: 'user', doc: 'namespace of personal channels: every session of user U is subscribed to NAMESPACE:U' },
  hookTimeout: { parse: parseDuration, default: '2s', doc: 'timeout of subscribe and publish hook calls (they deny on timeout)' },
  connectHook: {
    url: { parse: (v) => parseUrl(v, httpSchemes), default: '', doc: 'URL asked before a connection is accepted (authorizer); empty: no hook' },
    timeout: { parse: parseDuration, default: '2s', doc: 'timeout of a connect hook call' },
    failOpen: { parse: parseBoolean, default: false, doc: 'accept connections as anonymous when the connect hook fails or times out (default: refuse)' },
  },
  disconnectHook: {
    url: { parse: (v) => parseUrl(v, httpSchemes), default: '', doc: 'URL told when a session ends; empty: no hook' },
    timeout: { parse: parseDuration, default: '2s', doc: 'timeout of one disconnect hook call' },
    retries: { parse: (v) => parseInteger(v, 0, 20), default: 3, doc: 'retries of a failed disconnect hook call, with growing delays' },
  },
} satisfies SchemaNode;
