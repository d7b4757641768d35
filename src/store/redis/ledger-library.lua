#!lua name=gw_ledger
--[[
The hold ledger as one Redis Function library: each function is one atomic step for one shard.

Every key a call touches shares the shard's hash tag, so a call is also valid on Redis Cluster:
KEYS[1] is always the shard's fence key "<prefix>:{<shard>}:fence" (it routes the call to the
shard's slot) and every other key is built from the same "<prefix>:{<shard>}:" base.

Keys under the base (see docs/holds-and-fencing.md):
  fence                       newest fencing token claimed for the shard
  acct:<account>              hash: cur (currency), bal (posted balance), od (overdraft), pend (pending holds)
  hold:<hold>                 hash: acct card amt st set key ct exp od dk mk atm
  holds:<account>             zset of the account's pending hold ids, score = expiry + retention (a
                              bound in case the sweep never runs)
  expiry                      zset of pending hold ids, score = expiry time (the sweep's work list)
  op:<account>:<key>          hash: the stored outcome of one message (st rc amt hold od av), or a
                              reversal's tombstone (st = tomb, rev = reversal key)
  adm:<account>:<key>         marker that an admin credit/debit with this key was applied
  ref:<account>:r:<rrn>       hold id by DE 37, for reversals without a usable DE 90
  ref:<account>:a:<code>      hold id by DE 38
  spend:<card>:<day|month>    hash: s (spend), aa (ATM amount), ac (ATM count)

Amounts are integers in minor units; Lua numbers are doubles, exact to 2^53, and are written
back with %d so Redis never sees an exponent.
]]

local DAY_MS = 86400000
-- A day counter must outlive its UTC day by the largest time-zone offset plus late reversals.
local DAY_COUNTER_TTL_MS = 2 * DAY_MS
-- A month counter outlives the longest month by a day for the same reason.
local MONTH_COUNTER_TTL_MS = 32 * DAY_MS

local function num(value)
  return tonumber(value) or 0
end

local function int(value)
  return string.format('%d', value)
end

local function baseOf(fenceKey)
  -- "<prefix>:{<shard>}:fence" without "fence"
  return string.sub(fenceKey, 1, -6)
end

-- True when the writer's token is older than the newest claimed for the shard, or when no claim
-- exists although one is required (the shard was never claimed in this Redis: data loss or a new,
-- empty Redis). A newer token than stored is recorded, so fencing only ever moves forward.
local function isFenced(fenceKey, token, requireClaim)
  local stored = tonumber(redis.call('GET', fenceKey))
  if stored == nil then
    if requireClaim then
      return true
    end
    redis.call('SET', fenceKey, int(token))
    return false
  end
  if token < stored then
    return true
  end
  if token > stored then
    redis.call('SET', fenceKey, int(token))
  end
  return false
end

local function availableOf(acctKey)
  local a = redis.call('HMGET', acctKey, 'bal', 'od', 'pend')
  return num(a[1]) - num(a[3]) + num(a[2])
end

local function recordOutcome(opKey, status, responseCode, amount, holdId, overdrawn, available, retentionMs)
  redis.call('HSET', opKey, 'st', status, 'rc', responseCode, 'amt', int(amount), 'hold', holdId,
    'od', int(overdrawn), 'av', int(available))
  redis.call('PEXPIRE', opKey, retentionMs)
end

-- A reversal gives back the amount it released; the ATM withdrawal count stays (the withdrawal was
-- attempted). Counters only shrink while they exist: a counter whose day has gone is not revived.
local function releaseCounters(base, card, dayKey, monthKey, isAtm, amount)
  if card == nil or card == false or card == '' then
    return
  end
  if dayKey and dayKey ~= '' then
    local dayCounter = base .. 'spend:' .. card .. ':' .. dayKey
    if redis.call('EXISTS', dayCounter) == 1 then
      redis.call('HINCRBY', dayCounter, 's', int(-amount))
      if isAtm then
        redis.call('HINCRBY', dayCounter, 'aa', int(-amount))
      end
    end
  end
  if monthKey and monthKey ~= '' then
    local monthCounter = base .. 'spend:' .. card .. ':' .. monthKey
    if redis.call('EXISTS', monthCounter) == 1 then
      redis.call('HINCRBY', monthCounter, 's', int(-amount))
    end
  end
end

-- A hold that stops being pending leaves the sweep's list and the account's pending list; its record
-- stays for the retention window so late reversals and repeats still find it.
local function endHold(base, holdKey, holdId, account, status, retentionMs)
  redis.call('HSET', holdKey, 'st', status)
  redis.call('ZREM', base .. 'expiry', holdId)
  redis.call('ZREM', base .. 'holds:' .. account, holdId)
  redis.call('PEXPIRE', holdKey, retentionMs)
end

-- The hold a reversal's fallback reference (DE 37 'r', DE 38 'a') names, or nil.
local function referencedHold(base, account, kind, value)
  if value == '' then
    return nil
  end
  local held = redis.call('GET', base .. 'ref:' .. account .. ':' .. kind .. ':' .. value)
  if held then
    return held
  end
  return nil
end

local FENCED = { 'fenced', '91', 0, '', 0, 0, 0 }

--[[
gw_authorise: 0100/0200 (kind A) and 0120/0220 (kind V, advice).
ARGV: 1 token, 2 now, 3 account, 4 card, 5 key, 6 kind A|V, 7 settlement hold|post, 8 amount,
      9 allowPartial 1|0, 10 holdId, 11 expiresAt, 12 rrn, 13 approvalCode, 14 dayKey, 15 monthKey,
      16 dailyLimit, 17 monthlyLimit, 18 atmAmountLimit ('' when not a cash withdrawal),
      19 atmCountLimit, 20 incrementOf (''), 21 retentionMs, 22 requireClaim 1|0,
      23 unknown-account response code
Returns: status, responseCode, approved, holdId, replayed, overdrawn, available
]]
local function authorise(keys, args)
  local fenceKey = keys[1]
  local base = baseOf(fenceKey)
  local token = tonumber(args[1])
  local now = tonumber(args[2])
  local account = args[3]
  local card = args[4]
  local key = args[5]
  local isAdvice = args[6] == 'V'
  local isPost = args[7] == 'post'
  local amount = tonumber(args[8])
  local allowPartial = args[9] == '1'
  local holdId = args[10]
  local expiresAt = tonumber(args[11])
  local rrn = args[12]
  local approvalCode = args[13]
  local dayKey = args[14]
  local monthKey = args[15]
  local dailyLimit = tonumber(args[16])
  local monthlyLimit = tonumber(args[17])
  local isAtm = args[18] ~= ''
  local atmAmountLimit = tonumber(args[18])
  local atmCountLimit = tonumber(args[19])
  local incrementOf = args[20]
  local retentionMs = tonumber(args[21])
  local requireClaim = args[22] == '1'
  local unknownAccountCode = args[23]

  if isFenced(fenceKey, token, requireClaim) then
    return FENCED
  end

  local acctKey = base .. 'acct:' .. account
  local opKey = base .. 'op:' .. account .. ':' .. key
  local seen = redis.call('HMGET', opKey, 'st', 'rc', 'amt', 'hold', 'od', 'av')
  if seen[1] then
    if seen[1] ~= 'tomb' then
      return { seen[1], seen[2], num(seen[3]), seen[4] or '', 1, num(seen[5]), num(seen[6]) }
    end
    -- Its reversal came first: the original never holds. An advice is acknowledged, a request refused.
    local available = availableOf(acctKey)
    local code = '12'
    if isAdvice then
      code = '00'
    end
    recordOutcome(opKey, 'original-reversed', code, 0, '', 0, available, retentionMs)
    return { 'original-reversed', code, 0, '', 0, 0, available }
  end

  local a = redis.call('HMGET', acctKey, 'bal', 'od', 'pend')
  if not a[1] then
    -- Not recorded: once the account is loaded, a retry of the same message is decided afresh.
    return { 'declined', unknownAccountCode, 0, '', 0, 0, 0 }
  end
  local balance = tonumber(a[1])
  local overdraft = num(a[2])
  local pending = num(a[3])
  local available = balance - pending + overdraft

  -- An incremental authorisation grows its original's hold while that hold is still pending; one
  -- whose original is unknown, declined, released, expired or posted is refused (12).
  local grownHold = nil
  if incrementOf ~= '' then
    local originalHold = redis.call('HGET', base .. 'op:' .. account .. ':' .. incrementOf, 'hold')
    if originalHold and originalHold ~= '' then
      if redis.call('HGET', base .. 'hold:' .. originalHold, 'st') == 'pending' then
        grownHold = originalHold
      end
    end
    if grownHold == nil then
      recordOutcome(opKey, 'declined', '12', 0, '', 0, available, retentionMs)
      return { 'declined', '12', 0, '', 0, 0, available }
    end
    -- The original's guarantee grows by the increment or not at all.
    allowPartial = false
  end

  local dayCounter = base .. 'spend:' .. card .. ':' .. dayKey
  local monthCounter = base .. 'spend:' .. card .. ':' .. monthKey
  local approved = amount
  local status = 'approved'
  local code = '00'
  if isAdvice then
    status = 'applied'
  else
    local day = redis.call('HMGET', dayCounter, 's', 'aa', 'ac')
    local monthSpend = num(redis.call('HGET', monthCounter, 's'))
    local declineCode = nil
    if num(day[1]) + amount > dailyLimit or monthSpend + amount > monthlyLimit then
      declineCode = '61'
    elseif isAtm and num(day[2]) + amount > atmAmountLimit then
      declineCode = '61'
    elseif isAtm and grownHold == nil and num(day[3]) + 1 > atmCountLimit then
      declineCode = '65'
    elseif amount > available then
      if allowPartial and available > 0 then
        approved = available
        status = 'partial'
        code = '10'
      else
        declineCode = '51'
      end
    end
    if declineCode then
      recordOutcome(opKey, 'declined', declineCode, 0, '', 0, available, retentionMs)
      return { 'declined', declineCode, 0, '', 0, 0, available }
    end
  end

  local heldId = holdId
  local holdKey = base .. 'hold:' .. holdId
  local forgetAt = expiresAt + retentionMs
  if grownHold then
    heldId = grownHold
    holdKey = base .. 'hold:' .. grownHold
    redis.call('HINCRBY', holdKey, 'amt', int(approved))
    pending = redis.call('HINCRBY', acctKey, 'pend', int(approved))
    -- The increment extends the guarantee when it comes with a later expiry.
    if expiresAt > num(redis.call('HGET', holdKey, 'exp')) then
      redis.call('HSET', holdKey, 'exp', int(expiresAt))
      redis.call('ZADD', base .. 'expiry', expiresAt, grownHold)
      redis.call('ZADD', base .. 'holds:' .. account, forgetAt, grownHold)
    end
  elseif isPost then
    -- Single message: posted at once, no hold. The record stays so a reversal can refund it.
    balance = redis.call('HINCRBY', acctKey, 'bal', int(-approved))
    forgetAt = now + retentionMs
    redis.call('HSET', holdKey, 'acct', account, 'card', card, 'amt', int(approved), 'st', 'posted',
      'set', 'auth', 'key', key, 'ct', int(now), 'exp', int(now), 'od', '0', 'dk', dayKey,
      'mk', monthKey, 'atm', isAtm and '1' or '0')
    redis.call('PEXPIRE', holdKey, retentionMs)
  else
    pending = redis.call('HINCRBY', acctKey, 'pend', int(approved))
    redis.call('HSET', holdKey, 'acct', account, 'card', card, 'amt', int(approved), 'st', 'pending',
      'set', 'hold', 'key', key, 'ct', int(now), 'exp', int(expiresAt), 'od', '0', 'dk', dayKey,
      'mk', monthKey, 'atm', isAtm and '1' or '0')
    redis.call('ZADD', base .. 'expiry', expiresAt, holdId)
    redis.call('ZADD', base .. 'holds:' .. account, forgetAt, holdId)
  end
  redis.call('ZREMRANGEBYSCORE', base .. 'holds:' .. account, '-inf', now)

  available = balance - pending + overdraft
  local overdrawn = 0
  if isAdvice and available < 0 then
    overdrawn = 1
    redis.call('HSET', holdKey, 'od', '1')
  end

  local refTtl = forgetAt - now
  if rrn ~= '' then
    redis.call('SET', base .. 'ref:' .. account .. ':r:' .. rrn, heldId, 'PX', refTtl)
  end
  if approvalCode ~= '' then
    redis.call('SET', base .. 'ref:' .. account .. ':a:' .. approvalCode, heldId, 'PX', refTtl)
  end

  redis.call('HINCRBY', dayCounter, 's', int(approved))
  if isAtm then
    redis.call('HINCRBY', dayCounter, 'aa', int(approved))
    if grownHold == nil then
      redis.call('HINCRBY', dayCounter, 'ac', 1)
    end
  end
  redis.call('PEXPIRE', dayCounter, DAY_COUNTER_TTL_MS)
  redis.call('HINCRBY', monthCounter, 's', int(approved))
  redis.call('PEXPIRE', monthCounter, MONTH_COUNTER_TTL_MS)

  recordOutcome(opKey, status, code, approved, heldId, overdrawn, available, retentionMs)
  return { status, code, approved, heldId, 0, overdrawn, available }
end

--[[
gw_reverse: 0400 (advice 0) and 0420 (advice 1).
ARGV: 1 token, 2 now, 3 account, 4 card, 5 key, 6 originalKey (''), 7 rrn (''), 8 approvalCode (''),
      9 remaining ('' = full reversal), 10 advice 1|0, 11 retentionMs, 12 requireClaim 1|0
Returns: as gw_authorise.
]]
local function reverse(keys, args)
  local fenceKey = keys[1]
  local base = baseOf(fenceKey)
  local token = tonumber(args[1])
  local now = tonumber(args[2])
  local account = args[3]
  local key = args[5]
  local originalKey = args[6]
  local rrn = args[7]
  local approvalCode = args[8]
  local remaining = tonumber(args[9])
  local isAdvice = args[10] == '1'
  local retentionMs = tonumber(args[11])
  local requireClaim = args[12] == '1'

  if isFenced(fenceKey, token, requireClaim) then
    return FENCED
  end

  local acctKey = base .. 'acct:' .. account
  local opKey = base .. 'op:' .. account .. ':' .. key
  local seen = redis.call('HMGET', opKey, 'st', 'rc', 'amt', 'hold', 'od', 'av')
  if seen[1] and seen[1] ~= 'tomb' then
    return { seen[1], seen[2], num(seen[3]), seen[4] or '', 1, num(seen[5]), num(seen[6]) }
  end

  -- Find the original: by its key (DE 90), else by DE 37, else by DE 38, all within the account.
  local found = false
  local heldId = nil
  local originalOpKey = nil
  -- What an incremental named by DE 90 added and has not yet had taken back: its reversal releases
  -- at most that. nil when the original is the hold's own authorisation (its reversal takes all).
  local incrementLeft = nil
  -- An original that held nothing (declined, or itself reversed first) counts as not found.
  if originalKey ~= '' then
    originalOpKey = base .. 'op:' .. account .. ':' .. originalKey
    local o = redis.call('HMGET', originalOpKey, 'hold', 'amt', 'rel')
    if o[1] and o[1] ~= '' then
      found = true
      heldId = o[1]
      local placedBy = redis.call('HGET', base .. 'hold:' .. heldId, 'key')
      if placedBy and placedBy ~= originalKey then
        incrementLeft = num(o[2]) - num(o[3])
        if incrementLeft < 0 then
          incrementLeft = 0
        end
      end
    end
  end
  if not found then
    heldId = referencedHold(base, account, 'r', rrn) or referencedHold(base, account, 'a', approvalCode)
    found = heldId ~= nil
  end

  if not found then
    -- Remembered under the original's key, so the original can never hold when it arrives later.
    if originalOpKey and redis.call('EXISTS', originalOpKey) == 0 then
      redis.call('HSET', originalOpKey, 'st', 'tomb', 'rev', key)
      redis.call('PEXPIRE', originalOpKey, retentionMs)
    end
    local code = '12'
    if isAdvice then
      code = '00'
    end
    local available = availableOf(acctKey)
    recordOutcome(opKey, 'original-unknown', code, 0, '', 0, available, retentionMs)
    return { 'original-unknown', code, 0, '', 0, 0, available }
  end

  local released = 0
  if heldId then
    local holdKey = base .. 'hold:' .. heldId
    local h = redis.call('HMGET', holdKey, 'amt', 'st', 'acct', 'card', 'dk', 'mk', 'atm', 'set')
    if h[1] and h[3] == account then
      local held = tonumber(h[1])
      local share = held
      if incrementLeft and incrementLeft < held then
        share = incrementLeft
      end
      local toRelease = share
      if remaining then
        toRelease = share - remaining
        if toRelease < 0 then
          toRelease = 0
        end
      end
      local isPending = h[2] == 'pending'
      local isPostedAtAuthorisation = h[2] == 'posted' and h[8] == 'auth'
      if toRelease > 0 and (isPending or isPostedAtAuthorisation) then
        released = toRelease
        if isPending then
          redis.call('HINCRBY', acctKey, 'pend', int(-released))
        else
          -- A single-message transaction was posted: its reversal refunds the balance.
          redis.call('HINCRBY', acctKey, 'bal', int(released))
        end
        local endsIt = released >= held
        if endsIt then
          endHold(base, holdKey, heldId, account, 'released', retentionMs)
        else
          redis.call('HSET', holdKey, 'amt', int(held - released))
        end
        releaseCounters(base, h[4], h[5], h[6], h[7] == '1', released)
        if incrementLeft then
          redis.call('HINCRBY', originalOpKey, 'rel', int(released))
        end
      end
    end
  end

  local available = availableOf(acctKey)
  recordOutcome(opKey, 'reversed', '00', released, heldId or '', 0, available, retentionMs)
  return { 'reversed', '00', released, heldId or '', 0, 0, available }
end

--[[
gw_expire: releases up to `batch` pending holds of the shard whose expiry is at or before now.
ARGV: 1 token, 2 now, 3 batch, 4 retentionMs, 5 requireClaim 1|0
Returns: 'fenced', or 'ok', more (1 when the batch was full), then 8 fields per expired hold:
holdId, account, card, amount, key, createdAt, expiresAt, overdrawn.
]]
local function expire(keys, args)
  local fenceKey = keys[1]
  local base = baseOf(fenceKey)
  local token = tonumber(args[1])
  local now = tonumber(args[2])
  local batch = tonumber(args[3])
  local retentionMs = tonumber(args[4])
  local requireClaim = args[5] == '1'

  if isFenced(fenceKey, token, requireClaim) then
    return { 'fenced' }
  end
  local due = redis.call('ZRANGEBYSCORE', base .. 'expiry', '-inf', now, 'LIMIT', 0, batch)
  local more = 0
  if #due == batch then
    more = 1
  end
  local out = { 'ok', more }
  for _, holdId in ipairs(due) do
    local holdKey = base .. 'hold:' .. holdId
    local h = redis.call('HMGET', holdKey, 'st', 'acct', 'card', 'amt', 'key', 'ct', 'exp', 'od')
    if h[1] == 'pending' then
      local amount = num(h[4])
      redis.call('HINCRBY', base .. 'acct:' .. h[2], 'pend', int(-amount))
      -- Spend counters keep an expired hold: the spend was authorised (and may still be presented).
      endHold(base, holdKey, holdId, h[2], 'expired', retentionMs)
      out[#out + 1] = holdId
      out[#out + 1] = h[2]
      out[#out + 1] = h[3]
      out[#out + 1] = amount
      out[#out + 1] = h[5] or ''
      out[#out + 1] = num(h[6])
      out[#out + 1] = num(h[7])
      out[#out + 1] = num(h[8])
    else
      redis.call('ZREM', base .. 'expiry', holdId)
    end
  end
  return out
end

--[[
gw_claim: records a new owner's token. ARGV: 1 token.
Returns: 1 and the token, or 0 and the newer stored token (the claimer is stale).
]]
local function claim(keys, args)
  local token = tonumber(args[1])
  local stored = tonumber(redis.call('GET', keys[1]))
  if stored and stored > token then
    return { 0, stored }
  end
  redis.call('SET', keys[1], int(token))
  return { 1, token }
end

--[[
gw_put_account: ARGV 1 token, 2 account, 3 currency, 4 balance, 5 overdraft, 6 requireClaim.
Pending holds are kept: replacing the posted balance does not forget what is held.
]]
local function putAccount(keys, args)
  if isFenced(keys[1], tonumber(args[1]), args[6] == '1') then
    return 'fenced'
  end
  local acctKey = baseOf(keys[1]) .. 'acct:' .. args[2]
  redis.call('HSET', acctKey, 'cur', args[3], 'bal', args[4], 'od', args[5])
  redis.call('HSETNX', acctKey, 'pend', '0')
  return 'ok'
end

--[[
gw_credit: ARGV 1 token, 2 account, 3 amount, 4 key, 5 retentionMs, 6 requireClaim.
Returns 'fenced' | 'missing' | 'replayed' | 'ok'.
]]
local function credit(keys, args)
  if isFenced(keys[1], tonumber(args[1]), args[6] == '1') then
    return 'fenced'
  end
  local base = baseOf(keys[1])
  local acctKey = base .. 'acct:' .. args[2]
  if redis.call('HEXISTS', acctKey, 'bal') == 0 then
    return 'missing'
  end
  local marker = base .. 'adm:' .. args[2] .. ':' .. args[4]
  if redis.call('EXISTS', marker) == 1 then
    return 'replayed'
  end
  redis.call('HINCRBY', acctKey, 'bal', args[3])
  redis.call('SET', marker, 'credit', 'PX', tonumber(args[5]))
  return 'ok'
end

--[[
gw_debit: ARGV 1 token, 2 now, 3 account, 4 amount, 5 holdId (''), 6 key, 7 retentionMs, 8 requireClaim.
A cleared transaction: balance -= amount; the pending hold it names is posted (no longer held).
Without a hold id it is a force post. Returns 'fenced' | 'missing' (no such account, or the named
hold is not pending on it: nothing changes) | 'replayed' | 'ok'.
]]
local function debit(keys, args)
  if isFenced(keys[1], tonumber(args[1]), args[8] == '1') then
    return 'fenced'
  end
  local base = baseOf(keys[1])
  local now = tonumber(args[2])
  local account = args[3]
  local retentionMs = tonumber(args[7])
  local acctKey = base .. 'acct:' .. account
  if redis.call('HEXISTS', acctKey, 'bal') == 0 then
    return 'missing'
  end
  local marker = base .. 'adm:' .. account .. ':' .. args[6]
  if redis.call('EXISTS', marker) == 1 then
    return 'replayed'
  end
  local holdId = args[5]
  if holdId ~= '' then
    local holdKey = base .. 'hold:' .. holdId
    local h = redis.call('HMGET', holdKey, 'st', 'acct', 'amt')
    if h[1] ~= 'pending' or h[2] ~= account then
      return 'missing'
    end
    redis.call('HINCRBY', acctKey, 'pend', int(-num(h[3])))
    redis.call('HSET', holdKey, 'set', 'clear')
    endHold(base, holdKey, holdId, account, 'posted', retentionMs)
  end
  redis.call('HINCRBY', acctKey, 'bal', int(-tonumber(args[4])))
  redis.call('SET', marker, 'debit', 'PX', retentionMs)
  return 'ok'
end

--[[
gw_account: read only. ARGV 1 account, 2 now, 3 hold limit.
Returns {} when unknown, else currency, balance, overdraft, pending, then 8 fields per pending hold:
holdId, card, amount, status, key, createdAt, expiresAt, overdrawn.
]]
local function accountView(keys, args)
  local base = baseOf(keys[1])
  local account = args[1]
  local now = tonumber(args[2])
  local limit = tonumber(args[3])
  local a = redis.call('HMGET', base .. 'acct:' .. account, 'cur', 'bal', 'od', 'pend')
  if not a[2] then
    return {}
  end
  local out = { a[1] or '', num(a[2]), num(a[3]), num(a[4]) }
  local ids = redis.call('ZRANGEBYSCORE', base .. 'holds:' .. account, now, '+inf', 'LIMIT', 0, limit)
  for _, holdId in ipairs(ids) do
    local h = redis.call('HMGET', base .. 'hold:' .. holdId, 'acct', 'card', 'amt', 'st', 'key', 'ct', 'exp', 'od')
    if h[1] == account and h[4] == 'pending' then
      out[#out + 1] = holdId
      out[#out + 1] = h[2] or ''
      out[#out + 1] = num(h[3])
      out[#out + 1] = h[4] or ''
      out[#out + 1] = h[5] or ''
      out[#out + 1] = num(h[6])
      out[#out + 1] = num(h[7])
      out[#out + 1] = num(h[8])
    end
  end
  return out
end

--[[
gw_restore_account: loads one account as the durable record (Cassandra) has it, after Redis lost
its data or missed the account; run by the shard's owner under its fencing token, before the shard
is served. An account with many pending holds is restored in several calls: the first (reset = 1)
replaces the account's balance and drops the holds Redis had for it; every call adds its holds.
ARGV: 1 token, 2 now, 3 account, 4 currency, 5 balance, 6 overdraft, 7 retentionMs, 8 requireClaim,
      9 reset 1|0, then 8 values per pending hold: holdId, card, amount, key, createdAt, expiresAt,
      rrn, approvalCode.
Each hold's authorisation outcome is recorded under its key, so a retransmission replays instead of
holding again. Returns 'fenced' | 'ok'.
]]
local function restoreAccount(keys, args)
  if isFenced(keys[1], tonumber(args[1]), args[8] == '1') then
    return 'fenced'
  end
  local base = baseOf(keys[1])
  local now = tonumber(args[2])
  local account = args[3]
  local retentionMs = tonumber(args[7])
  local acctKey = base .. 'acct:' .. account
  local listKey = base .. 'holds:' .. account
  if args[9] == '1' then
    for _, oldHold in ipairs(redis.call('ZRANGE', listKey, 0, -1)) do
      redis.call('ZREM', base .. 'expiry', oldHold)
      redis.call('DEL', base .. 'hold:' .. oldHold)
    end
    redis.call('DEL', listKey)
    redis.call('HSET', acctKey, 'cur', args[4], 'bal', args[5], 'od', args[6], 'pend', '0')
  end
  local pending = num(redis.call('HGET', acctKey, 'pend'))
  local balance = tonumber(args[5])
  local overdraft = tonumber(args[6])
  local added = 0
  for i = 10, #args, 8 do
    local holdId = args[i]
    local amount = tonumber(args[i + 2])
    local key = args[i + 3]
    local expiresAt = tonumber(args[i + 5])
    local forgetAt = expiresAt + retentionMs
    local holdKey = base .. 'hold:' .. holdId
    added = added + amount
    redis.call('HSET', holdKey, 'acct', account, 'card', args[i + 1], 'amt', int(amount), 'st', 'pending',
      'set', 'hold', 'key', key, 'ct', args[i + 4], 'exp', int(expiresAt), 'od', '0', 'dk', '', 'mk', '',
      'atm', '0')
    redis.call('ZADD', base .. 'expiry', expiresAt, holdId)
    redis.call('ZADD', listKey, forgetAt, holdId)
    recordOutcome(base .. 'op:' .. account .. ':' .. key, 'approved', '00', amount, holdId, 0,
      balance - pending - added + overdraft, forgetAt - now)
    if args[i + 6] ~= '' then
      redis.call('SET', base .. 'ref:' .. account .. ':r:' .. args[i + 6], holdId, 'PX', forgetAt - now)
    end
    if args[i + 7] ~= '' then
      redis.call('SET', base .. 'ref:' .. account .. ':a:' .. args[i + 7], holdId, 'PX', forgetAt - now)
    end
  end
  redis.call('HINCRBY', acctKey, 'pend', int(added))
  return 'ok'
end

redis.register_function('gw_authorise', authorise)
redis.register_function('gw_restore_account', restoreAccount)
redis.register_function('gw_reverse', reverse)
redis.register_function('gw_expire', expire)
redis.register_function('gw_claim', claim)
redis.register_function('gw_put_account', putAccount)
redis.register_function('gw_credit', credit)
redis.register_function('gw_debit', debit)
redis.register_function{ function_name = 'gw_account', callback = accountView, flags = { 'no-writes' } }
