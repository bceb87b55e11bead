-- POST the same JSON body (read from a file) to the URL's path.
-- Usage: wrk ... -s post.lua URL -- <bearer key> <body file>
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(dir .. "report.lua")

function init(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/json"
  local f = assert(io.open(args[2], "rb"))
  wrk.body = f:read("*a")
  f:close()
end

done = bench_report
