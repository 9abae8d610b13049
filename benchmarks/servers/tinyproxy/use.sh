bash -c 'exec 3<>/dev/tcp/127.0.0.1/8888 && printf "GET http://127.0.0.1:9/ HTTP/1.0\r\n\r\n" >&3 && head -1 <&3 | grep -q HTTP' && sleep 1 && test -s /var/log/tinyproxy/tinyproxy.log
