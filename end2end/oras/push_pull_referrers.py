#!/usr/bin/env python3
"""The oras Python SDK (`pip install oras`) against a running Portcullis.

Driven by the server's integration tests (server/tests/it/clients.rs); it
can also be run by hand:

    echo "$PASSWORD" | python3 end2end/oras/push_pull_referrers.py \
        127.0.0.1:5000 samples/artifact admin WORKDIR

It logs in (the password is read from stdin, as `oras login
--password-stdin` does), pushes an artifact with a manifest annotation in
chunks, pulls it back with a fresh client that only knows the credentials the
login stored, pushes a referrer whose `subject` is the artifact's manifest,
and finds it with the referrers API. It prints one JSON object with what it
saw, and exits non-zero with the reason on the first surprise.

HOME must point at a scratch directory: the login writes
$HOME/.docker/config.json.

oras-py 0.2.43 caches one bearer token per client. A push starts with a HEAD
of the blob, whose challenge asks for `pull` only; when the upload POST then
answers 401 `insufficient_scope` (as the reference registry does), oras-py
retries with the same cached token instead of asking for the challenge's
scope (it asks again only after a 403), and the push fails with
"Issue retrieving session url". So the pushing client first answers the
challenge of the upload endpoint itself, through oras-py's own
`authenticate_request`, and holds a pull+push token from the start. Pass
--without-push-token-workaround to see the unpatched behaviour.
"""

import hashlib
import json
import os
import sys

import oras.client
import oras.oci
import oras.version

ARTIFACT_TYPE = "application/vnd.example.sbom+json"
LAYER_TYPE = "application/vnd.example.text"


def fail(message):
    print(f"push_pull_referrers.py: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def new_client(registry):
    return oras.client.OrasClient(hostname=registry, insecure=True, tls_verify=False)


def hold_push_token(client, registry, repository):
    """Answers the challenge of an upload start, so the client's cached
    token carries pull and push (see the module's docstring)."""
    challenge = client.session.request("POST", f"http://{registry}/v2/{repository}/blobs/uploads/")
    check(challenge.status_code == 401, f"an anonymous upload start answered {challenge.status_code}")
    _, changed = client.auth.authenticate_request(challenge, {})
    check(changed, f"no token for the challenge {challenge.headers.get('WWW-Authenticate')!r}")


def main():
    args = [a for a in sys.argv[1:] if a != "--without-push-token-workaround"]
    workaround = len(args) == len(sys.argv) - 1
    if len(args) != 4:
        fail(
            "usage: push_pull_referrers.py [--without-push-token-workaround] "
            "REGISTRY REPOSITORY USERNAME WORKDIR (password on stdin)"
        )
    registry, repository, username, workdir = args
    os.makedirs(workdir, exist_ok=True)
    # oras-py only pushes files below the working directory.
    os.chdir(workdir)

    client = new_client(registry)
    login = client.login(
        username=username, password=None, password_stdin=True, hostname=registry, tls_verify=False
    )
    check("Succeeded" in json.dumps(login), f"login answered {login}")
    if workaround:
        hold_push_token(client, registry, repository)

    # An artifact larger than one chunk, so the chunked upload takes
    # several PATCH requests.
    content = bytes((i * 7 + 3) % 256 for i in range(200_000))
    with open("artifact.bin", "wb") as f:
        f.write(content)
    target = f"{registry}/{repository}:v1"
    response = client.push(
        target=target,
        files=[f"artifact.bin:{LAYER_TYPE}"],
        manifest_annotations={"org.example.note": "pushed by oras-py"},
        do_chunked=True,
        chunk_size=64 * 1024,
        quiet=True,
    )
    check(response.status_code == 201, f"manifest PUT answered {response.status_code}: {response.text}")
    pushed_digest = response.headers.get("Docker-Content-Digest", "")

    # A fresh client: everything it knows comes from the stored login.
    puller = new_client(registry)
    pulled = puller.pull(target=target, outdir=os.path.join(workdir, "pulled"))
    check(len(pulled) == 1, f"pulled {pulled}")
    with open(pulled[0], "rb") as f:
        check(f.read() == content, "pulled bytes differ from the pushed bytes")
    manifest = puller.get_manifest(target)
    check(
        manifest.get("annotations", {}).get("org.example.note") == "pushed by oras-py",
        f"manifest annotations: {manifest.get('annotations')}",
    )

    # The subject must name the manifest exactly as stored, so take its
    # bytes from the registry rather than re-serialising the dict.
    raw = puller.do_request(
        f"http://{registry}/v2/{repository}/manifests/v1",
        "GET",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    check(raw.status_code == 200, f"manifest GET answered {raw.status_code}")
    subject_digest = "sha256:" + hashlib.sha256(raw.content).hexdigest()
    check(
        pushed_digest in ("", subject_digest),
        f"Docker-Content-Digest {pushed_digest} is not the digest of the stored manifest {subject_digest}",
    )
    subject = oras.oci.Subject(
        mediaType="application/vnd.oci.image.manifest.v1+json", digest=subject_digest, size=len(raw.content)
    )

    with open("sbom.json", "w") as f:
        json.dump({"packages": ["hello"]}, f)
    with open("config.json", "w") as f:
        f.write("{}")
    response = client.push(
        target=f"{registry}/{repository}:sbom",
        files=["sbom.json:application/spdx+json"],
        manifest_config=f"config.json:{ARTIFACT_TYPE}",
        manifest_annotations={"org.example.kind": "sbom"},
        subject=subject,
        quiet=True,
    )
    check(response.status_code == 201, f"referrer PUT answered {response.status_code}: {response.text}")
    referrer_digest = response.headers.get("Docker-Content-Digest", "")
    check(referrer_digest.startswith("sha256:"), f"referrer PUT gave no digest: {dict(response.headers)}")
    check(
        response.headers.get("OCI-Subject") == subject_digest,
        f"referrer PUT answered OCI-Subject {response.headers.get('OCI-Subject')!r}, expected {subject_digest}",
    )

    referrers = puller.do_request(f"http://{registry}/v2/{repository}/referrers/{subject_digest}", "GET")
    check(referrers.status_code == 200, f"referrers answered {referrers.status_code}: {referrers.text}")
    index = referrers.json()
    found = [m for m in index.get("manifests", []) if m.get("digest") == referrer_digest]
    check(len(found) == 1, f"referrer {referrer_digest} not in {index}")
    check(found[0].get("artifactType") == ARTIFACT_TYPE, f"referrer descriptor {found[0]}")
    check(found[0].get("annotations", {}).get("org.example.kind") == "sbom", f"referrer descriptor {found[0]}")

    print(
        json.dumps(
            {
                "oras_version": oras.version.__version__,
                "artifact_digest": subject_digest,
                "referrer_digest": referrer_digest,
                "referrers": index,
            }
        )
    )


if __name__ == "__main__":
    main()
