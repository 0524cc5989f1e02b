"""The Lua scripts of the Redis store: each operation is one script, so one round trip
and atomic across every client of the server.

Per account two keys: a hash (``spent``, ``reserved``, integer picodollars changed
only by HINCRBY with the caller's decimal strings, so sums stay exact in 64 bits) and a
sorted set of leases (member ``reservation_id:amount``, score the deadline in ms of
the server's clock, so machines with skewed clocks agree on when a lease runs out).
Lua compares amounts as doubles: exact up to $9,007 per account, and within a part
in 10^16 beyond.

Each ``redis.call`` costs the server about as much as a small command, so the scripts
skip the calls the common case does not need: leases are removed only when some ran
out, and an account's hash gets its expiry when a reservation finds no hash or a
settlement finds no lease (a charge), since the expiry of an account never changes; the
leases' set gets it at every reservation, because Redis deletes a set that its
settlements emptied.

A reservation is counted once however often it is sent: the runner sends a script again
when the connection dropped before its reply was read (budgets/redis_calls.py), and a
reservation that had run then finds its own lease (ZADD adds nothing, so nothing is
added to ``reserved``; a refusal checks for it first). Counted twice, the second amount
had no lease to free it and stayed reserved for good on a budget without a period.
"""

from __future__ import annotations

# The server's clock in ms, and a function that drops account i's leases that ran out
# from its reserved sum. KEYS of every account script: hash1, leases1, hash2, leases2...
_NOW_AND_RECLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function reclaim(i)
  local hash, leases = KEYS[2 * i - 1], KEYS[2 * i]
  local ran_out = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
  if #ran_out > 0 then
    for _, member in ipairs(ran_out) do
      redis.call('HINCRBY', hash, 'reserved', '-' .. string.match(member, ':(%d+)$'))
    end
    redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
  end
  return hash
end
"""

# ARGV: amount, lease_ms, member, then per account: limit, expire_at_ms (0: never)
RESERVE = (
    _NOW_AND_RECLAIM
    + """
local amount = tonumber(ARGV[1])
local accounts = #KEYS / 2
local new = {}
for i = 1, accounts do
  local hash = reclaim(i)
  local state = redis.call('HMGET', hash, 'spent', 'reserved')
  local spent, reserved = state[1] or '0', state[2] or '0'
  if tonumber(spent) + tonumber(reserved) + amount > tonumber(ARGV[2 + 2 * i]) then
    if redis.call('ZSCORE', KEYS[2 * i], ARGV[3]) then return {0} end  -- sent again: held
    return {i, spent, reserved}
  end
  new[i] = not (state[1] or state[2])
end
for i = 1, accounts do
  local hash, leases = KEYS[2 * i - 1], KEYS[2 * i]
  if redis.call('ZADD', leases, now + tonumber(ARGV[2]), ARGV[3]) == 1 then
    redis.call('HINCRBY', hash, 'reserved', ARGV[1])
  end
  local expire_at = ARGV[3 + 2 * i]
  if expire_at ~= '0' then
    if new[i] then redis.call('PEXPIREAT', hash, expire_at) end
    redis.call('PEXPIREAT', leases, expire_at)
  end
end
return {0}
"""
)

# KEYS as RESERVE; ARGV: member, amount, actual, then per account: expire_at_ms (0: never)
SETTLE = """
local spent = {}
for i = 1, #KEYS / 2 do
  local hash, leases = KEYS[2 * i - 1], KEYS[2 * i]
  local held = redis.call('ZREM', leases, ARGV[1]) == 1
  if held then
    redis.call('HINCRBY', hash, 'reserved', '-' .. ARGV[2])
  end
  spent[i] = redis.call('HINCRBY', hash, 'spent', ARGV[3])
  if not held and ARGV[3 + i] ~= '0' then
    redis.call('PEXPIREAT', hash, ARGV[3 + i])
  end
end
return spent
"""

# KEYS as RESERVE; ARGV: member, lease_ms. Moves the lease's deadline where it has not
# passed (a lease that ran out is gone, whether or not a reclaim dropped it yet); returns
# how many accounts still held it.
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local renewed = 0
for i = 1, #KEYS / 2 do
  local deadline = redis.call('ZSCORE', KEYS[2 * i], ARGV[1])
  if deadline and tonumber(deadline) > now then
    redis.call('ZADD', KEYS[2 * i], 'XX', now + tonumber(ARGV[2]), ARGV[1])
    renewed = renewed + 1
  end
end
return renewed
"""

# Returns per account {spent, reserved} after reclaiming leases that ran out.
READ = (
    _NOW_AND_RECLAIM
    + """
local out = {}
for i = 1, #KEYS / 2 do
  local state = redis.call('HMGET', reclaim(i), 'spent', 'reserved')
  out[i] = {state[1] or '0', state[2] or '0'}
end
return out
"""
)

# KEYS: the deployment's bucket hash. ARGV: rpm (0: none), tpm (0: none), tokens, max_wait.
# The steps of `take` in budgets/store.py; levels are kept as strings of doubles.
ACQUIRE_RATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])
local tokens, max_wait = tonumber(ARGV[3]), tonumber(ARGV[4])
if tpm > 0 and tokens > tpm then return {0, 'inf'} end
local state = redis.call('HMGET', KEYS[1], 'requests', 'tokens', 'updated_at')
local requests = tonumber(state[1]) or rpm
local held = tonumber(state[2]) or tpm
local elapsed = math.max(0, now - (tonumber(state[3]) or now))
requests = math.min(rpm, requests + elapsed * rpm / 60)
held = math.min(tpm, held + elapsed * tpm / 60)
local wait = 0
if rpm > 0 then wait = math.max(wait, (1 - requests) * 60 / rpm) end
if tpm > 0 then wait = math.max(wait, (tokens - held) * 60 / tpm) end
if wait > max_wait then return {0, string.format('%.17g', wait)} end
if rpm > 0 then requests = requests - 1 else requests = 0 end
if tpm > 0 then held = held - tokens else held = 0 end
redis.call('HSET', KEYS[1], 'requests', string.format('%.17g', requests),
  'tokens', string.format('%.17g', held), 'updated_at', string.format('%.17g', now))
redis.call('EXPIRE', KEYS[1], 120 + math.ceil(wait))
return {1, string.format('%.17g', wait)}
"""
