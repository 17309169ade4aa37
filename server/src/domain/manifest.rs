//! Manifest documents: turns a pushed manifest's bytes and Content-Type into
//! a `ParsedManifest` (its kind, media type, the blobs and manifests it
//! references, its subject and artifact type) and renders a referrers index.
//! Pure: no I/O, no async; it calls nothing outside `domain`, and never `db`,
//! `storage`, `service` or `http` — whether referenced content exists is the
//! service's question, not this module's.
//!
//! Sources: OCI image-spec v1.1 (`manifest.md`, `image-index.md`,
//! `descriptor.md`), distribution-spec v1.1 ("Pushing Manifests", "Listing
//! Referrers") and Docker's "Image Manifest Version 2, Schema 2".
//!
//! The document is walked as a JSON tree rather than deserialized into
//! structs so each refusal names the exact field (`layers[2].digest: ...`).
//! Unknown fields are ignored, as the image-spec requires of consumers;
//! duplicate object keys are refused, because two parsers that keep
//! different copies of a key would read one manifest two ways.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use super::Digest;

/// OCI image manifest (image-spec `manifest.md`).
pub const MEDIA_TYPE_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index (image-spec `image-index.md`); also the referrers response.
pub const MEDIA_TYPE_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, version 2 schema 2.
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (the schema 2 multi-platform form).
pub const MEDIA_TYPE_DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The OCI empty descriptor's type: the `{}` blob artifacts use as config.
pub const MEDIA_TYPE_OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The default OCI image configuration.
pub const MEDIA_TYPE_OCI_IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Docker schema 1, unsigned. Refused as unsupported.
pub const MEDIA_TYPE_DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker schema 1, signed. Refused as unsupported.
pub const MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// The manifest media types this registry stores and serves.
pub const SUPPORTED_MANIFEST_MEDIA_TYPES: [&str; 4] = [
    MEDIA_TYPE_OCI_MANIFEST,
    MEDIA_TYPE_OCI_INDEX,
    MEDIA_TYPE_DOCKER_MANIFEST,
    MEDIA_TYPE_DOCKER_MANIFEST_LIST,
];

/// The largest manifest accepted unless configured otherwise. The
/// distribution-spec says registries SHOULD accept at least 4 MiB, and that
/// is also where Distribution stops, so a manifest body is always small
/// enough to hold and hash in memory.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// The most an operator may raise the manifest limit to.
pub const MANIFEST_BYTES_CEILING: usize = 64 * 1024 * 1024;

/// Content-Types that say nothing about the manifest; the body decides.
const GENERIC_CONTENT_TYPES: [&str; 2] = ["application/json", "application/octet-stream"];

/// Whether a manifest describes one image (or artifact) or lists others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManifestKind {
    /// An OCI image manifest or Docker schema 2 manifest: config and layers.
    Image,
    /// An OCI image index or Docker manifest list: child manifests.
    Index,
}

impl ManifestKind {
    /// The kind a supported manifest media type denotes; `None` for any
    /// other type.
    pub fn of_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            MEDIA_TYPE_OCI_MANIFEST | MEDIA_TYPE_DOCKER_MANIFEST => Some(ManifestKind::Image),
            MEDIA_TYPE_OCI_INDEX | MEDIA_TYPE_DOCKER_MANIFEST_LIST => Some(ManifestKind::Index),
            _ => None,
        }
    }
}

/// A content descriptor (image-spec `descriptor.md`): what a manifest says
/// about content it points at. Serializes with the spec's camelCase names
/// and leaves out absent or empty optional fields, so it can be emitted as
/// is in a referrers index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Only index entries carry one (image-spec `image-index.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// The platform an index entry's image runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(rename = "os.version", default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// A manifest that passed validation, reduced to what the registry acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    /// One of `SUPPORTED_MANIFEST_MEDIA_TYPES`: the type to store and to
    /// answer with as Content-Type.
    pub media_type: String,
    pub kind: ManifestKind,
    /// The image configuration; always present for `Image`, never for `Index`.
    pub config: Option<Descriptor>,
    /// Image layers, in order; empty for an index (and for some artifacts).
    pub layers: Vec<Descriptor>,
    /// An index's child manifests; empty for an image.
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to, making it a referrer of that digest.
    pub subject: Option<Descriptor>,
    /// The type a referrers index reports for this manifest: for an image,
    /// `artifactType`, else the config's media type; for an index,
    /// `artifactType` if set.
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

impl ParsedManifest {
    /// The blobs this manifest needs in the repository: config, then layers.
    pub fn blob_references(&self) -> impl Iterator<Item = &Descriptor> {
        self.config.iter().chain(&self.layers)
    }

    /// The manifests this manifest needs in the repository: an index's
    /// children. The subject is not among them: the distribution-spec lets
    /// a referrer be pushed before its subject.
    pub fn manifest_references(&self) -> impl Iterator<Item = &Descriptor> {
        self.manifests.iter()
    }

    /// This manifest's entry in its subject's referrers index, given the
    /// digest and size of the bytes it was parsed from: its media type,
    /// artifact type and annotations (distribution-spec "Listing Referrers").
    pub fn referrer_descriptor(&self, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest,
            size,
            artifact_type: self.artifact_type.clone(),
            annotations: self.annotations.clone(),
            platform: None,
        }
    }
}

/// Why a pushed manifest was refused. The HTTP layer maps `Invalid` to
/// `MANIFEST_INVALID`, `Unsupported` to `UNSUPPORTED`, and `TooLarge` to
/// 413 Payload Too Large (distribution-spec "Pushing Manifests") or
/// `MANIFEST_INVALID`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest is {size} bytes, more than the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    /// The reason names the field at fault and never quotes text that is
    /// not known to be a well-formed media type or digest.
    #[error("invalid manifest: {reason}")]
    Invalid { reason: String },
    /// A well-formed media type that is not a manifest type this registry
    /// supports (Docker schema 1, for instance).
    #[error(
        "unsupported manifest media type {media_type:?}: this registry accepts OCI image manifests and \
         indexes and Docker schema 2 manifests and manifest lists"
    )]
    Unsupported { media_type: String },
}

fn invalid(reason: impl Into<String>) -> ManifestError {
    ManifestError::Invalid { reason: reason.into() }
}

/// Validates a pushed manifest and extracts what the registry needs from it.
///
/// The media type comes from `content_type` (parameters stripped); a
/// `mediaType` in the body must then be the same. A missing or generic
/// Content-Type (`application/json`, `application/octet-stream`) defers to
/// the body's `mediaType` and, failing that, to its shape: `manifests` makes
/// an OCI index, `config`/`layers` an OCI image manifest.
///
/// # Errors
///
/// `TooLarge` past `MAX_MANIFEST_BYTES`; `Unsupported` for a well-formed
/// media type that is not a supported manifest type (Docker schema 1
/// included); `Invalid`, naming the field at fault, for anything else.
pub fn parse_manifest(content_type: Option<&str>, bytes: &[u8]) -> Result<ParsedManifest, ManifestError> {
    parse_manifest_within(content_type, bytes, MAX_MANIFEST_BYTES)
}

/// [`parse_manifest`] with another size limit (the operator's).
pub fn parse_manifest_within(
    content_type: Option<&str>,
    bytes: &[u8],
    limit: usize,
) -> Result<ParsedManifest, ManifestError> {
    if bytes.len() > limit {
        return Err(ManifestError::TooLarge { size: bytes.len() as u64, limit: limit as u64 });
    }
    let declared = content_type
        .map(media_type_essence)
        .filter(|essence| !essence.is_empty() && !GENERIC_CONTENT_TYPES.contains(&essence.as_str()));
    if let Some(declared) = &declared {
        supported_kind(declared, "the Content-Type")?;
    }

    let document = parse_json_object(bytes)?;
    let body_media_type = optional_string(&document, "", "mediaType")?;
    if let Some(body_media_type) = body_media_type {
        if !is_media_type(body_media_type) {
            return Err(invalid(
                "mediaType is not a media type: expected type/subtype as in RFC 6838, such as \
                 application/vnd.oci.image.manifest.v1+json",
            ));
        }
    }
    let media_type = match (declared, body_media_type) {
        (Some(declared), Some(body_media_type)) if body_media_type != declared => {
            return Err(invalid(format!(
                "mediaType {body_media_type:?} in the body does not match the Content-Type {declared:?}"
            )));
        }
        (Some(declared), _) => declared,
        (None, Some(body_media_type)) => body_media_type.to_owned(),
        (None, None) => detect_media_type(&document)?.to_owned(),
    };
    let kind = supported_kind(&media_type, "mediaType")?;

    let is_docker = media_type == MEDIA_TYPE_DOCKER_MANIFEST || media_type == MEDIA_TYPE_DOCKER_MANIFEST_LIST;
    if is_docker && body_media_type.is_none() {
        // Docker's schema 2 makes the field required, and Docker's own
        // registry refuses a document without it.
        return Err(invalid(format!("mediaType is required in a {media_type} document")));
    }
    check_schema_version(&document)?;

    match kind {
        ManifestKind::Image => parse_image(&document, media_type),
        ManifestKind::Index => parse_index(&document, media_type),
    }
}

/// The JSON body of a referrers response (distribution-spec "Listing
/// Referrers"): an OCI image index whose `manifests` are `descriptors`, in
/// the order given. Each descriptor is emitted as it is, so the caller
/// builds them with `ParsedManifest::referrer_descriptor`.
///
/// # Panics
///
/// Never: the index has only string map keys, so serializing cannot fail.
pub fn referrers_index(descriptors: Vec<Descriptor>) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ReferrersIndex {
        schema_version: u32,
        media_type: &'static str,
        manifests: Vec<Descriptor>,
    }

    let index =
        ReferrersIndex { schema_version: 2, media_type: MEDIA_TYPE_OCI_INDEX, manifests: descriptors };
    serde_json::to_vec(&index).expect("a referrers index has only string keys, so it always serializes")
}

/// The type/subtype of a Content-Type header: parameters dropped, spaces
/// trimmed, lowercased (media types are case-insensitive, RFC 6838 §4.2).
fn media_type_essence(content_type: &str) -> String {
    let essence = content_type.split_once(';').map_or(content_type, |(essence, _)| essence);
    essence.trim().to_ascii_lowercase()
}

/// The kind of a supported manifest media type; a well-formed other type is
/// `Unsupported`, text that is no media type at all `Invalid`.
fn supported_kind(media_type: &str, source: &str) -> Result<ManifestKind, ManifestError> {
    if let Some(kind) = ManifestKind::of_media_type(media_type) {
        return Ok(kind);
    }
    if is_media_type(media_type) {
        Err(ManifestError::Unsupported { media_type: media_type.to_owned() })
    } else {
        Err(invalid(format!("{source} is not a media type: expected type/subtype as in RFC 6838")))
    }
}

/// The media type of a document that names none, read from its shape.
fn detect_media_type(document: &Map<String, Value>) -> Result<&'static str, ManifestError> {
    if document.get("schemaVersion").and_then(Value::as_u64) == Some(1) {
        // Schema 1 bodies carry no mediaType; naming the type lets the
        // client see why it was refused.
        let schema1 = if document.contains_key("signatures") {
            MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED
        } else {
            MEDIA_TYPE_DOCKER_SCHEMA1
        };
        return Err(ManifestError::Unsupported { media_type: schema1.to_owned() });
    }
    let has_index_fields = document.contains_key("manifests");
    let has_image_fields = document.contains_key("config") || document.contains_key("layers");
    match (has_index_fields, has_image_fields) {
        (true, false) => Ok(MEDIA_TYPE_OCI_INDEX),
        (false, true) => Ok(MEDIA_TYPE_OCI_MANIFEST),
        (true, true) => Err(invalid(
            "the document has both manifests and config/layers and no mediaType to say which it is",
        )),
        (false, false) => Err(invalid(
            "no Content-Type or mediaType names the manifest type, and the document has neither \
             manifests nor config and layers",
        )),
    }
}

fn check_schema_version(document: &Map<String, Value>) -> Result<(), ManifestError> {
    match document.get("schemaVersion") {
        None => Err(invalid("schemaVersion is required and must be 2")),
        Some(version) if version.as_u64() == Some(2) => Ok(()),
        Some(Value::Number(version)) => Err(invalid(format!("schemaVersion must be 2, found {version}"))),
        Some(version) => {
            Err(invalid(format!("schemaVersion must be the number 2, found {}", json_kind(version))))
        }
    }
}

fn parse_image(document: &Map<String, Value>, media_type: String) -> Result<ParsedManifest, ManifestError> {
    // A document readable as both an image and an index is refused
    // (GHSA-mc8v-mgrf-8f4m, CVE-2021-41190).
    if document.contains_key("manifests") {
        return Err(invalid("an image manifest must not have a manifests field"));
    }
    let config = match present(document, "config") {
        Some(config) => parse_descriptor(config, "config")?,
        None => return Err(invalid("config is required in an image manifest")),
    };
    let layers = match present(document, "layers") {
        Some(layers) => parse_descriptors(layers, "layers")?,
        None => return Err(invalid("layers is required in an image manifest (it may be an empty array)")),
    };
    let subject = optional_descriptor(document, "subject")?;
    let declared_artifact_type = optional_artifact_type(document, "")?;
    let annotations = optional_annotations(document, "")?;
    // distribution-spec "Listing Referrers": "If the artifactType is empty
    // or missing in an image manifest, the value of artifactType MUST be set
    // to the config descriptor mediaType value."
    let artifact_type = Some(declared_artifact_type.unwrap_or_else(|| config.media_type.clone()));
    Ok(ParsedManifest {
        media_type,
        kind: ManifestKind::Image,
        config: Some(config),
        layers,
        manifests: Vec::new(),
        subject,
        artifact_type,
        annotations,
    })
}

fn parse_index(document: &Map<String, Value>, media_type: String) -> Result<ParsedManifest, ManifestError> {
    for image_field in ["config", "layers"] {
        if document.contains_key(image_field) {
            return Err(invalid(format!("an index must not have a {image_field} field")));
        }
    }
    let manifests = match present(document, "manifests") {
        Some(manifests) => parse_descriptors(manifests, "manifests")?,
        None => return Err(invalid("manifests is required in an index (it may be an empty array)")),
    };
    Ok(ParsedManifest {
        media_type,
        kind: ManifestKind::Index,
        config: None,
        layers: Vec::new(),
        manifests,
        subject: optional_descriptor(document, "subject")?,
        artifact_type: optional_artifact_type(document, "")?,
        annotations: optional_annotations(document, "")?,
    })
}

fn parse_descriptors(value: &Value, path: &str) -> Result<Vec<Descriptor>, ManifestError> {
    let Value::Array(items) = value else {
        return Err(invalid(format!("{path} must be an array of descriptors, found {}", json_kind(value))));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_descriptor(item, &format!("{path}[{index}]")))
        .collect()
}

fn optional_descriptor(object: &Map<String, Value>, name: &str) -> Result<Option<Descriptor>, ManifestError> {
    present(object, name).map(|value| parse_descriptor(value, name)).transpose()
}

fn parse_descriptor(value: &Value, path: &str) -> Result<Descriptor, ManifestError> {
    let Value::Object(object) = value else {
        return Err(invalid(format!("{path} must be a descriptor object, found {}", json_kind(value))));
    };
    let media_type = required_string(object, path, "mediaType")?;
    if !is_media_type(media_type) {
        return Err(invalid(format!(
            "{path}.mediaType is not a media type: expected type/subtype as in RFC 6838"
        )));
    }
    let digest = required_string(object, path, "digest")?
        .parse::<Digest>()
        .map_err(|error| invalid(format!("{path}.digest: {error}")))?;
    let size = match present(object, "size") {
        Some(size) => parse_size(size, path)?,
        None => return Err(invalid(format!("{path}.size is required"))),
    };
    let platform = present(object, "platform").map(|value| parse_platform(value, path)).transpose()?;
    Ok(Descriptor {
        media_type: media_type.to_owned(),
        digest,
        size,
        artifact_type: optional_artifact_type(object, path)?,
        annotations: optional_annotations(object, path)?,
        platform,
    })
}

/// `size` is an int64 that counts bytes, so `0..=i64::MAX`.
fn parse_size(value: &Value, parent: &str) -> Result<u64, ManifestError> {
    let path = field_path(parent, "size");
    let Value::Number(number) = value else {
        return Err(invalid(format!("{path} must be a non-negative integer, found {}", json_kind(value))));
    };
    match number.as_u64() {
        Some(size) if i64::try_from(size).is_ok() => Ok(size),
        Some(_) => Err(invalid(format!("{path} must be at most {} (the int64 limit)", i64::MAX))),
        None => Err(invalid(format!("{path} must be a non-negative integer, found {number}"))),
    }
}

fn parse_platform(value: &Value, parent: &str) -> Result<Platform, ManifestError> {
    let path = field_path(parent, "platform");
    let Value::Object(object) = value else {
        return Err(invalid(format!("{path} must be an object, found {}", json_kind(value))));
    };
    Ok(Platform {
        architecture: required_string(object, &path, "architecture")?.to_owned(),
        os: required_string(object, &path, "os")?.to_owned(),
        os_version: optional_string(object, &path, "os.version")?.map(str::to_owned),
        variant: optional_string(object, &path, "variant")?.map(str::to_owned),
    })
}

/// `artifactType` of the object at `parent`; empty counts as missing, as
/// the referrers rule treats it.
fn optional_artifact_type(
    object: &Map<String, Value>,
    parent: &str,
) -> Result<Option<String>, ManifestError> {
    match optional_string(object, parent, "artifactType")? {
        None | Some("") => Ok(None),
        Some(artifact_type) if is_media_type(artifact_type) => Ok(Some(artifact_type.to_owned())),
        Some(_) => Err(invalid(format!(
            "{} is not a media type: expected type/subtype as in RFC 6838",
            field_path(parent, "artifactType")
        ))),
    }
}

fn optional_annotations(
    object: &Map<String, Value>,
    parent: &str,
) -> Result<BTreeMap<String, String>, ManifestError> {
    let Some(value) = present(object, "annotations") else {
        return Ok(BTreeMap::new());
    };
    let path = field_path(parent, "annotations");
    let Value::Object(annotations) = value else {
        return Err(invalid(format!("{path} must be an object of strings, found {}", json_kind(value))));
    };
    annotations
        .iter()
        .map(|(key, value)| match value {
            Value::String(text) => Ok((key.clone(), text.clone())),
            other => Err(invalid(format!("{path}[{key:?}] must be a string, found {}", json_kind(other)))),
        })
        .collect()
}

fn required_string<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<&'a str, ManifestError> {
    optional_string(object, parent, name)?
        .ok_or_else(|| invalid(format!("{} is required", field_path(parent, name))))
}

/// A string field; `null` counts as absent, as Go clients may write it.
fn optional_string<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<Option<&'a str>, ManifestError> {
    match present(object, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => {
            Err(invalid(format!("{} must be a string, found {}", field_path(parent, name), json_kind(other))))
        }
    }
}

/// The field's value unless it is missing or `null`.
fn present<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|value| !value.is_null())
}

fn field_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// What kind of JSON value this is, for reasons that must not quote it.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// RFC 6838 §4.2 `type-name "/" subtype-name` without parameters, the
/// pattern image-spec's JSON schema gives descriptor media types.
fn is_media_type(text: &str) -> bool {
    text.split_once('/').is_some_and(|(type_name, subtype_name)| {
        is_restricted_name(type_name) && is_restricted_name(subtype_name)
    })
}

/// `restricted-name-first *126restricted-name-chars` (RFC 6838 §4.2).
fn is_restricted_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() <= 127
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.iter().all(|byte| byte.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(byte))
}

fn parse_json_object(bytes: &[u8]) -> Result<Map<String, Value>, ManifestError> {
    let UniqueKeyJson(value) = serde_json::from_slice(bytes)
        .map_err(|error| invalid(format!("the body is not valid JSON: {error}")))?;
    match value {
        Value::Object(document) => Ok(document),
        other => Err(invalid(format!("the manifest must be a JSON object, found {}", json_kind(&other)))),
    }
}

/// A JSON value read with duplicate object keys refused. `serde_json`'s own
/// `Value` silently keeps the last copy; Go clients do the same for some
/// fields and not others, so a manifest with duplicates could mean one
/// thing here and another to them. Nesting is bounded by `serde_json`'s
/// recursion limit.
struct UniqueKeyJson(Value);

impl<'de> Deserialize<'de> for UniqueKeyJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeyVisitor).map(UniqueKeyJson)
    }
}

struct UniqueKeyVisitor;

impl<'de> Visitor<'de> for UniqueKeyVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity, so this is always `Some`.
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeyJson(item)) = sequence.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let UniqueKeyJson(value) = entries.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Algorithm;

    fn digest_of(content: &str) -> Digest {
        Digest::of_bytes(Algorithm::Sha256, content.as_bytes())
    }

    fn parse(content_type: Option<&str>, body: &str) -> Result<ParsedManifest, ManifestError> {
        parse_manifest(content_type, body.as_bytes())
    }

    fn reason_of(result: Result<ParsedManifest, ManifestError>) -> String {
        match result {
            Err(ManifestError::Invalid { reason }) => reason,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn assert_invalid(content_type: Option<&str>, body: &str, expected_in_reason: &str) {
        let reason = reason_of(parse(content_type, body));
        assert!(
            reason.contains(expected_in_reason),
            "reason {reason:?} should contain {expected_in_reason:?} for body {body}"
        );
    }

    fn assert_unsupported(content_type: Option<&str>, body: &str, media_type: &str) {
        assert_eq!(
            parse(content_type, body),
            Err(ManifestError::Unsupported { media_type: media_type.to_owned() }),
            "body {body}"
        );
    }

    const CONFIG_DIGEST: &str = "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7";
    const LAYER_DIGEST: &str = "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f";
    const SECOND_LAYER_DIGEST: &str =
        "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b";
    const SUBJECT_DIGEST: &str = "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270";
    const AMD64_DIGEST: &str = "sha256:9d6d7e2c6a0a1f4b5e3c8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b";
    const ARM64_DIGEST: &str = "sha256:e6aa4f3b1c4d5e0a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c";
    const WINDOWS_DIGEST: &str = "sha256:0a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d";

    fn digest(text: &str) -> Digest {
        text.parse().unwrap()
    }

    /// As `docker push` writes it.
    fn docker_v2_manifest() -> String {
        format!(
            r#"{{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {{
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 7023,
      "digest": "{CONFIG_DIGEST}"
   }},
   "layers": [
      {{
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 32654,
         "digest": "{LAYER_DIGEST}"
      }},
      {{
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 16724,
         "digest": "{SECOND_LAYER_DIGEST}"
      }}
   ]
}}"#
        )
    }

    /// The image-spec's example manifest, plus `extra` top-level fields.
    fn oci_manifest_with(extra: &str) -> String {
        format!(
            r#"{{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {{
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "{CONFIG_DIGEST}",
    "size": 7023
  }},
  "layers": [
    {{
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "{LAYER_DIGEST}",
      "size": 32654
    }},
    {{
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "{SECOND_LAYER_DIGEST}",
      "size": 16724
    }}
  ],
  "annotations": {{
    "com.example.key1": "value1",
    "com.example.key2": "value2"
  }}{extra}
}}"#
        )
    }

    fn oci_manifest() -> String {
        oci_manifest_with("")
    }

    fn subject_field() -> String {
        format!(
            r#",
  "subject": {{
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "{SUBJECT_DIGEST}",
    "size": 7682
  }}"#
        )
    }

    /// A signature-like artifact: the empty config, one layer, a subject.
    fn oci_artifact(artifact_type_field: &str) -> String {
        let empty = digest_of("{}");
        format!(
            r#"{{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  {artifact_type_field}
  "config": {{
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "{empty}",
    "size": 2,
    "data": "e30="
  }},
  "layers": [
    {{
      "mediaType": "application/vnd.example.signature.v1+json",
      "digest": "{LAYER_DIGEST}",
      "size": 1234,
      "annotations": {{ "org.opencontainers.image.title": "signature.json" }}
    }}
  ],
  "subject": {{
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "{SUBJECT_DIGEST}",
    "size": 1234
  }},
  "annotations": {{ "org.opencontainers.image.created": "2024-01-01T00:00:00Z" }}
}}"#
        )
    }

    /// The image-spec's example index: two platforms and an OS version.
    fn oci_index_with(extra: &str) -> String {
        format!(
            r#"{{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {{
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "size": 7143,
      "digest": "{ARM64_DIGEST}",
      "platform": {{ "architecture": "arm64", "os": "linux", "variant": "v8" }}
    }},
    {{
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "size": 7682,
      "digest": "{AMD64_DIGEST}",
      "platform": {{ "architecture": "amd64", "os": "linux" }}
    }},
    {{
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "size": 2711,
      "digest": "{WINDOWS_DIGEST}",
      "platform": {{ "architecture": "amd64", "os": "windows", "os.version": "10.0.20348.2340",
                     "os.features": ["win32k"] }},
      "annotations": {{ "com.example.note": "server core" }}
    }}
  ],
  "annotations": {{ "com.example.key1": "value1" }}{extra}
}}"#
        )
    }

    fn oci_index() -> String {
        oci_index_with("")
    }

    /// As `docker manifest push` writes it.
    fn docker_manifest_list() -> String {
        format!(
            r#"{{
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
  "manifests": [
    {{
      "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
      "size": 7143,
      "digest": "{AMD64_DIGEST}",
      "platform": {{ "architecture": "amd64", "os": "linux", "features": ["sse4"] }}
    }},
    {{
      "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
      "size": 7682,
      "digest": "{ARM64_DIGEST}",
      "platform": {{ "architecture": "arm", "os": "linux", "variant": "v7" }}
    }}
  ]
}}"#
        )
    }

    /// The smallest valid OCI image manifest, with `fields` spliced in.
    fn minimal_manifest_with(fields: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{CONFIG_DIGEST}","size":1}},"layers":[]{fields}}}"#
        )
    }

    /// A manifest whose only layer is `layer`, for descriptor checks.
    fn manifest_with_layer(layer: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{CONFIG_DIGEST}","size":1}},"layers":[{layer}]}}"#
        )
    }

    fn layer(fields: &str) -> String {
        format!(
            r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{LAYER_DIGEST}"{fields}}}"#
        )
    }

    #[test]
    fn parses_a_docker_v2_manifest() {
        let parsed = parse(Some(MEDIA_TYPE_DOCKER_MANIFEST), &docker_v2_manifest()).unwrap();
        assert_eq!(parsed.media_type, MEDIA_TYPE_DOCKER_MANIFEST);
        assert_eq!(parsed.kind, ManifestKind::Image);
        let config = parsed.config.as_ref().unwrap();
        assert_eq!(config.media_type, "application/vnd.docker.container.image.v1+json");
        assert_eq!(config.digest, digest(CONFIG_DIGEST));
        assert_eq!(config.size, 7023);
        assert_eq!(parsed.layers.len(), 2);
        assert_eq!(parsed.layers[0].digest, digest(LAYER_DIGEST));
        assert_eq!(parsed.layers[1].size, 16724);
        assert!(parsed.manifests.is_empty());
        assert_eq!(parsed.subject, None);
        assert_eq!(parsed.artifact_type.as_deref(), Some("application/vnd.docker.container.image.v1+json"));
        assert!(parsed.annotations.is_empty());
    }

    #[test]
    fn parses_an_oci_image_manifest() {
        let parsed = parse(Some(MEDIA_TYPE_OCI_MANIFEST), &oci_manifest()).unwrap();
        let layer = Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".to_owned(),
            digest: digest(LAYER_DIGEST),
            size: 32654,
            artifact_type: None,
            annotations: BTreeMap::new(),
            platform: None,
        };
        assert_eq!(parsed.media_type, MEDIA_TYPE_OCI_MANIFEST);
        assert_eq!(parsed.kind, ManifestKind::Image);
        assert_eq!(parsed.config.as_ref().unwrap().media_type, MEDIA_TYPE_OCI_IMAGE_CONFIG);
        assert_eq!(parsed.layers[0], layer);
        assert_eq!(parsed.layers.len(), 2);
        assert_eq!(parsed.subject, None);
        assert_eq!(parsed.annotations.get("com.example.key1").map(String::as_str), Some("value1"));
        assert_eq!(parsed.annotations.len(), 2);
    }

    #[test]
    fn parses_an_oci_image_manifest_with_subject_and_artifact_type() {
        let extra = format!(
            r#"{},
  "artifactType": "application/vnd.example.sbom.v1+json""#,
            subject_field()
        );
        let parsed = parse(Some(MEDIA_TYPE_OCI_MANIFEST), &oci_manifest_with(&extra)).unwrap();
        let subject = parsed.subject.as_ref().unwrap();
        assert_eq!(subject.media_type, MEDIA_TYPE_OCI_MANIFEST);
        assert_eq!(subject.digest, digest(SUBJECT_DIGEST));
        assert_eq!(subject.size, 7682);
        assert_eq!(parsed.artifact_type.as_deref(), Some("application/vnd.example.sbom.v1+json"));
        assert_eq!(parsed.blob_references().count(), 3, "the subject is not a blob reference");
        assert_eq!(parsed.manifest_references().count(), 0, "nor a manifest reference");
    }

    #[test]
    fn parses_an_oci_artifact_with_the_empty_config() {
        let artifact_type = r#""artifactType": "application/vnd.example.signature.v1+json","#;
        let parsed = parse(Some(MEDIA_TYPE_OCI_MANIFEST), &oci_artifact(artifact_type)).unwrap();
        let config = parsed.config.as_ref().unwrap();
        assert_eq!(config.media_type, MEDIA_TYPE_OCI_EMPTY);
        assert_eq!(
            config.digest.as_str(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(config.size, 2);
        assert_eq!(parsed.artifact_type.as_deref(), Some("application/vnd.example.signature.v1+json"));
        assert_eq!(parsed.subject.as_ref().unwrap().digest, digest(SUBJECT_DIGEST));
        assert_eq!(
            parsed.layers[0].annotations.get("org.opencontainers.image.title").map(String::as_str),
            Some("signature.json")
        );
    }

    #[test]
    fn an_artifact_may_have_no_layers() {
        let parsed =
            parse(None, &minimal_manifest_with(r#","artifactType":"application/vnd.example.thing""#));
        let parsed = parsed.unwrap();
        assert!(parsed.layers.is_empty());
        assert_eq!(parsed.blob_references().count(), 1);
        assert_eq!(parsed.artifact_type.as_deref(), Some("application/vnd.example.thing"));
    }

    #[test]
    fn image_artifact_type_falls_back_to_the_config_media_type() {
        // distribution-spec "Listing Referrers": missing or empty
        // artifactType takes the config descriptor's mediaType, whatever it is.
        let cases = [
            (oci_manifest(), MEDIA_TYPE_OCI_IMAGE_CONFIG),
            (oci_manifest_with(r#","artifactType":"""#), MEDIA_TYPE_OCI_IMAGE_CONFIG),
            (oci_manifest_with(r#","artifactType":null"#), MEDIA_TYPE_OCI_IMAGE_CONFIG),
            (oci_artifact(""), MEDIA_TYPE_OCI_EMPTY),
            (oci_artifact(r#""artifactType": "","#), MEDIA_TYPE_OCI_EMPTY),
            (
                oci_manifest().replace(MEDIA_TYPE_OCI_IMAGE_CONFIG, "application/vnd.example.config.v1+json"),
                "application/vnd.example.config.v1+json",
            ),
            (docker_v2_manifest(), "application/vnd.docker.container.image.v1+json"),
        ];
        for (body, expected) in cases {
            let parsed = parse(None, &body).unwrap();
            assert_eq!(parsed.artifact_type.as_deref(), Some(expected), "{body}");
        }
        let declared = oci_artifact(r#""artifactType": "application/vnd.example.sbom","#);
        assert_eq!(
            parse(None, &declared).unwrap().artifact_type.as_deref(),
            Some("application/vnd.example.sbom")
        );
    }

    #[test]
    fn parses_an_oci_index_with_platforms() {
        let parsed = parse(Some(MEDIA_TYPE_OCI_INDEX), &oci_index()).unwrap();
        assert_eq!(parsed.media_type, MEDIA_TYPE_OCI_INDEX);
        assert_eq!(parsed.kind, ManifestKind::Index);
        assert_eq!(parsed.config, None);
        assert!(parsed.layers.is_empty());
        assert_eq!(parsed.blob_references().count(), 0);
        assert_eq!(parsed.artifact_type, None);
        let children: Vec<&Descriptor> = parsed.manifest_references().collect();
        assert_eq!(children.len(), 3);
        assert_eq!(children[0].digest, digest(ARM64_DIGEST));
        assert_eq!(children[0].size, 7143);
        assert_eq!(
            children[0].platform,
            Some(Platform {
                architecture: "arm64".to_owned(),
                os: "linux".to_owned(),
                os_version: None,
                variant: Some("v8".to_owned()),
            })
        );
        assert_eq!(
            children[1].platform,
            Some(Platform {
                architecture: "amd64".to_owned(),
                os: "linux".to_owned(),
                os_version: None,
                variant: None
            })
        );
        let windows = children[2].platform.as_ref().unwrap();
        assert_eq!(windows.os, "windows");
        assert_eq!(windows.os_version.as_deref(), Some("10.0.20348.2340"));
        assert_eq!(children[2].annotations.get("com.example.note").map(String::as_str), Some("server core"));
        assert_eq!(parsed.annotations.get("com.example.key1").map(String::as_str), Some("value1"));
    }

    #[test]
    fn parses_an_index_artifact_with_subject_and_artifact_type() {
        let extra = format!(r#"{},"artifactType":"application/vnd.example.bundle""#, subject_field());
        let parsed = parse(Some(MEDIA_TYPE_OCI_INDEX), &oci_index_with(&extra)).unwrap();
        assert_eq!(parsed.subject.as_ref().unwrap().digest, digest(SUBJECT_DIGEST));
        assert_eq!(parsed.artifact_type.as_deref(), Some("application/vnd.example.bundle"));
        let empty = parse(Some(MEDIA_TYPE_OCI_INDEX), &oci_index_with(r#","artifactType":"""#)).unwrap();
        assert_eq!(empty.artifact_type, None);
    }

    #[test]
    fn parses_a_docker_manifest_list() {
        let parsed = parse(Some(MEDIA_TYPE_DOCKER_MANIFEST_LIST), &docker_manifest_list()).unwrap();
        assert_eq!(parsed.media_type, MEDIA_TYPE_DOCKER_MANIFEST_LIST);
        assert_eq!(parsed.kind, ManifestKind::Index);
        assert_eq!(parsed.manifests.len(), 2);
        assert_eq!(parsed.manifests[0].media_type, MEDIA_TYPE_DOCKER_MANIFEST);
        assert_eq!(parsed.manifests[1].platform.as_ref().unwrap().variant.as_deref(), Some("v7"));
        assert_eq!(parsed.artifact_type, None);
    }

    #[test]
    fn an_index_may_be_empty() {
        let parsed = parse(Some(MEDIA_TYPE_OCI_INDEX), r#"{"schemaVersion":2,"manifests":[]}"#).unwrap();
        assert!(parsed.manifests.is_empty());
    }

    #[test]
    fn content_type_parameters_and_case_are_ignored() {
        let body = oci_manifest();
        for content_type in [
            "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
            "application/vnd.oci.image.manifest.v1+json;charset=utf-8",
            "  application/vnd.oci.image.manifest.v1+json  ",
            "Application/VND.OCI.Image.Manifest.v1+JSON",
        ] {
            let parsed = parse(Some(content_type), &body).unwrap();
            assert_eq!(parsed.media_type, MEDIA_TYPE_OCI_MANIFEST, "{content_type:?}");
        }
    }

    #[test]
    fn the_body_media_type_must_match_the_content_type() {
        let reason = reason_of(parse(Some(MEDIA_TYPE_DOCKER_MANIFEST), &oci_manifest()));
        assert_eq!(
            reason,
            "mediaType \"application/vnd.oci.image.manifest.v1+json\" in the body does not match the \
             Content-Type \"application/vnd.docker.distribution.manifest.v2+json\""
        );
        assert_invalid(Some(MEDIA_TYPE_OCI_MANIFEST), &oci_index(), "does not match the Content-Type");
        assert_invalid(
            Some(MEDIA_TYPE_OCI_MANIFEST),
            &oci_manifest().replace(MEDIA_TYPE_OCI_MANIFEST, "application/vnd.example.other"),
            "does not match",
        );
    }

    #[test]
    fn the_content_type_decides_when_the_body_has_no_media_type() {
        let body = minimal_manifest_with("");
        assert_eq!(parse(Some(MEDIA_TYPE_OCI_MANIFEST), &body).unwrap().media_type, MEDIA_TYPE_OCI_MANIFEST);
        let index = r#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(parse(Some(MEDIA_TYPE_OCI_INDEX), index).unwrap().kind, ManifestKind::Index);
    }

    #[test]
    fn a_generic_or_missing_content_type_defers_to_the_body() {
        for content_type in [None, Some("application/json"), Some("application/octet-stream; q=1"), Some("")]
        {
            let docker = parse(content_type, &docker_v2_manifest()).unwrap();
            assert_eq!(docker.media_type, MEDIA_TYPE_DOCKER_MANIFEST, "{content_type:?}");
            let list = parse(content_type, &docker_manifest_list()).unwrap();
            assert_eq!(list.media_type, MEDIA_TYPE_DOCKER_MANIFEST_LIST, "{content_type:?}");
            let index = parse(content_type, &oci_index()).unwrap();
            assert_eq!(index.media_type, MEDIA_TYPE_OCI_INDEX, "{content_type:?}");
        }
    }

    #[test]
    fn without_any_media_type_the_shape_decides() {
        let image = parse(Some("application/json"), &minimal_manifest_with("")).unwrap();
        assert_eq!((image.media_type.as_str(), image.kind), (MEDIA_TYPE_OCI_MANIFEST, ManifestKind::Image));
        let index_body = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{MEDIA_TYPE_OCI_MANIFEST}","digest":"{AMD64_DIGEST}","size":5}}]}}"#
        );
        let index = parse(None, &index_body).unwrap();
        assert_eq!((index.media_type.as_str(), index.kind), (MEDIA_TYPE_OCI_INDEX, ManifestKind::Index));
        // Only one of config and layers still reads as an image, so the
        // refusal names the missing field.
        let config_only = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"a/b","digest":"{CONFIG_DIGEST}","size":1}}}}"#
        );
        assert_invalid(None, &config_only, "layers is required");
        assert_invalid(None, r#"{"schemaVersion":2,"layers":[]}"#, "config is required");
    }

    #[test]
    fn an_undetectable_or_ambiguous_document_is_invalid() {
        assert_invalid(None, r#"{"schemaVersion":2}"#, "neither manifests nor config and layers");
        assert_invalid(Some("application/json"), "{}", "neither manifests nor config and layers");
        assert_invalid(
            None,
            r#"{"schemaVersion":2,"manifests":[],"layers":[]}"#,
            "both manifests and config/layers",
        );
    }

    #[test]
    fn a_document_readable_as_image_and_index_is_refused() {
        // GHSA-mc8v-mgrf-8f4m: a declared image must not carry manifests,
        // nor a declared index config or layers.
        assert_invalid(
            None,
            &oci_manifest_with(r#","manifests":[]"#),
            "an image manifest must not have a manifests field",
        );
        assert_invalid(None, &oci_index_with(r#","layers":[]"#), "an index must not have a layers field");
        let with_config = oci_index_with(&format!(
            r#","config":{{"mediaType":"a/b","digest":"{CONFIG_DIGEST}","size":1}}"#
        ));
        assert_invalid(None, &with_config, "an index must not have a config field");
    }

    #[test]
    fn docker_documents_must_name_their_media_type() {
        let body = docker_v2_manifest()
            .replace(r#""mediaType": "application/vnd.docker.distribution.manifest.v2+json","#, "");
        assert_invalid(Some(MEDIA_TYPE_DOCKER_MANIFEST), &body, "mediaType is required");
        let list = docker_manifest_list()
            .replace(r#""mediaType": "application/vnd.docker.distribution.manifest.list.v2+json","#, "");
        assert_invalid(Some(MEDIA_TYPE_DOCKER_MANIFEST_LIST), &list, "mediaType is required");
    }

    #[test]
    fn missing_required_fields_are_named() {
        let config = format!(r#""config":{{"mediaType":"a/b","digest":"{CONFIG_DIGEST}","size":1}}"#);
        let cases = [
            (
                format!(r#"{{"schemaVersion":2,"mediaType":"{MEDIA_TYPE_OCI_MANIFEST}","layers":[]}}"#),
                "config is required",
            ),
            (
                format!(r#"{{"schemaVersion":2,"mediaType":"{MEDIA_TYPE_OCI_MANIFEST}",{config}}}"#),
                "layers is required",
            ),
            (
                format!(
                    r#"{{"schemaVersion":2,"mediaType":"{MEDIA_TYPE_OCI_MANIFEST}",{config},"layers":null}}"#
                ),
                "layers is required",
            ),
            (
                format!(r#"{{"schemaVersion":2,"mediaType":"{MEDIA_TYPE_OCI_INDEX}"}}"#),
                "manifests is required",
            ),
            (
                format!(r#"{{"mediaType":"{MEDIA_TYPE_OCI_MANIFEST}",{config},"layers":[]}}"#),
                "schemaVersion is required",
            ),
            (manifest_with_layer(&layer("")), "layers[0].size is required"),
            (
                manifest_with_layer(&format!(r#"{{"digest":"{LAYER_DIGEST}","size":1}}"#)),
                "layers[0].mediaType is required",
            ),
            (manifest_with_layer(r#"{"mediaType":"a/b","size":1}"#), "layers[0].digest is required"),
            (
                minimal_manifest_with(&format!(
                    r#","subject":{{"mediaType":"a/b","digest":"{SUBJECT_DIGEST}"}}"#
                )),
                "subject.size is required",
            ),
            (
                oci_index().replace(r#""architecture": "arm64", "#, ""),
                "manifests[0].platform.architecture is required",
            ),
            (oci_index().replace(r#""os": "windows", "#, ""), "manifests[2].platform.os is required"),
        ];
        for (body, expected) in cases {
            assert_invalid(None, &body, expected);
        }
    }

    #[test]
    fn fields_of_the_wrong_type_are_named() {
        let cases = [
            (
                minimal_manifest_with("").replace(r#""layers":[]"#, r#""layers":{}"#),
                "layers must be an array of descriptors, found an object",
            ),
            (minimal_manifest_with(r#","mediaType":7"#), "mediaType must be a string, found a number"),
            (
                minimal_manifest_with(r#","subject":"sha256:abc""#),
                "subject must be a descriptor object, found a string",
            ),
            (
                manifest_with_layer(r#""just a string""#),
                "layers[0] must be a descriptor object, found a string",
            ),
            (
                manifest_with_layer(&format!(
                    r#"{{"mediaType":["a/b"],"digest":"{LAYER_DIGEST}","size":1}}"#
                )),
                "layers[0].mediaType must be a string, found an array",
            ),
            (
                manifest_with_layer(r#"{"mediaType":"a/b","digest":42,"size":1}"#),
                "layers[0].digest must be a string, found a number",
            ),
            (
                manifest_with_layer(&layer(r#","size":1,"artifactType":true"#)),
                "layers[0].artifactType must be a string, found a boolean",
            ),
            (
                minimal_manifest_with(r#","annotations":["a"]"#),
                "annotations must be an object of strings, found an array",
            ),
            (
                minimal_manifest_with(r#","annotations":{"org.example.count":3}"#),
                r#"annotations["org.example.count"] must be a string, found a number"#,
            ),
            (
                manifest_with_layer(&layer(r#","size":1,"annotations":{"k":null}"#)),
                r#"layers[0].annotations["k"] must be a string, found null"#,
            ),
            (
                oci_index().replace(
                    r#""platform": { "architecture": "amd64", "os": "linux" }"#,
                    r#""platform": "linux/amd64""#,
                ),
                "manifests[1].platform must be an object, found a string",
            ),
            (
                oci_index().replace(r#""variant": "v8""#, r#""variant": 8"#),
                "manifests[0].platform.variant must be a string, found a number",
            ),
            (
                oci_index().replace(r#""os.version": "10.0.20348.2340""#, r#""os.version": 10"#),
                "manifests[2].platform.os.version must be a string, found a number",
            ),
        ];
        for (body, expected) in cases {
            assert_invalid(None, &body, expected);
        }
    }

    #[test]
    fn a_bad_digest_is_named_with_its_position() {
        let body = oci_manifest().replace(SECOND_LAYER_DIGEST, "sha256:abc");
        assert_eq!(
            reason_of(parse(None, &body)),
            "layers[1].digest: invalid digest: a sha256 digest has 64 hex digits, this one has 3"
        );
        let cases = [
            (oci_manifest().replace(CONFIG_DIGEST, "not-a-digest"), "config.digest: invalid digest"),
            (
                oci_manifest().replace(CONFIG_DIGEST, &CONFIG_DIGEST.to_uppercase()),
                "config.digest: invalid digest",
            ),
            (oci_index().replace(WINDOWS_DIGEST, "sha256:"), "manifests[2].digest: invalid digest"),
            (
                oci_manifest_with(&subject_field())
                    .replace(SUBJECT_DIGEST, "md5:d41d8cd98f00b204e9800998ecf8427e"),
                "subject.digest: unsupported digest algorithm",
            ),
        ];
        for (body, expected) in cases {
            assert_invalid(None, &body, expected);
        }
    }

    #[test]
    fn size_must_be_a_non_negative_int64() {
        let cases = [
            ("-1", "layers[0].size must be a non-negative integer, found -1"),
            ("1.5", "layers[0].size must be a non-negative integer, found 1.5"),
            ("2.0", "layers[0].size must be a non-negative integer, found 2.0"),
            (r#""12""#, "layers[0].size must be a non-negative integer, found a string"),
            ("9223372036854775808", "layers[0].size must be at most 9223372036854775807"),
            ("18446744073709551616", "layers[0].size must be a non-negative integer"),
            ("null", "layers[0].size is required"),
        ];
        for (size, expected) in cases {
            assert_invalid(None, &manifest_with_layer(&layer(&format!(r#","size":{size}"#))), expected);
        }
        for size in [0, 1, i64::MAX as u64] {
            let parsed = parse(None, &manifest_with_layer(&layer(&format!(r#","size":{size}"#)))).unwrap();
            assert_eq!(parsed.layers[0].size, size);
        }
    }

    #[test]
    fn schema_version_must_be_two() {
        let with_version = |version: &str| {
            oci_manifest().replace(r#""schemaVersion": 2"#, &format!(r#""schemaVersion": {version}"#))
        };
        let cases = [
            ("1", "schemaVersion must be 2, found 1"),
            ("3", "schemaVersion must be 2, found 3"),
            ("2.0", "schemaVersion must be 2, found 2.0"),
            ("-2", "schemaVersion must be 2, found -2"),
            (r#""2""#, "schemaVersion must be the number 2, found a string"),
            ("null", "schemaVersion must be the number 2, found null"),
        ];
        for (version, expected) in cases {
            assert_invalid(Some(MEDIA_TYPE_OCI_MANIFEST), &with_version(version), expected);
            assert_invalid(None, &with_version(version), expected);
        }
    }

    #[test]
    fn docker_schema1_is_unsupported() {
        let schema1 = format!(
            r#"{{"schemaVersion":1,"name":"library/hello","tag":"latest","architecture":"amd64",
                "fsLayers":[{{"blobSum":"{LAYER_DIGEST}"}}],"history":[{{"v1Compatibility":"{{}}"}}]}}"#
        );
        let signed = schema1.replacen('{', r#"{"signatures":[{"protected":"e30","signature":"c2ln"}],"#, 1);
        assert_unsupported(Some(MEDIA_TYPE_DOCKER_SCHEMA1), &schema1, MEDIA_TYPE_DOCKER_SCHEMA1);
        assert_unsupported(Some(MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED), &signed, MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED);
        assert_unsupported(
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws; charset=utf-8"),
            &signed,
            MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED,
        );
        // With nothing to go on but the body, schemaVersion 1 still reads as schema 1.
        assert_unsupported(None, &schema1, MEDIA_TYPE_DOCKER_SCHEMA1);
        assert_unsupported(Some("application/json"), &signed, MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED);
        // The Content-Type is refused before the body is read.
        assert_unsupported(Some(MEDIA_TYPE_DOCKER_SCHEMA1), "not json", MEDIA_TYPE_DOCKER_SCHEMA1);
        let declared = schema1.replacen('{', &format!(r#"{{"mediaType":"{MEDIA_TYPE_DOCKER_SCHEMA1}","#), 1);
        assert_unsupported(None, &declared, MEDIA_TYPE_DOCKER_SCHEMA1);
    }

    #[test]
    fn other_media_types_are_unsupported_or_invalid() {
        assert_unsupported(
            Some("application/vnd.oci.image.config.v1+json"),
            &oci_manifest(),
            MEDIA_TYPE_OCI_IMAGE_CONFIG,
        );
        assert_unsupported(Some("text/plain"), &oci_manifest(), "text/plain");
        assert_unsupported(Some(MEDIA_TYPE_OCI_EMPTY), "{}", MEDIA_TYPE_OCI_EMPTY);
        let unknown_body =
            minimal_manifest_with(r#","mediaType":"application/vnd.example.manifest.v9+json""#);
        assert_unsupported(None, &unknown_body, "application/vnd.example.manifest.v9+json");
        assert_unsupported(
            Some("application/json"),
            &unknown_body,
            "application/vnd.example.manifest.v9+json",
        );
        // Text that is no media type is not echoed back as one.
        assert_invalid(Some("not a media type"), &oci_manifest(), "the Content-Type is not a media type");
        assert_invalid(Some("application/"), &oci_manifest(), "the Content-Type is not a media type");
        assert_invalid(
            None,
            &minimal_manifest_with(r#","mediaType":"<script>""#),
            "mediaType is not a media type",
        );
        assert_invalid(None, &minimal_manifest_with(r#","mediaType":"""#), "mediaType is not a media type");
    }

    #[test]
    fn descriptor_media_and_artifact_types_follow_rfc_6838() {
        let cases = [
            (
                manifest_with_layer(
                    &layer(r#","size":1"#).replace("application/vnd.oci.image.layer.v1.tar+gzip", "tar"),
                ),
                "layers[0].mediaType is not a media type",
            ),
            (
                manifest_with_layer(
                    &layer(r#","size":1"#).replace("application/vnd.oci.image.layer.v1.tar+gzip", ""),
                ),
                "layers[0].mediaType is not a media type",
            ),
            (
                manifest_with_layer(
                    &layer(r#","size":1"#)
                        .replace("application/vnd.oci.image.layer.v1.tar+gzip", "text/plain; charset=utf-8"),
                ),
                "layers[0].mediaType is not a media type",
            ),
            (
                manifest_with_layer(&layer(r#","size":1,"artifactType":"a/b/c""#)),
                "layers[0].artifactType is not a media type",
            ),
            (minimal_manifest_with(r#","artifactType":"sbom""#), "artifactType is not a media type"),
            (oci_index_with(r#","artifactType":"/x""#), "artifactType is not a media type"),
        ];
        for (body, expected) in cases {
            assert_invalid(None, &body, expected);
        }
        let long_subtype = format!("application/{}", "x".repeat(128));
        assert_invalid(
            None,
            &minimal_manifest_with(&format!(r#","artifactType":"{long_subtype}""#)),
            "not a media type",
        );
        let longest_subtype = format!("application/{}", "x".repeat(127));
        for valid in [
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
            "a/b",
            "x-type/x!#$&^_.+-1",
            &longest_subtype,
        ] {
            let parsed =
                parse(None, &minimal_manifest_with(&format!(r#","artifactType":"{valid}""#))).unwrap();
            assert_eq!(parsed.artifact_type.as_deref(), Some(valid));
        }
    }

    #[test]
    fn null_optional_fields_count_as_absent() {
        let parsed =
            parse(None, &minimal_manifest_with(r#","subject":null,"annotations":null,"mediaType":null"#))
                .unwrap();
        assert_eq!(parsed.subject, None);
        assert!(parsed.annotations.is_empty());
        assert_eq!(parsed.media_type, MEDIA_TYPE_OCI_MANIFEST);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let body =
            minimal_manifest_with(r#","x-vendor":{"anything":[1,2,3]},"urls":["https://example.com"]"#);
        assert!(parse(None, &body).is_ok());
    }

    #[test]
    fn refuses_manifests_over_four_mebibytes() {
        let body = oci_manifest();
        let mut at_limit = body.clone().into_bytes();
        at_limit.resize(MAX_MANIFEST_BYTES, b' ');
        assert!(
            parse_manifest(Some(MEDIA_TYPE_OCI_MANIFEST), &at_limit).is_ok(),
            "exactly 4 MiB is accepted"
        );
        at_limit.push(b' ');
        assert_eq!(
            parse_manifest(Some(MEDIA_TYPE_OCI_MANIFEST), &at_limit),
            Err(ManifestError::TooLarge {
                size: MAX_MANIFEST_BYTES as u64 + 1,
                limit: MAX_MANIFEST_BYTES as u64
            })
        );
        // Size is checked before anything else, even the Content-Type.
        let huge = vec![b'x'; MAX_MANIFEST_BYTES * 2];
        assert_eq!(
            parse_manifest(Some(MEDIA_TYPE_DOCKER_SCHEMA1), &huge),
            Err(ManifestError::TooLarge {
                size: 2 * MAX_MANIFEST_BYTES as u64,
                limit: MAX_MANIFEST_BYTES as u64
            })
        );
    }

    #[test]
    fn refuses_bodies_that_are_not_json() {
        for body in ["", "not json", "{", r#"{"schemaVersion":2,}"#, "{}{}", "\u{feff}{}"] {
            assert_invalid(Some(MEDIA_TYPE_OCI_MANIFEST), body, "the body is not valid JSON");
        }
        let invalid_utf8 = b"{\"schemaVersion\":2,\"mediaType\":\"\xff\"}";
        assert!(matches!(parse_manifest(None, invalid_utf8), Err(ManifestError::Invalid { .. })));
    }

    #[test]
    fn refuses_json_that_is_not_an_object() {
        let cases = [
            ("[]", "an array"),
            (r#""manifest""#, "a string"),
            ("2", "a number"),
            ("null", "null"),
            ("true", "a boolean"),
        ];
        for (body, kind) in cases {
            assert_eq!(
                reason_of(parse(Some(MEDIA_TYPE_OCI_MANIFEST), body)),
                format!("the manifest must be a JSON object, found {kind}")
            );
        }
    }

    #[test]
    fn refuses_duplicate_keys() {
        let body =
            oci_manifest().replacen('{', r#"{"mediaType":"application/vnd.oci.image.index.v1+json","#, 1);
        assert_invalid(None, &body, r#"duplicate key "mediaType""#);
        let nested = manifest_with_layer(&layer(r#","size":1,"size":2"#));
        assert_invalid(None, &nested, r#"duplicate key "size""#);
        let in_annotations = minimal_manifest_with(r#","annotations":{"a":"1","a":"2"}"#);
        assert_invalid(None, &in_annotations, r#"duplicate key "a""#);
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let depth = 100_000;
        let body = format!(r#"{{"schemaVersion":2,"x":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        assert_invalid(None, &body, "recursion limit exceeded");
    }

    #[test]
    fn descriptors_serialize_with_spec_names_and_skip_empty_fields() {
        let plain = Descriptor {
            media_type: MEDIA_TYPE_OCI_MANIFEST.to_owned(),
            digest: digest(SUBJECT_DIGEST),
            size: 7682,
            artifact_type: None,
            annotations: BTreeMap::new(),
            platform: None,
        };
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            format!(r#"{{"mediaType":"{MEDIA_TYPE_OCI_MANIFEST}","digest":"{SUBJECT_DIGEST}","size":7682}}"#)
        );
        let full = Descriptor {
            artifact_type: Some("application/vnd.example.sbom".to_owned()),
            annotations: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
            platform: Some(Platform {
                architecture: "amd64".to_owned(),
                os: "windows".to_owned(),
                os_version: Some("10.0.17763".to_owned()),
                variant: None,
            }),
            ..plain
        };
        let json = serde_json::to_string(&full).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"mediaType":"{MEDIA_TYPE_OCI_MANIFEST}","digest":"{SUBJECT_DIGEST}","size":7682,"artifactType":"application/vnd.example.sbom","annotations":{{"k":"v"}},"platform":{{"architecture":"amd64","os":"windows","os.version":"10.0.17763"}}}}"#
            )
        );
        assert_eq!(serde_json::from_str::<Descriptor>(&json).unwrap(), full);
        let bad_digest = json.replace(SUBJECT_DIGEST, "sha256:abc");
        assert!(serde_json::from_str::<Descriptor>(&bad_digest).is_err());
    }

    #[test]
    fn referrers_index_has_the_spec_shape() {
        assert_eq!(
            String::from_utf8(referrers_index(Vec::new())).unwrap(),
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#
        );

        let signature =
            parse(None, &oci_artifact(r#""artifactType": "application/vnd.example.signature.v1+json","#))
                .unwrap();
        let sbom_body = oci_manifest_with(&subject_field());
        let sbom = parse(None, &sbom_body).unwrap();
        let signature_digest = digest_of("signature manifest");
        let index = referrers_index(vec![
            signature.referrer_descriptor(signature_digest.clone(), 1234),
            sbom.referrer_descriptor(digest_of(&sbom_body), sbom_body.len() as u64),
        ]);
        let index: Value = serde_json::from_slice(&index).unwrap();
        let expected = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": signature_digest.as_str(),
                    "size": 1234,
                    "artifactType": "application/vnd.example.signature.v1+json",
                    "annotations": { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" }
                },
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest_of(&sbom_body).as_str(),
                    "size": sbom_body.len(),
                    "artifactType": "application/vnd.oci.image.config.v1+json",
                    "annotations": { "com.example.key1": "value1", "com.example.key2": "value2" }
                }
            ]
        });
        assert_eq!(index, expected);
    }

    #[test]
    fn referrers_index_leaves_out_absent_artifact_type_and_annotations() {
        let index = parse(Some(MEDIA_TYPE_DOCKER_MANIFEST_LIST), &docker_manifest_list()).unwrap();
        let entry = index.referrer_descriptor(digest(AMD64_DIGEST), 10);
        assert_eq!(
            String::from_utf8(referrers_index(vec![entry])).unwrap(),
            format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{MEDIA_TYPE_DOCKER_MANIFEST_LIST}","digest":"{AMD64_DIGEST}","size":10}}]}}"#
            )
        );
    }

    #[test]
    fn references_list_config_then_layers_and_index_children() {
        let image = parse(None, &oci_manifest()).unwrap();
        let blobs: Vec<&str> = image.blob_references().map(|descriptor| descriptor.digest.as_str()).collect();
        assert_eq!(blobs, [CONFIG_DIGEST, LAYER_DIGEST, SECOND_LAYER_DIGEST]);
        assert_eq!(image.manifest_references().count(), 0);

        let list = parse(None, &docker_manifest_list()).unwrap();
        let children: Vec<&str> =
            list.manifest_references().map(|descriptor| descriptor.digest.as_str()).collect();
        assert_eq!(children, [AMD64_DIGEST, ARM64_DIGEST]);
        assert_eq!(list.blob_references().count(), 0);
    }

    #[test]
    fn manifest_kind_of_media_type() {
        assert_eq!(ManifestKind::of_media_type(MEDIA_TYPE_OCI_MANIFEST), Some(ManifestKind::Image));
        assert_eq!(ManifestKind::of_media_type(MEDIA_TYPE_DOCKER_MANIFEST), Some(ManifestKind::Image));
        assert_eq!(ManifestKind::of_media_type(MEDIA_TYPE_OCI_INDEX), Some(ManifestKind::Index));
        assert_eq!(ManifestKind::of_media_type(MEDIA_TYPE_DOCKER_MANIFEST_LIST), Some(ManifestKind::Index));
        for other in [
            MEDIA_TYPE_OCI_EMPTY,
            MEDIA_TYPE_DOCKER_SCHEMA1,
            MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED,
            "application/json",
        ] {
            assert_eq!(ManifestKind::of_media_type(other), None);
        }
        for media_type in SUPPORTED_MANIFEST_MEDIA_TYPES {
            assert!(ManifestKind::of_media_type(media_type).is_some());
        }
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            ManifestError::TooLarge { size: 5_000_000, limit: 4_194_304 }.to_string(),
            "the manifest is 5000000 bytes, more than the 4194304-byte limit"
        );
        assert_eq!(
            ManifestError::Invalid { reason: "config is required in an image manifest".to_owned() }
                .to_string(),
            "invalid manifest: config is required in an image manifest"
        );
        assert_eq!(
            ManifestError::Unsupported { media_type: MEDIA_TYPE_DOCKER_SCHEMA1.to_owned() }.to_string(),
            "unsupported manifest media type \"application/vnd.docker.distribution.manifest.v1+json\": \
             this registry accepts OCI image manifests and indexes and Docker schema 2 manifests and \
             manifest lists"
        );
    }
}
