import type { PresenceMember, PresenceStore } from '../broker.js';
import { brokerCall, channelKey, type RedisConnection } from './connection.js';

/** Presence per channel: a sorted set of expiries and a hash of members, both under the channel's hash tag. */
export class RedisPresence implements PresenceStore {
  constructor(
    private readonly connection: RedisConnection,
    private readonly prefix: string,
  ) {}

  async add(channel: string, members: PresenceMember[], ttl: number): Promise<void> {
    if (members.length === 0) return;
    const expiresAt = Date.now() + ttl;
    const zset = channelKey(this.prefix, channel, 'presence');
    const hash = channelKey(this.prefix, channel, 'members');
    const keyTtl = Math.ceil((ttl * 2) / 1000);
    await brokerCall(() => {
      const batch = this.connection.commands.multi();
      for (const member of members) {
        batch.zadd(zset, expiresAt, member.session);
        batch.hset(hash, member.session, JSON.stringify(member));
      }
      return batch.expire(zset, keyTtl).expire(hash, keyTtl).exec();
    });
  }

  async remove(channel: string, sessions: string[]): Promise<void> {
    if (sessions.length === 0) return;
    await brokerCall(() =>
      this.connection.commands
        .multi()
        .zrem(channelKey(this.prefix, channel, 'presence'), ...sessions)
        .hdel(channelKey(this.prefix, channel, 'members'), ...sessions)
        .exec(),
    );
  }

  async list(channel: string): Promise<PresenceMember[]> {
    const values = await brokerCall(() =>
      this.connection.commands.sbPresenceList(channelKey(this.prefix, channel, 'presence'), channelKey(this.prefix, channel, 'members'), Date.now()),
    );
    return values.map((v) => JSON.parse(v) as PresenceMember);
  }
}
