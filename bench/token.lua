-- bench/token.lua: wrk script for the token endpoint (authorization_code grant, client_secret_basic).
--
--   wrk ... -s bench/token.lua URL/token -- CODES_FILE NTHREADS REDIRECT_URI
--
-- The Authorization header comes from wrk's -H.  Every request carries its own pre-minted code: thread i (0-based)
-- takes lines i, i+NTHREADS, i+2*NTHREADS ... of CODES_FILE, so no code is sent twice.  A thread that runs out
-- sends the placeholder "exhausted" (answered 400) and counts it.  done() prints one line
--   token-result: codes_total=N sent=N non200=N exhausted=N statuses=STATUS:N,...
-- which bench/run.sh reads to decide whether the run is valid.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local function urlencode(s)
   return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
   local file, nthreads = args[1], tonumber(args[2])
   redirect = urlencode(args[3])
   codes = {}
   local i = 0
   for line in io.lines(file) do
      if line ~= "" then
         if i % nthreads == id then codes[#codes + 1] = line end
         i = i + 1
      end
   end
   ncodes = #codes
   pos = 0
   sent = 0
   non200 = 0
   exhausted = 0
   statuses = {}
   status_list = ""
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   wrk.headers["Accept"] = "application/json"
end

function request()
   pos = pos + 1
   local code = codes[pos]
   if code == nil then
      exhausted = exhausted + 1
      code = "exhausted"
   end
   sent = sent + 1
   return wrk.format(nil, nil, nil,
      "grant_type=authorization_code&code=" .. code .. "&redirect_uri=" .. redirect)
end

function response(status, headers, body)
   if status ~= 200 then
      non200 = non200 + 1
      statuses[status] = (statuses[status] or 0) + 1
      local parts = {}
      for k, v in pairs(statuses) do parts[#parts + 1] = k .. ":" .. v end
      status_list = table.concat(parts, ",")
   end
end

function done(summary, latency, requests)
   local total, s, n, e, st = 0, 0, 0, 0, {}
   for _, t in ipairs(threads) do
      total = total + t:get("ncodes")
      s = s + t:get("sent")
      n = n + t:get("non200")
      e = e + t:get("exhausted")
      for k, v in string.gmatch(t:get("status_list"), "(%d+):(%d+)") do
         st[k] = (st[k] or 0) + tonumber(v)
      end
   end
   local parts = {}
   for k, v in pairs(st) do parts[#parts + 1] = k .. ":" .. v end
   table.sort(parts)
   print(string.format("token-result: codes_total=%d sent=%d non200=%d exhausted=%d statuses=%s",
      total, s, n, e, #parts > 0 and table.concat(parts, ",") or "-"))
end
