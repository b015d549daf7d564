-- wrk script: every request starts an instance of the one-task process.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"key":"http-bench"}'
