"""FAKE: a stand-in for the `atlas` CLI (it cannot be installed here).

Installed on PATH as `atlas` by the tests of the `--engine atlas` bridge. It
does no migration work: it records how it was called — argv, environment,
the config it read from the file named by `--config file://…` (as Atlas
does: `/dev/stdin` when piped), and the files of the migration directory that
config points at — as one JSON line appended to $FAKE_ATLAS_LOG, prints one
line, and exits with $FAKE_ATLAS_EXIT (default 0). For `migrate diff NAME`
with `--env E` listed in $FAKE_ATLAS_DIFF, it writes the file Atlas would
name `20260208154545_NAME.sql` into the directory (and leaves atlas.sum
alone: the caller re-hashes after renaming).
"""

import json
import os
import re
import sys

args = sys.argv[1:]
record = {"argv": args, "env": dict(os.environ), "config": None, "dir_files": None}
if "--config" in args:
    url = args[args.index("--config") + 1]
    if url.startswith("file://"):
        with open(url[len("file://") :], encoding="utf-8") as fh:
            record["config"] = fh.read()
        m = re.search(r'dir\s*=\s*"file://([^"]+)"', record["config"])
        if m and os.path.isdir(m.group(1)):
            record["dir_files"] = sorted(os.listdir(m.group(1)))
if args[:2] == ["migrate", "diff"] and record["config"]:
    env_name = args[args.index("--env") + 1]
    if env_name in os.environ.get("FAKE_ATLAS_DIFF", "").split(","):
        target = re.search(r'dir\s*=\s*"file://([^"]+)"', record["config"]).group(1)
        with open(os.path.join(target, "20260208154545_" + args[2] + ".sql"), "w") as fh:
            fh.write(f"-- fake diff\nCREATE TABLE fake_{env_name} ();\n")
with open(os.environ["FAKE_ATLAS_LOG"], "a", encoding="utf-8") as fh:
    fh.write(json.dumps(record) + "\n")
if args[:2] != ["migrate", "diff"]:  # like Atlas, diff writes its file silently
    print("fake atlas: " + " ".join(args[:2]))
sys.exit(int(os.environ.get("FAKE_ATLAS_EXIT", "0")))
