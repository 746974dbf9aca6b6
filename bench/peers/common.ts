import type { IncomingMessage, ServerResponse } from 'node:http';

/** `--host H --port N` from argv (defaults 127.0.0.1 and 0). */
export function listenArgs(argv: string[]): { host: string; port: number } {
  let host = '127.0.0.1';
  let port = 0;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--host') host = argv[++i] ?? host;
    else if (argv[i] === '--port') port = Number(argv[++i] ?? 0);
  }
  return { host, port };
}

/** `?channels=a,b` as a list. */
export function channelsOf(url: URL): string[] {
  return url.searchParams
    .getAll('channels')
    .flatMap((v) => v.split(','))
    .filter((c) => c !== '');
}

export function readBody(req: IncomingMessage, limit = 1 << 20): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export interface PublishItem {
  channel: string;
  data: unknown;
}

function isItem(v: unknown): v is PublishItem {
  return v !== null && typeof v === 'object' && typeof (v as PublishItem).channel === 'string' && (v as PublishItem).data !== undefined;
}

/**
 * The publish endpoint shape shared with Switchboard: `POST /api/publish` with one `{channel, data}`
 * (answer `{channel, subscribers}`) or an array of them (answer `{results: [...]}`).
 */
export async function handlePublish(req: IncomingMessage, res: ServerResponse, publish: (item: PublishItem) => number): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    sendJson(res, 400, { error: { code: 'bad_request', message: 'body must be JSON' } });
    return;
  }
  const one = (item: unknown) => (isItem(item) ? { channel: item.channel, subscribers: publish(item) } : { error: { code: 'bad_request', message: 'expected {channel, data}' } });
  if (Array.isArray(body)) {
    sendJson(res, 200, { results: body.map(one) });
    return;
  }
  const result = one(body);
  sendJson(res, 'error' in result ? 400 : 200, result);
}
