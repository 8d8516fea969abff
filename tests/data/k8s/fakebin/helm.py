# Fake `helm` for dbstack's tests: records argv; exit code from $FAKE_HELM_RC.
import json
import os
import sys

with open(os.environ["FAKE_TOOLS_LOG"], "a") as fh:
    fh.write(json.dumps(["helm", *sys.argv[1:]]) + "\n")
if sys.argv[1:2] == ["version"]:
    print(os.environ.get("FAKE_HELM_VERSION", "v3.19.0+g3d8990f"))
    sys.exit(0)
rc = int(os.environ.get("FAKE_HELM_RC", "0"))
if rc:
    print("Error: fake helm failure", file=sys.stderr)
sys.exit(rc)
