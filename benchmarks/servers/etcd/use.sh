etcdctl --endpoints=http://127.0.0.1:2379 put used yes | grep -q OK && etcdctl --endpoints=http://127.0.0.1:2379 get used | grep -q yes
