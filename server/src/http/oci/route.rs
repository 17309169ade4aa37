//! `/v2/...` paths parsed into typed endpoints, splitting from the right so
//! repository names with any number of `/` work, and each (method,
//! endpoint) turned into the operation and the action it needs before any
//! authentication happens. Pure: no I/O.

use axum::http::Method;

use crate::{
    domain::{Digest, DomainError, Reference, RepositoryName},
    policy::{Operation, RepositoryOperation},
    storage::UploadId,
};

use super::error::OciError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v2/`: API version check.
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/manifests/<reference>`
    Manifest(RepositoryName, Reference),
    /// `/v2/<name>/blobs/<digest>`
    Blob(RepositoryName, Digest),
    /// `/v2/<name>/blobs/uploads/`
    Uploads(RepositoryName),
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload(RepositoryName, UploadId),
    /// `/v2/<name>/tags/list`
    Tags(RepositoryName),
    /// `/v2/<name>/referrers/<digest>`
    Referrers(RepositoryName, Digest),
}

/// What a `/v2` path names by its shape alone, split from the right: the
/// repository name, reference, digest or upload id are the texts as they
/// stand, not yet checked. `None`: no endpoint has this shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape<'a> {
    Base,
    Catalog,
    Tags(&'a str),
    Uploads(&'a str),
    Upload(&'a str, &'a str),
    Manifest(&'a str, &'a str),
    Blob(&'a str, &'a str),
    Referrers(&'a str, &'a str),
}

impl<'a> Shape<'a> {
    pub fn of(path: &'a str) -> Option<Self> {
        let rest = path.strip_prefix("/v2")?;
        let rest = match rest {
            "" | "/" => return Some(Self::Base),
            _ => rest.strip_prefix('/')?,
        };
        if rest == "_catalog" {
            return Some(Self::Catalog);
        }
        if let Some(name) = rest.strip_suffix("/tags/list") {
            return Some(Self::Tags(name));
        }
        if let Some(name) =
            rest.strip_suffix("/blobs/uploads/").or_else(|| rest.strip_suffix("/blobs/uploads"))
        {
            return Some(Self::Uploads(name));
        }
        let (head, last) = rest.rsplit_once('/')?;
        if let Some(name) = head.strip_suffix("/blobs/uploads") {
            return Some(Self::Upload(name, last));
        }
        if let Some(name) = head.strip_suffix("/manifests") {
            return Some(Self::Manifest(name, last));
        }
        if let Some(name) = head.strip_suffix("/blobs") {
            return Some(Self::Blob(name, last));
        }
        head.strip_suffix("/referrers").map(|name| Self::Referrers(name, last))
    }
}

impl Endpoint {
    pub fn parse(path: &str) -> Result<Self, OciError> {
        Ok(match Shape::of(path).ok_or(OciError::NotFound)? {
            Shape::Base => Self::Base,
            Shape::Catalog => Self::Catalog,
            Shape::Tags(name) => Self::Tags(name_of(name)?),
            Shape::Uploads(name) => Self::Uploads(name_of(name)?),
            Shape::Upload(name, upload) => {
                let upload = upload.parse().map_err(|_| OciError::BlobUploadUnknown)?;
                Self::Upload(name_of(name)?, upload)
            }
            Shape::Manifest(name, reference) => {
                let name = name_of(name)?;
                Self::Manifest(name, reference.parse().map_err(reference_error)?)
            }
            Shape::Blob(name, digest) => {
                let name = name_of(name)?;
                Self::Blob(name, digest_of(digest)?)
            }
            Shape::Referrers(name, digest) => {
                let name = name_of(name)?;
                Self::Referrers(name, digest_of(digest)?)
            }
        })
    }

    /// The repository the endpoint is about, if any.
    pub fn repository(&self) -> Option<&RepositoryName> {
        match self {
            Self::Base | Self::Catalog => None,
            Self::Manifest(name, _)
            | Self::Blob(name, _)
            | Self::Uploads(name)
            | Self::Upload(name, _)
            | Self::Tags(name)
            | Self::Referrers(name, _) => Some(name),
        }
    }
}

fn name_of(text: &str) -> Result<RepositoryName, OciError> {
    text.parse().map_err(|error: DomainError| OciError::NameInvalid(error.to_string()))
}

fn digest_of(text: &str) -> Result<Digest, OciError> {
    text.parse().map_err(|error: DomainError| OciError::DigestInvalid(error.to_string()))
}

fn reference_error(error: DomainError) -> OciError {
    match error {
        DomainError::TagInvalid { reason } => OciError::TagInvalid(reason),
        other => OciError::DigestInvalid(other.to_string()),
    }
}

/// The operation each (method, endpoint) asks the policy for; the actions
/// each operation needs are `policy::RepositoryOperation::allowed_by`, the
/// one table for every surface. `None`: method not allowed.
pub fn operation<'a>(method: &Method, endpoint: &'a Endpoint) -> Option<Operation<'a>> {
    use RepositoryOperation::*;
    let read_only = *method == Method::GET || *method == Method::HEAD;
    let on = |name, operation| Some(Operation::Repository(name, operation));
    match endpoint {
        Endpoint::Base if read_only => Some(Operation::SignedIn),
        Endpoint::Catalog if *method == Method::GET => Some(Operation::ListRepositories),
        Endpoint::Manifest(name, _) | Endpoint::Blob(name, _) if read_only => on(name, Pull),
        Endpoint::Manifest(name, _) if *method == Method::PUT => on(name, Push),
        Endpoint::Manifest(name, Reference::Tag(_)) if *method == Method::DELETE => on(name, Untag),
        Endpoint::Manifest(name, Reference::Digest(_)) if *method == Method::DELETE => {
            on(name, DeleteManifest)
        }
        Endpoint::Blob(name, _) if *method == Method::DELETE => on(name, DeleteBlob),
        Endpoint::Uploads(name) if *method == Method::POST => on(name, Push),
        Endpoint::Upload(name, _)
            if matches!(*method, Method::GET | Method::PATCH | Method::PUT | Method::DELETE) =>
        {
            on(name, Push)
        }
        Endpoint::Tags(name) | Endpoint::Referrers(name, _) if *method == Method::GET => {
            on(name, ReadMetadata)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> RepositoryName {
        text.parse().unwrap()
    }

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_every_endpoint_from_the_right() {
        let upload = "5a0f6c1e-2f4b-4c3d-9e8f-0a1b2c3d4e5f";
        let cases = [
            ("/v2/", Endpoint::Base),
            ("/v2", Endpoint::Base),
            ("/v2/_catalog", Endpoint::Catalog),
            ("/v2/a/tags/list", Endpoint::Tags(name("a"))),
            ("/v2/a/b/c/tags/list", Endpoint::Tags(name("a/b/c"))),
            ("/v2/a/blobs/uploads/", Endpoint::Uploads(name("a"))),
            ("/v2/a/blobs/uploads", Endpoint::Uploads(name("a"))),
            (
                &format!("/v2/x/y/blobs/uploads/{upload}"),
                Endpoint::Upload(name("x/y"), upload.parse().unwrap()),
            ),
            ("/v2/x/manifests/latest", Endpoint::Manifest(name("x"), "latest".parse().unwrap())),
            (&format!("/v2/x/manifests/{DIGEST}"), Endpoint::Manifest(name("x"), DIGEST.parse().unwrap())),
            (&format!("/v2/x/blobs/{DIGEST}"), Endpoint::Blob(name("x"), DIGEST.parse().unwrap())),
            (&format!("/v2/x/referrers/{DIGEST}"), Endpoint::Referrers(name("x"), DIGEST.parse().unwrap())),
            // Names may themselves contain the words of the API.
            ("/v2/manifests/manifests/v1", Endpoint::Manifest(name("manifests"), "v1".parse().unwrap())),
            ("/v2/blobs/tags/list", Endpoint::Tags(name("blobs"))),
        ];
        for (path, expected) in cases {
            assert_eq!(Endpoint::parse(path).unwrap(), expected, "{path}");
        }
    }

    #[test]
    fn refuses_bad_names_digests_references_and_paths() {
        let cases: [(&str, fn(&OciError) -> bool); 9] = [
            ("/v2/A/tags/list", |e| matches!(e, OciError::NameInvalid(_))),
            ("/v2/../etc/manifests/x", |e| matches!(e, OciError::NameInvalid(_))),
            ("/v2/a/../../b/blobs/uploads/", |e| matches!(e, OciError::NameInvalid(_))),
            ("/v2/a/blobs/sha256:abc", |e| matches!(e, OciError::DigestInvalid(_))),
            ("/v2/a/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", |e| matches!(e, OciError::DigestInvalid(_))),
            ("/v2/a/manifests/-bad", |e| matches!(e, OciError::TagInvalid(_))),
            ("/v2/a/blobs/uploads/not-a-uuid", |e| matches!(e, OciError::BlobUploadUnknown)),
            ("/v2/a/unknown/x", |e| matches!(e, OciError::NotFound)),
            ("/v3/a/tags/list", |e| matches!(e, OciError::NotFound)),
        ];
        for (path, expected) in cases {
            let error = Endpoint::parse(path).unwrap_err();
            assert!(expected(&error), "{path}: {error:?}");
        }
    }

    #[test]
    fn every_request_names_its_operation() {
        use RepositoryOperation::*;
        let r = name("r");
        let m = Endpoint::Manifest(name("r"), "t".parse().unwrap());
        let md = Endpoint::Manifest(name("r"), DIGEST.parse().unwrap());
        let b = Endpoint::Blob(name("r"), DIGEST.parse().unwrap());
        let us = Endpoint::Uploads(name("r"));
        let u = Endpoint::Upload(name("r"), UploadId::generate());
        let t = Endpoint::Tags(name("r"));
        let rf = Endpoint::Referrers(name("r"), DIGEST.parse().unwrap());
        let on = |operation| Some(Operation::Repository(&r, operation));
        let table = [
            (Method::GET, &Endpoint::Base, Some(Operation::SignedIn)),
            (Method::GET, &Endpoint::Catalog, Some(Operation::ListRepositories)),
            (Method::POST, &Endpoint::Catalog, None),
            (Method::GET, &m, on(Pull)),
            (Method::HEAD, &m, on(Pull)),
            (Method::PUT, &m, on(Push)),
            (Method::DELETE, &m, on(Untag)),
            (Method::DELETE, &md, on(DeleteManifest)),
            (Method::POST, &m, None),
            (Method::GET, &b, on(Pull)),
            (Method::HEAD, &b, on(Pull)),
            (Method::DELETE, &b, on(DeleteBlob)),
            (Method::PUT, &b, None),
            (Method::POST, &us, on(Push)),
            (Method::GET, &us, None),
            (Method::GET, &u, on(Push)),
            (Method::PATCH, &u, on(Push)),
            (Method::PUT, &u, on(Push)),
            (Method::DELETE, &u, on(Push)),
            (Method::GET, &t, on(ReadMetadata)),
            (Method::DELETE, &t, None),
            (Method::GET, &rf, on(ReadMetadata)),
        ];
        for (method, endpoint, expected) in table {
            assert_eq!(operation(&method, endpoint), expected, "{method} {endpoint:?}");
        }
    }
}
