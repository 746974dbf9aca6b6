import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { SwitchboardError } from '../errors.js';

/** An onRequest hook that admits requests carrying one of the configured API keys (constant-time compare). */
export function apiKeyCheck(config: Config['api']): (req: FastifyRequest) => Promise<void> {
  const keys = config.keys.map((k) => Buffer.from(k));
  const matches = (given: string): boolean => {
    const buf = Buffer.from(given);
    let found = false;
    for (const key of keys) if (key.length === buf.length && timingSafeEqual(key, buf)) found = true;
    return found;
  };
  return async (req) => {
    if (config.insecure) return;
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7) : req.headers['x-api-key'];
    if (typeof given !== 'string' || !matches(given)) {
      throw new SwitchboardError('unauthorized', 'a valid API key is required (Authorization: Bearer KEY or X-API-Key: KEY)');
    }
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
