import { randomBytes } from 'node:crypto';
import type { HistoryOptions, HistoryQuery, HistoryResult, Publication, StreamPosition } from '../broker.js';
import { brokerCall, channelKey, type RedisConnection } from './connection.js';

/**
 * History per channel: a stream (MAXLEN = historySize, expiry = historyTtl) and a hash with its
 * epoch and last offset, under the channel's hash tag. A publication is appended and published on
 * the channel's live pub/sub channel by one script, so offsets and live order agree.
 */
export class RedisHistory {
  constructor(
    private readonly connection: RedisConnection,
    private readonly prefix: string,
  ) {}

  /** Appends `body` (the encoded publication) and publishes it live; sets the publication's offset and epoch. */
  async append(pub: Publication, body: string, history: HistoryOptions): Promise<StreamPosition> {
    const [offset, epoch] = await brokerCall(() =>
      this.connection.commands.sbPublish(
        channelKey(this.prefix, pub.channel, 'stream'),
        channelKey(this.prefix, pub.channel, 'meta'),
        body,
        history.size,
        Math.ceil(history.ttl / 1000),
        randomBytes(4).toString('hex'),
        this.connection.liveChannel(pub.channel),
      ),
    );
    pub.offset = Number(offset);
    pub.epoch = epoch;
    return { offset: pub.offset, epoch };
  }

  async read(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    const [epoch, top, entries] = await brokerCall(() =>
      this.connection.commands.sbHistory(
        channelKey(this.prefix, channel, 'stream'),
        channelKey(this.prefix, channel, 'meta'),
        query.since ? String(query.since.offset) : '',
        query.since?.epoch ?? '',
        query.limit ?? -1,
        query.reverse ? '1' : '0',
      ),
    );
    const publications = entries.map(([id, fields]): Publication => {
      const body = JSON.parse(fields[1]!) as { c: string; d: unknown; t: number };
      return { channel, data: body.d, time: body.t, offset: Number(id.slice(0, id.indexOf('-'))), epoch };
    });
    return { publications, position: { offset: Number(top), epoch } };
  }
}
