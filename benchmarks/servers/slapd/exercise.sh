ldapsearch -Q -Y EXTERNAL -H ldapi:/// -b cn=config -s base dn >/dev/null && ldapmodify -Q -Y EXTERNAL -H ldapi:/// >/dev/null <<EOF2
dn: olcDatabase={1}mdb,cn=config
changetype: modify
replace: olcDbMaxSize
olcDbMaxSize: 20000000
EOF2
