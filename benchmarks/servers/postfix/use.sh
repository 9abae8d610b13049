printf "Subject: t\n\nbody\n" | sendmail root@localhost && for i in 1 2 3 4 5 6 7 8 9 10; do test -s /var/mail/root && exit 0; sleep 0.5; done; exit 1
