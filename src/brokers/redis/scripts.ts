/**
 * Appends to the channel's stream and publishes in one atomic step, so offsets and live order agree.
 * KEYS: stream, meta. ARGV: payload, size, ttl seconds (0: none), epoch for a new stream, pub/sub channel.
 * `command` is `publish`, or `spublish` on a Cluster: the shard channel carries the channel's hash
 * tag, so the script's keys and its shard channel live in one slot, on one shard.
 */
const publishScript = (command: 'publish' | 'spublish') => `
local epoch = redis.call('hget', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[4]
  redis.call('del', KEYS[1])
  redis.call('hset', KEYS[2], 'e', epoch)
end
local offset = redis.call('hincrby', KEYS[2], 's', 1)
redis.call('xadd', KEYS[1], 'MAXLEN', ARGV[2], offset .. '-1', 'd', ARGV[1])
if ARGV[3] ~= '0' then
  redis.call('expire', KEYS[1], ARGV[3])
  redis.call('expire', KEYS[2], ARGV[3])
end
redis.call('${command}', ARGV[5], offset .. ':' .. epoch .. ':' .. ARGV[1])
return {offset, epoch}
`;

/**
 * Reads the stream position and a range in one atomic step.
 * KEYS: stream, meta. ARGV: since offset ('' for none), since epoch, limit (-1: all), reverse ('1').
 */
const historyScript = `
local meta = redis.call('hmget', KEYS[2], 'e', 's')
if not meta[1] then return {'', 0, {}} end
if ARGV[3] == '0' then return {meta[1], meta[2], {}} end
local after = '-'
if ARGV[1] ~= '' and ARGV[2] == meta[1] then after = '(' .. ARGV[1] .. '-1' end
local entries
if ARGV[4] == '1' then
  if ARGV[3] == '-1' then entries = redis.call('xrevrange', KEYS[1], '+', after)
  else entries = redis.call('xrevrange', KEYS[1], '+', after, 'COUNT', ARGV[3]) end
else
  if ARGV[3] == '-1' then entries = redis.call('xrange', KEYS[1], after, '+')
  else entries = redis.call('xrange', KEYS[1], after, '+', 'COUNT', ARGV[3]) end
end
return {meta[1], meta[2], entries}
`;

/** Drops expired presence entries, then lists the rest. KEYS: zset of expiries, hash of members. ARGV: now. */
const presenceListScript = `
local expired = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1])
if #expired > 0 then
  redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[1])
  redis.call('hdel', KEYS[2], unpack(expired))
end
return redis.call('hvals', KEYS[2])
`;

/** The broker's scripts as commands of its client. */
export interface BrokerScripts {
  sbPublish(stream: string, meta: string, payload: string, size: number, ttl: number, epoch: string, channel: string): Promise<[number, string]>;
  sbHistory(stream: string, meta: string, since: string, epoch: string, limit: number, reverse: string): Promise<[string, string | number, [string, string[]][]]>;
  sbPresenceList(zset: string, hash: string, now: number): Promise<string[]>;
}

/** The definitions of the broker's scripts for a client that publishes live messages with `command`. */
export function brokerScripts(command: 'publish' | 'spublish'): Record<keyof BrokerScripts, { numberOfKeys: number; lua: string }> {
  return {
    sbPublish: { numberOfKeys: 2, lua: publishScript(command) },
    sbHistory: { numberOfKeys: 2, lua: historyScript },
    sbPresenceList: { numberOfKeys: 2, lua: presenceListScript },
  };
}
