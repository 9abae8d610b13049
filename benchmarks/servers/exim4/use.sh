printf "From: a@localhost\nTo: root@localhost\nSubject: t\n\nbody\n" | exim4 -odq root@localhost && sleep 1 && test -s /var/log/exim4/mainlog
