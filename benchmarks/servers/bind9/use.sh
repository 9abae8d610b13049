dig +short @127.0.0.1 localhost | grep -q 127.0.0.1 && rndc status | grep -q 'server is up'
