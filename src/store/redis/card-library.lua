#!lua name=gw_cards
--[[
The card directory as a Redis Function library. Cards are small and read far more often than
written: each gateway caches them in process and drops a cached card when a change is published.

Every key has the hash tag "{cards}" ("<prefix>:{cards}:..."), so a put that touches the card, its
PAN index and the version counter is one slot (valid on Redis Cluster, at the price of keeping the
directory on one node: a million cards is a few hundred MB).

  card:<cardId>     hash: j (the card as JSON, no clear PAN), v (version), p (PAN hash)
  pan:<panHash>     cardId
  version           counter: every change takes the next value, so versions order all changes

A change is published on the channel given by the caller as "<version> <cardId> <panHash>" from
inside the same atomic step, so no reader can see the change before its notice is on its way.
]]

local function publishChange(channel, version, cardId, panHash)
  redis.call('PUBLISH', channel, version .. ' ' .. cardId .. ' ' .. panHash)
end

-- gw_card_put: KEYS[1] = pan:<panHash>; ARGV 1 base, 2 cardId, 3 panHash, 4 json, 5 channel.
-- Creates or replaces the card with this PAN hash (a different card on the same PAN is replaced).
local function put(keys, args)
  local base = args[1]
  local cardId = args[2]
  local panHash = args[3]
  local cardKey = base .. 'card:' .. cardId
  local previous = redis.call('GET', keys[1])
  if previous and previous ~= cardId then
    redis.call('DEL', base .. 'card:' .. previous)
  end
  local oldPan = redis.call('HGET', cardKey, 'p')
  if oldPan and oldPan ~= panHash then
    local oldPanKey = base .. 'pan:' .. oldPan
    if redis.call('GET', oldPanKey) == cardId then
      redis.call('DEL', oldPanKey)
    end
    publishChange(args[5], 0, cardId, oldPan)
  end
  local version = redis.call('INCR', base .. 'version')
  redis.call('HSET', cardKey, 'j', args[4], 'v', version, 'p', panHash)
  redis.call('SET', keys[1], cardId)
  publishChange(args[5], version, cardId, panHash)
  return version
end

-- gw_card_replace: KEYS[1] = card:<cardId>; ARGV 1 base, 2 expected version, 3 json, 4 channel.
-- Compare-and-set: 0 when the card changed since it was read (the caller re-reads and retries),
-- -1 when it no longer exists, else the new version.
local function replace(keys, args)
  local current = redis.call('HMGET', keys[1], 'v', 'p')
  if not current[1] then
    return -1
  end
  if current[1] ~= args[2] then
    return 0
  end
  local version = redis.call('INCR', args[1] .. 'version')
  redis.call('HSET', keys[1], 'j', args[3], 'v', version)
  publishChange(args[4], version, string.sub(keys[1], #args[1] + 6), current[2])
  return version
end

-- gw_card_by_pan: KEYS[1] = pan:<panHash>; ARGV 1 base. Returns {json, version} or {}.
local function byPan(keys, args)
  local cardId = redis.call('GET', keys[1])
  if not cardId then
    return {}
  end
  local card = redis.call('HMGET', args[1] .. 'card:' .. cardId, 'j', 'v')
  if not card[1] then
    return {}
  end
  return { card[1], card[2] }
end

redis.register_function('gw_card_put', put)
redis.register_function('gw_card_replace', replace)
redis.register_function{ function_name = 'gw_card_by_pan', callback = byPan, flags = { 'no-writes' } }
