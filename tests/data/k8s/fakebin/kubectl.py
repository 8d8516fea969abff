# Fake `kubectl` for dbstack's tests: records argv. `kustomize` runs the real
# kubectl ($REAL_KUBECTL); `port-forward` forwards the local port to
# $FAKE_FORWARD_TARGET (host:port) like kubectl forwards to a Service.
import json
import os
import socket
import sys
import threading

args = sys.argv[1:]
with open(os.environ["FAKE_TOOLS_LOG"], "a") as fh:
    fh.write(json.dumps(["kubectl", *args]) + "\n")
if args[:1] == ["version"]:
    os.execv(os.environ["REAL_KUBECTL"], [os.environ["REAL_KUBECTL"], *args])
if "kustomize" in args:
    os.execv(os.environ["REAL_KUBECTL"], [os.environ["REAL_KUBECTL"], *args])
if "port-forward" not in args:
    print(f"fake kubectl: unexpected arguments {args}", file=sys.stderr)
    sys.exit(2)
target = os.environ.get("FAKE_FORWARD_TARGET")
if not target:
    print("error: unable to forward port because pod is not running. Current status=Pending", file=sys.stderr)
    sys.exit(1)
i = args.index("port-forward")
local = int(args[i + 2].split(":")[0])
host, port = target.rsplit(":", 1)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", local))
srv.listen(16)
print(f"Forwarding from 127.0.0.1:{local} -> 5432", flush=True)


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


while True:
    conn, _ = srv.accept()
    try:
        up = socket.create_connection((host, int(port)))
    except OSError:
        conn.close()
        continue
    threading.Thread(target=pipe, args=(conn, up), daemon=True).start()
    threading.Thread(target=pipe, args=(up, conn), daemon=True).start()
