"""Schemathesis hooks for the management API run (server/tests/it/schemathesis.rs,
docs/TESTING.md): keep the administrator the run signs in as able to sign in.

The run has the administrator's rights and its stateful phase reuses the names
it reads from earlier answers, so it finds the administrator's own role
assignments and can delete them or reset the administrator's password. Both are
allowed (another Owner may remain), and everything after them would be a
401 or 403, testing nothing. A call that would do either is sent to a name
that does not exist instead, and is checked like any other (404).

Environment: PORTCULLIS_ST_URL (http://host:port) and PORTCULLIS_ST_USER /
PORTCULLIS_ST_PASSWORD, the same the configuration file signs in with.
"""

import base64
import json
import os
import urllib.request
import uuid

import schemathesis

_URL = os.environ["PORTCULLIS_ST_URL"].rstrip("/")
_USER = os.environ.get("PORTCULLIS_ST_USER", "admin")
_PASSWORD = os.environ["PORTCULLIS_ST_PASSWORD"]


def _get(path):
    request = urllib.request.Request(_URL + path)
    token = base64.b64encode(f"{_USER}:{_PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


# The assignments that give the administrator its rights, as the run starts.
_OWN_ASSIGNMENTS = {a["name"] for a in _get(f"/api/v1/role-assignments?assignee={_USER}")}
_NOBODY = "schemathesis-nobody"


@schemathesis.hook
def before_call(context, case, kwargs):
    path = case.operation.path
    method = case.method.upper()
    name = case.path_parameters.get("name") if case.path_parameters else None
    if not isinstance(name, str):
        return
    if path.endswith("/role-assignments/{name}") and method in ("PATCH", "DELETE"):
        if name in _OWN_ASSIGNMENTS:
            case.path_parameters["name"] = str(uuid.uuid4())
    elif path.endswith("/users/{name}") and method == "PATCH" and name.lower() == _USER.lower():
        # A password reset of oneself (the other fields are safe: disabling
        # oneself is refused).
        if isinstance(case.body, dict) and "password" in case.body:
            case.path_parameters["name"] = _NOBODY
