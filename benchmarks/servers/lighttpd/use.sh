bash -c 'exec 3<>/dev/tcp/127.0.0.1/80 && printf "GET /index.lighttpd.html HTTP/1.0\r\n\r\n" >&3 && head -1 <&3 | grep -q 200' && sleep 1 && test -s /var/log/lighttpd/access.log
