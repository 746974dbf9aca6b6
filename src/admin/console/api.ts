/** The console's calls to the node's documented /api routes, with the credential as a header. */

export type Role = 'admin' | 'read-only';

export interface WhoAmI {
  role: Role;
  via: string;
  subject?: string;
}

/** A refused call, with a message an operator can act on. */
export class ConsoleApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The expiry of a JWT credential, if it is one (keys are opaque strings). */
export function tokenExpiry(credential: string): Date | undefined {
  const parts = credential.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(atob(parts[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}

/** What a refused call means for the operator, from the status, the server's code and message. */
export function explainRefusal(status: number, code: string, serverMessage: string, credential: string): string {
  if (status === 401) {
    const expiry = tokenExpiry(credential);
    if (expiry && expiry.getTime() <= Date.now()) return `Your token expired at ${expiry.toLocaleString()}. Sign in with a new one.`;
    return `The node refused this key or token (${serverMessage}). Check it and sign in again.`;
  }
  if (status === 403)
    return `Not allowed: you are signed in with a read-only role, which sees everything but changes nothing. This needs an admin key or token. (${serverMessage})`;
  if (status === 404) return `Not found: ${serverMessage}`;
  if (status === 503) return `The node cannot do this right now: ${serverMessage}`;
  if (code === 'network') return serverMessage;
  return `${serverMessage} (${code}, HTTP ${status})`;
}

type Query = Record<string, string | number | undefined>;

export class ConsoleApi {
  constructor(
    private readonly credential: string,
    /** Called when the node says the credential is no longer valid. */
    private readonly onSignedOut: (message: string) => void,
  ) {}

  get<T>(path: string, query: Query = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
    const search = params.toString();
    return this.call<T>('GET', search ? `${path}?${search}` : path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.credential}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch {
      throw new ConsoleApiError(0, 'network', 'The node could not be reached. Is it running?');
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) return parsed as T;
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    const code = error?.code ?? 'internal';
    const message = explainRefusal(res.status, code, error?.message ?? res.statusText, this.credential);
    if (res.status === 401) this.onSignedOut(message);
    throw new ConsoleApiError(res.status, code, message);
  }
}

/** Asks the node who a credential is before the console keeps it. */
export async function whoAmI(credential: string): Promise<WhoAmI> {
  let refused: string | undefined;
  const api = new ConsoleApi(credential, (message) => (refused = message));
  try {
    return await api.get<WhoAmI>('/api/admin/whoami');
  } catch (err) {
    throw new Error(refused ?? (err as Error).message);
  }
}
