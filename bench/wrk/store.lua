-- store_message: POST an OpenAI text message, unique per request, round-robin over sessions.
-- Usage: wrk ... -s store.lua URL -- <bearer key> <session id> [<session id> ...]
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(dir .. "report.lua")

local counter = 0
local tid = 0
local sessions = {}
local headers = {}

local next_thread = 0
function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  headers["Authorization"] = "Bearer " .. args[1]
  headers["Content-Type"] = "application/json"
  for i = 2, #args do
    sessions[#sessions + 1] = "/api/v1/session/" .. args[i] .. "/messages"
  end
  tid = thread_id or 0 -- global set by setup() through thread:set
  counter = tid * 1000000000
end

local role = { "user", "assistant" }
function request()
  counter = counter + 1
  local path = sessions[(counter % #sessions) + 1]
  local body = string.format(
    '{"format":"openai","blob":{"role":"%s","content":"Message %d from thread %d: what is the weather ' ..
    'in Paris tomorrow, and should I pack an umbrella for the afternoon walk along the Seine?"},' ..
    '"meta":{"bench":true,"n":%d}}',
    role[(counter % 2) + 1], counter, tid, counter)
  return wrk.format("POST", path, headers, body)
end

done = bench_report
