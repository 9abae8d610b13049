bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && printf "GET /x HTTP/1.0\r\n\r\n" >&3 && head -1 <&3 | grep -q HTTP' && sleep 1 && ls /var/lib/tomcat10/logs | grep -q localhost_access
