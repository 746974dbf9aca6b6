import { createClient, type Client, type ClientOptions } from 'graphql-ws';
import WebSocket from 'ws';

/** A graphql-ws client of a node's /graphql (no retries: a test sees every close). */
export function graphqlWsClient(wsUrl: string, options: Partial<ClientOptions> = {}): Client {
  return createClient({ url: `${wsUrl}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, ...options });
}

export interface Result {
  data?: any;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** One operation's results as they arrive, and how it ended. */
export interface Operation {
  /** The next result not taken yet, waiting for it up to timeoutMs. */
  next(timeoutMs?: number): Promise<Result>;
  results: Result[];
  /** Settles when the operation completes (undefined) or fails (its error). */
  ended: Promise<unknown>;
  stop(): void;
}

export function run(client: Client, query: string, variables?: Record<string, unknown>): Operation {
  const results: Result[] = [];
  let taken = 0;
  let wake: (() => void) | undefined;
  let end!: (error: unknown) => void;
  const ended = new Promise<unknown>((resolve) => (end = resolve));
  const stop = client.subscribe<any>(
    { query, variables },
    {
      next: (result) => {
        results.push(result as Result);
        wake?.();
      },
      error: (error) => {
        end(error);
        wake?.();
      },
      complete: () => {
        end(undefined);
        wake?.();
      },
    },
  );
  let finished = false;
  void ended.then(() => (finished = true));
  return {
    results,
    ended,
    stop,
    async next(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (taken >= results.length) {
        if (finished) throw new Error(`the operation ended; results: ${JSON.stringify(results)}; ${String(await ended)}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no result within ${timeoutMs} ms; results so far: ${JSON.stringify(results)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return results[taken++]!;
    },
  };
}

/** Runs a query or mutation to its one result. */
export async function once(client: Client, query: string, variables?: Record<string, unknown>): Promise<Result> {
  const op = run(client, query, variables);
  const result = await op.next();
  await op.ended;
  return result;
}
