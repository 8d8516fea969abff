# Fake `kind` for dbstack's tests (copied onto PATH with a shebang for this
# interpreter). It records argv and keeps its clusters in a state file; a
# create also writes the kind-<name> context into $KUBECONFIG like kind does.
import json
import os
import sys

import yaml

log, state = os.environ["FAKE_TOOLS_LOG"], os.environ["FAKE_KIND_STATE"]
with open(log, "a") as fh:
    fh.write(json.dumps(["kind", *sys.argv[1:]]) + "\n")
names = [n for n in open(state).read().splitlines() if n] if os.path.exists(state) else []
args = sys.argv[1:]
if args[:1] == ["version"]:
    print(os.environ.get("FAKE_KIND_VERSION", "kind v0.32.0 go1.24.6 linux/amd64"))
    sys.exit(0)
if args[:2] == ["get", "clusters"]:
    if names:
        print("\n".join(names))
    else:
        print("No kind clusters found.", file=sys.stderr)
    sys.exit(0)


def name_of(a):
    return a[a.index("--name") + 1] if "--name" in a else "kind"


if args[:2] == ["create", "cluster"]:
    name = name_of(args)
    if name in names:
        print(
            f'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "{name}"',
            file=sys.stderr,
        )
        sys.exit(1)
    names.append(name)
    open(state, "w").write("\n".join(names) + "\n")
    kc = os.environ["KUBECONFIG"]
    cfg = yaml.safe_load(open(kc)) if os.path.exists(kc) else None
    cfg = cfg or {"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [], "users": []}
    ctx = f"kind-{name}"
    cfg["clusters"] = [c for c in cfg["clusters"] if c["name"] != ctx] + [
        {"name": ctx, "cluster": {"server": "https://127.0.0.1:40123"}}
    ]
    cfg["contexts"] = [c for c in cfg["contexts"] if c["name"] != ctx] + [
        {"name": ctx, "context": {"cluster": ctx, "user": ctx}}
    ]
    cfg["current-context"] = ctx
    open(kc, "w").write(yaml.safe_dump(cfg))
    print(f'Set kubectl context to "{ctx}"', file=sys.stderr)
    sys.exit(0)
if args[:2] == ["delete", "cluster"]:
    name = name_of(args)
    open(state, "w").write("".join(n + "\n" for n in names if n != name))
    sys.exit(0)
print(f"fake kind: unexpected arguments {args}", file=sys.stderr)
sys.exit(2)
