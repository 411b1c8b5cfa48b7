# Sourced by scripts/services.sh and scripts/serve.sh.
# A free 127.0.0.1 port (the kernel's choice; only loopback is ever used).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
