ssh-keyscan -T 2 127.0.0.1 2>/dev/null | grep -q ssh-ed25519
