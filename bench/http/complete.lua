-- wrk script: each request completes the next task id from the file named by TASKS.
local ids = {}
local i = 0
for line in io.lines(os.getenv("TASKS")) do ids[#ids + 1] = line end
local headers = { ["Content-Type"] = "application/json" }
request = function()
  i = i + 1
  if i > #ids then i = 1 end
  return wrk.format("POST", "/tasks/" .. ids[i] .. "/complete", headers, "{}")
end
