bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && printf "GET / HTTP/1.0\r\n\r\n" >&3 && grep -q 200 <&3' && test -S /run/haproxy/admin.sock
