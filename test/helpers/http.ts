import assert from 'node:assert/strict';

/** HTTP requests with any method, for API tests; the body is JSON unless it is a string. */
export async function request(
  method: string,
  url: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** Asserts the one shape every error answer has: {"error":{"code","message"}} and nothing else. */
export function assertErrorBody(body: unknown, code: string): void {
  assert.ok(body !== null && typeof body === 'object', `error body is an object: ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(body), ['error'], `error body has only "error": ${JSON.stringify(body)}`);
  const error = (body as { error: Record<string, unknown> }).error;
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message'], JSON.stringify(body));
  assert.equal(error.code, code, JSON.stringify(body));
  assert.equal(typeof error.message, 'string');
  assert.ok((error.message as string).length > 0);
}
