-- submit: append a command to a shard's log, with the guards of its request, in one step.
--
-- With a key check, first refuse (append nothing, return 0) if the caller's API key or user
-- was switched off; with a rate limit, then count the request in its fixed window and, past
-- the limit, append nothing and return nil. A refused submit gives the reply list an empty
-- entry, so that the BLPOP sent in the same round trip returns at once. The counter's key
-- names its window, so its TTL only collects it: refreshed on every count (not EXPIRE ... NX,
-- which Redis 6.2 lacks), it lives at most one window past its last.
-- Then append the command (return its stream id) and record, in the same step, the caller's
-- newest write on this shard (read-your-writes) and, for an order, a placeholder a reader can
-- show as "pending" until the persister has written the order, and the same JSON in the
-- "placed" hash until the persister has written the order's end.
--
-- KEYS: commands writes pending rate_counter reply placed key_off user_off
-- ARGV: payload reply_flag user_field order_id order_json rate_limit rate_ttl key_check
--
-- commands      the shard's command stream
-- writes        the caller's read-your-writes hash (ShardKeys.writes)
-- pending       the caller's placeholders (ShardKeys.pending)
-- rate_counter  the window's request counter (unused without rate_limit)
-- reply         the command's reply list (ShardKeys.reply)
-- placed        the caller's orders as placed (ShardKeys.placed)
-- key_off       the API key's switched-off marker (unused without key_check)
-- user_off      the user's switched-off marker (unused without key_check)
-- payload       the packed command
-- reply_flag    '1' if a caller waits for the reply, else '0'
-- user_field    'last' to record the write in the writes hash, '' for none
-- order_id      the order placed, '' for none; order_json its placeholder
-- rate_limit    the most requests in the window, '' for no limit; rate_ttl the counter's TTL (s)
-- key_check     '1' to refuse for a switched-off key or user, '' not to check
-- (then, past the named arguments, more (order id, JSON) pairs kept like order_id's: an order
-- list's legs, and the list itself under its id negated)
local commands, writes, pending, rate_counter = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local reply, placed, key_off, user_off = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local payload, reply_flag, user_field, order_id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local order_json, rate_limit, rate_ttl, key_check = ARGV[5], ARGV[6], ARGV[7], ARGV[8]

if key_check ~= '' and redis.call('EXISTS', key_off, user_off) > 0 then
  if reply_flag == '1' then
    redis.call('RPUSH', reply, '')
    redis.call('EXPIRE', reply, 60)
  end
  return 0
end
if rate_limit ~= '' then
  local n = redis.call('INCR', rate_counter)
  redis.call('EXPIRE', rate_counter, rate_ttl)
  if n > tonumber(rate_limit) then
    if reply_flag == '1' then
      redis.call('RPUSH', reply, '')
      redis.call('EXPIRE', reply, 60)
    end
    return false
  end
end
local id = redis.call('XADD', commands, '*', 'c', payload, 'r', reply_flag)
if user_field ~= '' then
  redis.call('HSET', writes, user_field, id)
  redis.call('PEXPIRE', writes, 86400000)
end
if order_id ~= '' then
  redis.call('HSET', pending, order_id, order_json)
  redis.call('PEXPIRE', pending, 86400000)
  redis.call('HSET', placed, order_id, order_json)
  redis.call('PEXPIRE', placed, 86400000)
end
if #ARGV > 8 then  -- the more pairs, in one HSET per hash
  redis.call('HSET', pending, unpack(ARGV, 9))
  redis.call('PEXPIRE', pending, 86400000)
  redis.call('HSET', placed, unpack(ARGV, 9))
  redis.call('PEXPIRE', placed, 86400000)
end
return id
