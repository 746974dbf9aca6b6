import { parseCursor, type Cursor, type Position } from '../protocol/types.js';
import { ReopeningTransport, authHeaders, channelQuery, errorOf, type ChannelTarget } from './transport.js';

interface PollAnswer {
  messages: { channel: string; data: unknown; offset: number; epoch: string }[];
  cursor: string;
  reset?: string[];
}

/**
 * Long-polling (`GET /poll`): one request after the other, each carrying the positions reached,
 * so any node can answer the next. The answers are turned into the frames a streaming connection
 * would carry (`welcome`, `subscribed` with `recovered`, `message`), so the client handles every
 * transport alike. Every channel must have history (namespace option historySize).
 */
export class LongPollTransport extends ReopeningTransport {
  readonly name = 'long-poll';
  private welcomed = false;
  /** Channels whose `subscribed` frame was given on this connection. */
  private readonly announced = new Set<string>();

  protected async run(abort: AbortController): Promise<void> {
    const { context } = this;
    try {
      while (!abort.signal.aborted) {
        const targets = context.channels();
        const res = await context.fetch(`${context.baseUrl}/poll?${channelQuery(targets)}`, { headers: authHeaders(context.token), signal: abort.signal });
        if (!res.ok) {
          const error = await errorOf(res);
          return this.finish(abort, { code: 1006, reason: error.message ?? res.statusText, status: res.status, error });
        }
        const answer = (await res.json()) as PollAnswer;
        if (abort.signal.aborted) return;
        // The same rule as the server's: a cursor is taken whole or not at all.
        const positions = parseCursor(answer.cursor);
        if (!positions) return this.finish(abort, { code: 1006, reason: 'the poll answer holds a malformed cursor' });
        this.deliver(targets, answer, positions);
      }
    } catch (err) {
      this.finish(abort, { code: 1006, reason: err instanceof Error ? err.message : 'poll failed' });
    }
  }

  private deliver(targets: ChannelTarget[], answer: PollAnswer, positions: Cursor): void {
    const { events } = this.context;
    if (!this.welcomed) {
      this.welcomed = true;
      events.frame({ type: 'welcome', session: '', user: '', node: '', heartbeat: 0, channels: targets.map((t) => t.channel) });
    }
    const reset = new Set(answer.reset ?? []);
    for (const name of [...this.announced]) if (!targets.some((t) => t.channel === name)) this.announced.delete(name);
    for (const { channel, since } of targets) {
      if (this.announced.has(channel) && !reset.has(channel)) continue;
      this.announced.add(channel);
      // The position before this answer's messages, so none of them looks like something already seen.
      const at: Position | undefined = reset.has(channel) || !since ? positions.get(channel) : since;
      events.frame({
        type: 'subscribed',
        channel,
        ...(since ? { recovered: !reset.has(channel) } : {}),
        ...(at ? { offset: at.offset, epoch: at.epoch } : {}),
      });
    }
    for (const message of answer.messages) events.frame({ type: 'message', ...message });
  }
}
