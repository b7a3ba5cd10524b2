module gameday.local/pause

go 1.21
