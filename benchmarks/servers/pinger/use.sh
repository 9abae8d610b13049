grep -q '1 packets received' /run/pinger/last
