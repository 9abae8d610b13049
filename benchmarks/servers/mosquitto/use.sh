mosquitto_pub -h 127.0.0.1 -r -q 1 -t use/retained -m kept && test -s /var/log/mosquitto/mosquitto.log
