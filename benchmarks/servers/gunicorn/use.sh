python3 -c "import urllib.request; assert urllib.request.urlopen('http://127.0.0.1:8000/').read() == b'hello'"
