dig +short @127.0.0.1 probe.test | grep -q 127.0.0.9 && test -s /run/dnsmasq/dnsmasq.pid
