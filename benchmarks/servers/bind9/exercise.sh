for i in 1 2 3 4 5 6 7 8 9 10; do dig +short @127.0.0.1 localhost | grep -q 127.0.0.1 && rndc status | grep -q 'server is up' && exit 0; sleep 0.5; done; exit 1
