"""Init container of every process that uses a database: wait for its migration Job.

Runs in the Shoptrail image (standard library only) with the pod's service
account, which may read Jobs and Pods in the namespace (migrations.yaml). It
passes once the Job named on the command line has succeeded **with this pod's
image**: a new version's pods wait for the new version's migration, and never
start on the schema of the previous one.

    python /opt/shoptrail/wait_for_migration.py activity-migrate
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from typing import Any

ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
API = "https://kubernetes.default.svc"
INIT_CONTAINER = "wait-for-migration"


def get(path: str) -> dict[str, Any]:
    with open(f"{ACCOUNT}/token") as token_file:
        token = token_file.read().strip()
    context = ssl.create_default_context(cafile=f"{ACCOUNT}/ca.crt")
    # A fixed https URL (the cluster's API), never one from input.
    request = urllib.request.Request(  # noqa: S310
        API + path, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
        found: dict[str, Any] = json.load(response)
    return found


def main(job: str) -> None:
    with open(f"{ACCOUNT}/namespace") as namespace_file:
        namespace = namespace_file.read().strip()
    pod = get(f"/api/v1/namespaces/{namespace}/pods/{os.environ['HOSTNAME']}")
    image = next(c["image"] for c in pod["spec"]["initContainers"] if c["name"] == INIT_CONTAINER)
    said = ""
    while True:
        try:
            found = get(f"/apis/batch/v1/namespaces/{namespace}/jobs/{job}")
            ran = [c["image"] for c in found["spec"]["template"]["spec"]["containers"]]
            if image not in ran:
                state = f"job {job} runs {ran}, not {image}: waiting for the new one"
            elif found.get("status", {}).get("succeeded", 0) >= 1:
                print(f"job {job} has migrated the database for {image}", flush=True)
                return
            else:
                state = f"job {job} has not succeeded yet"
        except urllib.error.HTTPError as error:
            state = f"job {job}: HTTP {error.code}"
        except OSError as error:
            state = f"job {job}: {error}"
        if state != said:
            print(state, flush=True)
            said = state
        time.sleep(5)


if __name__ == "__main__":
    main(sys.argv[1])
