-- wrk script: a plain GET (URL and headers from the command line) whose statuses are
-- counted by bench/status.lua, so a run of redirects or errors is not taken for pages.
dofile("bench/status.lua")
setup = function(thread) register_thread(thread) end
