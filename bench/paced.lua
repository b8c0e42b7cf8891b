-- wrk script: a paced latency probe. Each connection waits 10 ms between requests, so
-- the probe measures how long the server takes to answer without itself loading the
-- machine (a closed loop at full speed would take most of a core from the scenario it
-- observes). With -c1 that is about 100 requests/s, 1,000 samples in 10 s.
function delay()
  return 10
end
