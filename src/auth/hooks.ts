import { Agent, request } from 'undici';
import { SwitchboardError } from '../protocol/errors.js';
import { BodyTooLarge, isTimeout, readBody } from '../outbound/read-body.js';
import { jsonNestedDeeperThan } from '../protocol/json-depth.js';

/** Most bytes of a hook's answer that are read; a larger answer is refused as garbage. */
const maxAnswerBytes = 256 * 1024;

const agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });

/** A hook call that did not produce a usable answer (timeout, connection error, non-2xx, not JSON). */
export class HookFailure extends Error {
  constructor(
    readonly outcome: 'error' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

/** POSTs a JSON body to a hook and returns its JSON object answer (nested at most `maxDepth` deep), or throws HookFailure. */
export async function callHook(url: string, body: unknown, timeoutMs: number, maxDepth: number): Promise<Record<string, unknown>> {
  let response;
  try {
    response = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const timedOut = isTimeout(err);
    throw new HookFailure(timedOut ? 'timeout' : 'error', timedOut ? `hook did not answer within ${timeoutMs} ms` : `hook unreachable: ${(err as Error).message}`);
  }
  let text: string;
  try {
    text = (await readBody(response.body, maxAnswerBytes)).toString('utf8');
  } catch (err) {
    if (err instanceof BodyTooLarge) throw new HookFailure('error', 'hook answer is too large');
    throw new HookFailure(isTimeout(err) ? 'timeout' : 'error', `hook answer could not be read: ${(err as Error).message}`);
  }
  if (response.statusCode < 200 || response.statusCode >= 300) throw new HookFailure('error', `hook answered HTTP ${response.statusCode}`);
  if (jsonNestedDeeperThan(text, maxDepth)) throw new HookFailure('error', `hook answer is nested deeper than ${maxDepth} levels (limits.maxJsonDepth)`);
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new HookFailure('error', 'hook answer is not JSON');
  }
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) throw new HookFailure('error', 'hook answer is not a JSON object');
  return answer as Record<string, unknown>;
}

/**
 * Calls a hook that decides (connect, subscribe, publish): its answer must be a JSON object with a
 * boolean `allow`. Anything else is garbage and fails like an error answer, never as a denial.
 */
export async function askHook(url: string, body: unknown, timeoutMs: number, maxDepth: number): Promise<Record<string, unknown> & { allow: boolean }> {
  const answer = await callHook(url, body, timeoutMs, maxDepth);
  if (typeof answer.allow !== 'boolean') throw new HookFailure('error', 'hook answer has no boolean "allow"');
  return answer as Record<string, unknown> & { allow: boolean };
}

/** A denial as the client sees it: the hook's reason when it gave one. */
export function denied(answer: Record<string, unknown>, what: string): SwitchboardError {
  const reason = typeof answer.reason === 'string' ? answer.reason.slice(0, 200) : `${what} denied`;
  return new SwitchboardError('forbidden', reason);
}
