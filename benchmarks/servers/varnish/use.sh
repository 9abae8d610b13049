bash -c 'exec 3<>/dev/tcp/127.0.0.1/6081 && printf "GET /x HTTP/1.0\r\n\r\n" >&3 && head -1 <&3 | grep -q 503' && varnishstat -1 -f MAIN.client_req | grep -q client_req
