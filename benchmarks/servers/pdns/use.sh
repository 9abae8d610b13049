pdnsutil create-zone used.example ns1.used.example >/dev/null && pdnsutil add-record used.example www A 192.0.2.1 >/dev/null && pdnsutil list-zone used.example | grep -q 192.0.2.1
