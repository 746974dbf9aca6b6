import { DeliverPolicy, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { PresenceMember, PresenceStore } from '../broker.js';
import { token, type BrokerConnection } from './connection.js';
import { maxAgeOf, PRESENCE_MIN_MAX_AGE, presenceMaxAge } from './limits.js';
import { Serial } from './serial.js';

/**
 * Presence in the KV bucket `<prefix>_presence`, one key per channel and session holding the
 * member and its expiry; lists skip and delete (only if unchanged) entries past their expiry.
 * The bucket's max age is a safety net, well above any presence ttl.
 */
export class NatsPresence implements PresenceStore {
  private readonly bucket: string;
  private kv!: KV;
  private maxAge = 0;
  private readonly serial = new Serial();

  constructor(
    private readonly connection: BrokerConnection,
    base: string,
  ) {
    this.bucket = `${base}_presence`;
  }

  /** Opens (or creates) the bucket; once connected, before any other call. */
  async open(): Promise<void> {
    this.kv = await new Kvm(this.connection.js).create(this.bucket, { history: 1, ttl: PRESENCE_MIN_MAX_AGE, storage: StorageType.File });
    this.maxAge = maxAgeOf((await this.connection.jsm.streams.info(`KV_${this.bucket}`)).config);
  }

  private key(channel: string, session: string): string {
    return `${token(channel)}.${token(session)}`;
  }

  async add(channel: string, members: PresenceMember[], ttl: number): Promise<void> {
    if (members.length === 0) return;
    await this.connection.run(async () => {
      await this.ensureMaxAge(ttl);
      const e = Date.now() + ttl;
      await Promise.all(members.map((m) => this.kv.put(this.key(channel, m.session), JSON.stringify({ m, e }))));
    });
  }

  async remove(channel: string, sessions: string[]): Promise<void> {
    if (sessions.length === 0) return;
    await this.connection.run(() => Promise.all(sessions.map((s) => this.kv.delete(this.key(channel, s)))));
  }

  list(channel: string): Promise<PresenceMember[]> {
    return this.connection.run(() => this.read(channel));
  }

  private async ensureMaxAge(ttl: number): Promise<void> {
    const need = presenceMaxAge(ttl);
    if (this.maxAge >= need) return;
    await this.serial.run('max-age', async () => {
      if (this.maxAge >= need) return;
      const { jsm } = this.connection;
      const have = maxAgeOf((await jsm.streams.info(`KV_${this.bucket}`)).config);
      this.maxAge = have >= need ? have : maxAgeOf((await jsm.streams.update(`KV_${this.bucket}`, { max_age: need * 1e6 })).config);
    });
  }

  private async read(channel: string): Promise<PresenceMember[]> {
    const prefix = `$KV.${this.bucket}.`;
    const read = await this.connection.readStream(`KV_${this.bucket}`, `${prefix}${token(channel)}.*`, DeliverPolicy.LastPerSubject);
    // A write that lands while the stream is read arrives as a second entry for its key: the later one counts.
    const entries = new Map(read.map((entry) => [entry.subject, entry])).values();
    const now = Date.now();
    const members: PresenceMember[] = [];
    for (const entry of entries) {
      const operation = entry.headers?.get('KV-Operation');
      if (operation === 'DEL' || operation === 'PURGE') continue;
      let value: { m: PresenceMember; e: number };
      try {
        value = JSON.parse(Buffer.from(entry.data).toString('utf8')) as { m: PresenceMember; e: number };
      } catch {
        continue;
      }
      if (value.e > now) {
        members.push(value.m);
        continue;
      }
      // Expired: delete it, unless its node refreshed it meanwhile.
      this.kv.delete(this.key(channel, value.m.session), { previousSeq: entry.seq }).catch(() => {});
    }
    return members;
  }
}
