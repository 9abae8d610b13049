bash -c 'exec 3<>/dev/tcp/127.0.0.1/80 && printf "GET /index.html HTTP/1.0\r\n\r\n" >&3 && grep -q "200 OK" <&3' && test -s /var/log/apache2/access.log
