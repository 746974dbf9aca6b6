import { isServerFrame } from '../protocol/types.js';
import { readSse } from './sse-reader.js';
import { ReopeningTransport, authHeaders, channelQuery, errorOf } from './transport.js';

/**
 * Server-Sent Events over `fetch` (`GET /sse?channel=...&cursor=...`), read by the SDK so it works
 * in Node too and can send the token as a header. Changing the channels reopens the stream with the
 * current positions as its cursor, so channels with history lose nothing across the switch.
 */
export class SseTransport extends ReopeningTransport {
  readonly name = 'sse';

  protected async run(abort: AbortController): Promise<void> {
    const { context } = this;
    const url = `${context.baseUrl}/sse?${channelQuery(context.channels())}`;
    try {
      const res = await context.fetch(url, { headers: { accept: 'text/event-stream', ...authHeaders(context.token) }, signal: abort.signal });
      if (!res.ok || !res.body) {
        const error = await errorOf(res);
        return this.finish(abort, { code: 1006, reason: error.message ?? res.statusText, status: res.status, error });
      }
      await readSse(res.body, (event) => {
        if (abort.signal.aborted) return;
        let value: unknown;
        try {
          value = JSON.parse(event.data);
        } catch {
          return;
        }
        // Publications travel as `event: message` without a type: the event name carries it.
        const frame = event.event === 'message' && value !== null && typeof value === 'object' ? { type: 'message', ...value } : value;
        if (isServerFrame(frame)) context.events.frame(frame);
      });
      this.finish(abort, { code: 1006, reason: 'stream ended' });
    } catch (err) {
      this.finish(abort, { code: 1006, reason: err instanceof Error ? err.message : 'stream failed' });
    }
  }
}
