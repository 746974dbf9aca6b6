/**
 * Lua scripts of the Redis topic store. Each runs atomically, so a node that dies between two
 * steps never leaves a message delivered but without a redelivery timer.
 *
 * Keys of one topic share the hash tag `{topic}`: stream (the log, field `m` the message JSON,
 * `at` its delivery time, `k` its ordering key), cfg (hash: retention). Keys of a subscription:
 * scfg (hash: deadline, max, ordered, gen), due (sorted set: entry id -> ms when it may be handed
 * out; holds every pending entry), owner (hash: ordering key -> the entry holding it), wait (sorted
 * set, all score 0: `key\n<padded id>` of entries queued behind their key's holder).
 *
 * Attempt counts are the consumer group's delivery counters (XPENDING); they are set explicitly
 * with XCLAIM RETRYCOUNT so that parking a delayed or queued entry does not count as an attempt.
 */

const helpers = `
local function pad(id)
  local ms, seq = string.match(id, '(%d+)-(%d+)')
  return string.rep('0', 16 - #ms) .. ms .. '-' .. string.rep('0', 20 - #seq) .. seq
end
local function unpad(p)
  local ms, seq = string.match(p, '(%d+)-(%d+)')
  return (string.gsub(ms, '^0+(%d)', '%1')) .. '-' .. (string.gsub(seq, '^0+(%d)', '%1'))
end
local function fields(entry)
  local f = {}
  if entry then for i = 1, #entry, 2 do f[entry[i]] = entry[i + 1] end end
  return f
end
local function entry_fields(stream, id)
  local found = redis.call('xrange', stream, id, id)
  if #found == 0 then return nil end
  return fields(found[1][2])
end
-- Hands an ordering key to the next entry queued behind it, or frees it.
local function release(owner, wait, due, stream, key, id, now)
  if redis.call('hget', owner, key) ~= id then return end
  local nxt = redis.call('zrangebylex', wait, '[' .. key .. '\\n', '[' .. key .. '\\n\\255', 'LIMIT', 0, 1)[1]
  if not nxt then
    redis.call('hdel', owner, key)
    return
  end
  redis.call('zrem', wait, nxt)
  local nid = unpad(string.sub(nxt, #key + 2))
  redis.call('hset', owner, key, nid)
  local f = entry_fields(stream, nid) or {}
  redis.call('zadd', due, math.max(now, tonumber(f['at'] or '0')), nid)
end
`;

/**
 * Appends messages, each at most once per idempotency key within the window.
 * KEYS: stream, cfg. ARGV: window ms, idempotency key prefix, then per message: idempotency key
 * ('' none), message id, message JSON, delivery time ('' none), ordering key ('' none).
 * Returns false for an unknown topic, else per message {stream id, message id or '', 1 if duplicate}.
 */
export const appendScript = `
if redis.call('exists', KEYS[2]) == 0 then return false end
local out = {}
for i = 3, #ARGV, 5 do
  local key, msgid, payload, at, ordering = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local seen = false
  if key ~= '' then seen = redis.call('get', ARGV[2] .. key) end
  if seen then
    out[#out + 1] = {string.match(seen, '^(%S+) '), string.match(seen, ' (%S+)$'), 1}
  else
    local args = {'m', payload}
    if at ~= '' then args[#args + 1] = 'at'; args[#args + 1] = at end
    if ordering ~= '' then args[#args + 1] = 'k'; args[#args + 1] = ordering end
    local id = redis.call('xadd', KEYS[1], '*', unpack(args))
    if key ~= '' then redis.call('set', ARGV[2] .. key, id .. ' ' .. msgid, 'PX', ARGV[1]) end
    out[#out + 1] = {id, '', 0}
  end
end
return out
`;

/**
 * Takes new entries into the subscription and hands out due ones.
 * KEYS: stream, scfg, due, owner, wait. ARGV: group, now ms, max.
 * Returns false for an unknown subscription, else {gen, deliveries, dead}: deliveries are
 * {id, attempt, message JSON, publish ms}, dead are {id, attempts, message JSON} for entries that
 * ran out of attempts (the caller moves them to the dead-letter topic, then acknowledges them).
 */
export const pullScript = `${helpers}
local cfg = redis.call('hmget', KEYS[2], 'deadline', 'max', 'ordered', 'gen')
if not cfg[1] then return false end
local deadline, maxAttempts, ordered = tonumber(cfg[1]), tonumber(cfg[2]), cfg[3] == '1'
local group, now, max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local fresh = redis.call('xreadgroup', 'GROUP', group, 'c', 'COUNT', max, 'STREAMS', KEYS[1], '>')
if fresh then
  for _, e in ipairs(fresh[1][2]) do
    local id, f = e[1], fields(e[2])
    redis.call('xclaim', KEYS[1], group, 'c', 0, id, 'RETRYCOUNT', 0, 'JUSTID')
    local key = f['k']
    if ordered and key and redis.call('hsetnx', KEYS[4], key, id) == 0 then
      redis.call('zadd', KEYS[5], 0, key .. '\\n' .. pad(id))
    else
      redis.call('zadd', KEYS[3], math.max(now, tonumber(f['at'] or '0')), id)
    end
  end
end
local deliveries, dead = {}, {}
local due = redis.call('zrangebyscore', KEYS[3], '-inf', now, 'LIMIT', 0, max)
for _, id in ipairs(due) do
  local pending = redis.call('xpending', KEYS[1], group, id, id, 1)[1]
  local f = entry_fields(KEYS[1], id)
  if not pending or not f then
    -- acknowledged elsewhere or removed by retention
    redis.call('zrem', KEYS[3], id)
    if pending then redis.call('xack', KEYS[1], group, id) end
    if f and f['k'] and ordered then release(KEYS[4], KEYS[5], KEYS[3], KEYS[1], f['k'], id, now) end
  else
    local attempts = tonumber(pending[4])
    local ms = string.match(id, '^(%d+)')
    if maxAttempts > 0 and attempts >= maxAttempts then
      redis.call('zadd', KEYS[3], now + deadline, id)
      dead[#dead + 1] = {id, attempts, f['m']}
    else
      redis.call('xclaim', KEYS[1], group, 'c', 0, id, 'RETRYCOUNT', attempts + 1, 'JUSTID')
      redis.call('zadd', KEYS[3], now + deadline, id)
      deliveries[#deliveries + 1] = {id, attempts + 1, f['m'], ms}
    end
  end
end
return {cfg[4], deliveries, dead}
`;

/**
 * Acknowledges, nacks or extends deliveries named by {entry id, attempt}.
 * KEYS: stream, scfg, due, owner, wait. ARGV: group, now, action ('ack' | 'due', or 'release': due
 * without counting the delivery as an attempt), due ms (for 'due' and 'release'), generation, then pairs of entry id and attempt. Returns per pair 'ok', 'unknown' or
 * 'expired', or false for an unknown subscription.
 */
export const settleScript = `${helpers}
local cfg = redis.call('hmget', KEYS[2], 'gen', 'ordered')
if not cfg[1] then return false end
local group, now, action, dueAt = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local out = {}
for i = 6, #ARGV, 2 do
  local id, attempt = ARGV[i], tonumber(ARGV[i + 1])
  local pending = ARGV[5] == cfg[1] and redis.call('xpending', KEYS[1], group, id, id, 1)[1]
  local scheduled = pending and redis.call('zscore', KEYS[3], id)
  if not pending or not scheduled then
    out[#out + 1] = 'unknown'
  elseif tonumber(pending[4]) ~= attempt then
    out[#out + 1] = 'expired'
  elseif action == 'ack' then
    redis.call('xack', KEYS[1], group, id)
    redis.call('zrem', KEYS[3], id)
    if cfg[2] == '1' then
      local f = entry_fields(KEYS[1], id)
      if f and f['k'] then release(KEYS[4], KEYS[5], KEYS[3], KEYS[1], f['k'], id, now) end
    end
    out[#out + 1] = 'ok'
  else
    redis.call('zadd', KEYS[3], dueAt, id)
    if action == 'release' then redis.call('xclaim', KEYS[1], group, 'c', 0, id, 'RETRYCOUNT', attempt - 1, 'JUSTID') end
    out[#out + 1] = 'ok'
  end
end
return out
`;

/**
 * Moves a subscription's cursor: recreates its consumer group after `ARGV[2]` (entries after that id
 * are undelivered), forgets every pending entry and bumps the generation so old ack ids are unknown.
 * KEYS: stream, scfg, due, owner, wait. ARGV: group, last delivered id.
 */
export const seekScript = `
if redis.call('exists', KEYS[2]) == 0 then return false end
redis.call('xgroup', 'destroy', KEYS[1], ARGV[1])
redis.call('xgroup', 'create', KEYS[1], ARGV[1], ARGV[2], 'MKSTREAM')
redis.call('del', KEYS[3], KEYS[4], KEYS[5])
return redis.call('hincrby', KEYS[2], 'gen', 1)
`;
