// Lua scripts of the Redis work queue. Each runs atomically on the server, so a claim, a completion or a
// take-back never interleaves with another node's. Keys of a request are derived inside the scripts from
// the prefix (ARGV[1]): the queue needs one Redis (or a Sentinel pair), not Redis Cluster.
//
// Layout under `hangar:q:`: `app:<owner>/<app>` sorted set of waiting ids (score: band then acceptance
// time), `w:<id>` hash (w = work JSON, s = score, z = app set key, st = q|c, t = token, n = node,
// l = lease end), `leases` sorted set of claimed ids by lease end, `token` the fencing counter.

/** KEYS: app set, leases, token. ARGV: prefix, node, leaseUntil. → {id, token, work} or nil. */
export const CLAIM = `
local ids = redis.call('ZRANGE', KEYS[1], 0, 0)
if #ids == 0 then return false end
local id = ids[1]
redis.call('ZREM', KEYS[1], id)
local wk = ARGV[1] .. 'w:' .. id
local token = redis.call('INCR', KEYS[3])
redis.call('HSET', wk, 'st', 'c', 't', token, 'n', ARGV[2], 'l', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], id)
return {id, token, redis.call('HGET', wk, 'w')}
`;

/** KEYS: work hash, app set. ARGV: work JSON, score, id. → 1 when added, 0 when known. */
export const ENQUEUE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'w', ARGV[1], 's', ARGV[2], 'z', KEYS[2], 'st', 'q')
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
`;

/** KEYS: work hash, leases. ARGV: token, leaseUntil, id. → 1 when the token still holds it. */
export const RENEW = `
if redis.call('HGET', KEYS[1], 't') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'st') ~= 'c' then return 0 end
redis.call('HSET', KEYS[1], 'l', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
`;

/** KEYS: work hash, leases. ARGV: token, id. → 1 when the token held it (now gone). */
export const COMPLETE = `
if redis.call('HGET', KEYS[1], 't') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'st') ~= 'c' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
`;

/** KEYS: work hash, leases. ARGV: token, id, new work JSON. → 1 when put back at its place. */
export const REQUEUE = `
if redis.call('HGET', KEYS[1], 't') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'st') ~= 'c' then return 0 end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], 'st', 'q', 'w', ARGV[3])
redis.call('HDEL', KEYS[1], 't', 'n', 'l')
local f = redis.call('HMGET', KEYS[1], 'z', 's')
redis.call('ZADD', f[1], f[2], ARGV[2])
return 1
`;

/** KEYS: work hash. ARGV: id. → the work JSON when it was waiting (now removed), else nil. */
export const REMOVE = `
local f = redis.call('HMGET', KEYS[1], 'st', 'z', 'w')
if f[1] ~= 'q' then return false end
redis.call('ZREM', f[2], ARGV[1])
redis.call('DEL', KEYS[1])
return f[3]
`;

/** KEYS: work hash. ARGV: id. → 0-based rank, or -1 when not waiting. */
export const POSITION = `
local f = redis.call('HMGET', KEYS[1], 'st', 'z')
if f[1] ~= 'q' then return -1 end
local r = redis.call('ZRANK', f[2], ARGV[1])
if r == false then return -1 end
return r
`;

/** KEYS: app set. ARGV: prefix. → work JSONs in queue order (all removed). */
export const FLUSH = `
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for i, id in ipairs(ids) do
  local wk = ARGV[1] .. 'w:' .. id
  out[i] = redis.call('HGET', wk, 'w')
  redis.call('DEL', wk)
end
redis.call('DEL', KEYS[1])
return out
`;

/** KEYS: leases, token. ARGV: prefix, now, node, leaseUntil, limit. → flat {id, token, work, …}. */
export const RECLAIM = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[5]))
local out = {}
for _, id in ipairs(ids) do
  local wk = ARGV[1] .. 'w:' .. id
  local token = redis.call('INCR', KEYS[2])
  redis.call('HSET', wk, 't', token, 'n', ARGV[3], 'l', ARGV[4])
  redis.call('ZADD', KEYS[1], ARGV[4], id)
  table.insert(out, id)
  table.insert(out, token)
  table.insert(out, redis.call('HGET', wk, 'w'))
end
return out
`;
