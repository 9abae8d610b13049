curl -fs -o /dev/null http://127.0.0.1:80/ && curl -fs http://127.0.0.1:2019/config/ | grep -q apps && test -s /var/lib/caddy/.config/caddy/autosave.json
