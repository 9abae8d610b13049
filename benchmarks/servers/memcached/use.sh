bash -c 'exec 3<>/dev/tcp/127.0.0.1/11211 && printf "set k 0 0 1\r\nv\r\nget k\r\nquit\r\n" >&3 && grep -q "VALUE k" <&3'
