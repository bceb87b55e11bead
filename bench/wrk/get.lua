-- GET one path (the URL's) with the bench bearer key.
-- Usage: wrk ... -s get.lua URL -- <bearer key>
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(dir .. "report.lua")

function init(args)
  if args[1] then
    wrk.headers["Authorization"] = "Bearer " .. args[1]
  end
end

done = bench_report
