dig +time=1 +tries=1 @127.0.0.1 localhost A | grep -q "127.0.0.1"
