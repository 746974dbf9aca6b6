import type { ServerResponse } from 'node:http';
import { continuesFrom, type Publication, type StreamPosition } from '../brokers/broker.js';
import type { Identity } from '../auth/identity.js';
import type { ResolvedChannel } from '../channels/channels.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { Broker } from '../brokers/broker.js';
import type { Config } from '../config/schema.js';
import type { SessionService } from '../sessions/service.js';
import { decodeCursor, encodeCursor, type Cursor } from '../protocol/cursor.js';
import { WireFormat } from '../protocol/wire.js';
import type { Sink } from '../sessions/sink.js';

export interface PollAnswer {
  messages: { channel: string; data: unknown; offset: number; epoch: string }[];
  /** Pass back as `cursor` on the next poll (to any node). */
  cursor: string;
  /** Channels whose position could not be continued (history window exceeded or epoch changed): reload their state. */
  reset?: string[];
}

/** A held poll request as a session sink: the first publication (or the end) wakes it up. */
class PollSink implements Sink {
  readonly answersPings = false;
  private wake: () => void = () => {};
  readonly woken = new Promise<void>((resolve) => (this.wake = resolve));

  write(): void {
    this.wake();
  }

  bufferedBytes(): number {
    return 0;
  }

  ping(): void {}

  end(): void {
    this.wake();
  }

  destroy(): void {
    this.wake();
  }
}

/** Reads what each channel holds after the cursor, within `maxMessages` in all. */
async function readAfter(deps: LongPollDeps, channels: ResolvedChannel[], cursor: Cursor): Promise<PollAnswer> {
  const messages: PollAnswer['messages'] = [];
  const positions: [string, StreamPosition][] = [];
  const reset: string[] = [];
  const max = deps.config.longPoll.maxMessages;
  for (const channel of channels) {
    const since = cursor.get(channel.name);
    const room = max - messages.length;
    if (since && room <= 0) {
      // The answer is full: this channel keeps its place for the next poll.
      positions.push([channel.name, since]);
      continue;
    }
    const result = await deps.broker.history(channel.name, since ? { since, limit: room } : { limit: 0 });
    if (since && !continuesFrom(since, result)) reset.push(channel.name);
    if (!since || reset.includes(channel.name)) {
      positions.push([channel.name, result.position]);
      continue;
    }
    const taken: Publication[] = result.publications;
    for (const pub of taken) messages.push({ channel: pub.channel, data: pub.data, offset: pub.offset!, epoch: pub.epoch! });
    const last = taken[taken.length - 1];
    positions.push([channel.name, last ? { offset: last.offset!, epoch: last.epoch! } : since]);
  }
  const answer: PollAnswer = { messages, cursor: encodeCursor(positions) };
  if (reset.length > 0) answer.reset = reset;
  return answer;
}

/** What a long poll needs: its limits, channel history and a session while it waits. */
export interface LongPollDeps {
  config: Pick<Config, 'longPoll'>;
  broker: Pick<Broker, 'history'>;
  sessions: Pick<SessionService, 'open'>;
}

/**
 * `GET /poll?channels=a,b&cursor=C`: answers at once when publications after the cursor are
 * waiting (or the cursor is new or broken), otherwise holds the request up to longPoll.timeout.
 * The cursor is made of history positions, so the next poll may land on any node.
 */
export async function longPoll(deps: LongPollDeps, remote: string, res: ServerResponse, url: URL, channels: ResolvedChannel[], identity: Identity): Promise<PollAnswer> {
  for (const channel of channels) {
    if (channel.options.historySize === 0) {
      throw new SwitchboardError('bad_request', `long-polling needs history on ${channel.name} (namespace option historySize)`);
    }
  }
  const cursorText = url.searchParams.get('cursor');
  const cursor = cursorText ? decodeCursor(cursorText) : new Map<string, StreamPosition>();
  const first = await readAfter(deps, channels, cursor);
  if (first.messages.length > 0 || first.reset || channels.some((c) => !cursor.has(c.name))) return first;

  const sink = new PollSink();
  const session = deps.sessions.open({ format: WireFormat.longPoll, sink, remote, channels, identity });
  const timer = setTimeout(() => sink.end(), deps.config.longPoll.timeout);
  const onClientGone = () => sink.destroy();
  // The response, not the socket: over HTTP/2 the socket is shared by every stream of the connection.
  res.once('close', onClientGone);
  // Subscribing learns history positions; anything published since the first read wakes the poll too.
  const again = await readAfter(deps, channels, cursor);
  if (again.messages.length === 0 && !again.reset) await sink.woken;
  clearTimeout(timer);
  res.off('close', onClientGone);
  session.handleClosed();
  return again.messages.length > 0 || again.reset ? again : readAfter(deps, channels, cursor);
}
