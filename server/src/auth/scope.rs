//! Docker registry token-spec scopes (SPEC §3, authentication): parsing the
//! token endpoint's `scope` parameters into `ResourceScope`s, their wire
//! words, and the `WWW-Authenticate: Bearer` challenge that names one. Pure:
//! it calls only `crate::policy` (actions, the repository-name grammar); no
//! I/O, no HTTP types, no database, no logging.
//!
//! Grammar (distribution `docs/spec/auth/scope.md`):
//! `scope := resourcetype ":" resourcename ":" action [ "," action ]*`, with
//! `resourcetype := value [ "(" value ")" ]` (the parenthesised resource
//! class, e.g. `repository(plugin)`). Several scopes arrive as repeated
//! `scope=` parameters (GET) or space-separated in one (OAuth2 POST form).

use std::fmt;

use crate::{
    domain::RepositoryName,
    policy::{self, ActionSet},
};

/// The most distinct resources one token request may name. Each costs a
/// policy lookup; real clients ask for a handful (a push with mounts names
/// the target and a few sources). Further resources are dropped, like any
/// scope that cannot be granted.
pub const MAX_SCOPES_PER_REQUEST: usize = 100;

/// The token-spec word for "every action".
pub const ALL_ACTIONS_WORD: &str = "*";

/// What a scope is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `repository:<name>`.
    Repository(RepositoryName),
    /// `registry:catalog`: the repository list (`/v2/_catalog`).
    Catalog,
}

impl Resource {
    pub const REPOSITORY_TYPE: &'static str = "repository";
    pub const REGISTRY_TYPE: &'static str = "registry";
    pub const CATALOG_NAME: &'static str = "catalog";

    /// The resource a token-spec `type` and `name` pair names, or `None`
    /// for an unknown type, an unknown `registry` resource or an invalid
    /// repository name. A resource class (`repository(plugin)`) is accepted
    /// and treated as its base type.
    pub fn from_type_and_name(resource_type: &str, name: &str) -> Option<Resource> {
        match base_resource_type(resource_type)? {
            Self::REPOSITORY_TYPE => Some(Resource::Repository(name.parse().ok()?)),
            Self::REGISTRY_TYPE if name == Self::CATALOG_NAME => Some(Resource::Catalog),
            _ => None,
        }
    }

    /// The token-spec resource type: `repository` or `registry`.
    pub fn resource_type(&self) -> &'static str {
        match self {
            Resource::Repository(_) => Self::REPOSITORY_TYPE,
            Resource::Catalog => Self::REGISTRY_TYPE,
        }
    }

    /// The token-spec resource name: the repository name, or `catalog`.
    pub fn name(&self) -> &str {
        match self {
            Resource::Repository(name) => name.as_str(),
            Resource::Catalog => Self::CATALOG_NAME,
        }
    }

    /// The resource as the access decision names it.
    pub fn as_policy(&self) -> policy::Resource<'_> {
        match self {
            Resource::Repository(name) => policy::Resource::Repository(name),
            Resource::Catalog => policy::Resource::Catalog,
        }
    }
}

/// One resource and the actions asked for or granted on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceScope {
    pub resource: Resource,
    pub actions: ActionSet,
}

impl ResourceScope {
    /// Parses one scope, e.g. `repository:samples/hello:pull,push` or
    /// `registry:catalog:*`. `None` when nothing in it can be granted: an
    /// unknown resource type, an invalid repository name, a missing part,
    /// or no known action word (unknown words are dropped, the rest kept).
    ///
    /// The type ends at the first `:` and the actions start after the last
    /// one, so a name holding a `:` (`localhost:5000/app`, sent by a few
    /// clients) is read whole and then refused by the name grammar, rather
    /// than being misread as a different name.
    pub fn parse(text: &str) -> Option<ResourceScope> {
        let (resource_type, rest) = text.split_once(':')?;
        let (name, words) = rest.rsplit_once(':')?;
        let resource = Resource::from_type_and_name(resource_type, name)?;
        let actions = actions_from_scope_words(words.split(','));
        (!actions.is_empty()).then_some(ResourceScope { resource, actions })
    }
}

/// `repository:samples/hello:pull,push`, `registry:catalog:*`: the form a
/// client sends back to the token endpoint.
impl fmt::Display for ResourceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.resource.resource_type(),
            self.resource.name(),
            scope_words(self.actions).join(",")
        )
    }
}

/// The actions named by token-spec words (`pull`, `push`, `delete`,
/// `metadata_read`, `metadata_write`, `*`). Unknown and empty words are
/// dropped: the token spec grants only what it can.
pub fn actions_from_scope_words<'a>(words: impl IntoIterator<Item = &'a str>) -> ActionSet {
    words
        .into_iter()
        .filter_map(|word| ActionSet::from_token_scope_word(word).ok())
        .fold(ActionSet::EMPTY, |actions, word_actions| actions | word_actions)
}

/// The token-spec words for `actions`: `*` for every action, otherwise one
/// word per action in the fixed action order. Used for challenges and for
/// the `access` claim of issued tokens.
pub fn scope_words(actions: ActionSet) -> Vec<&'static str> {
    if actions == ActionSet::ALL {
        vec![ALL_ACTIONS_WORD]
    } else {
        actions.token_scope_words()
    }
}

/// The scopes of one `scope` parameter, space-separated scopes allowed.
/// See [`parse_scope_params`].
pub fn parse_scopes(text: &str) -> Vec<ResourceScope> {
    parse_scope_params([text])
}

/// The scopes of every `scope` parameter of a token request (each may hold
/// several, space-separated). Scopes that cannot be granted are dropped;
/// scopes on the same resource are merged into one, in order of first
/// appearance; at most [`MAX_SCOPES_PER_REQUEST`] resources are kept.
pub fn parse_scope_params<'a>(params: impl IntoIterator<Item = &'a str>) -> Vec<ResourceScope> {
    let mut scopes: Vec<ResourceScope> = Vec::new();
    let parsed = params.into_iter().flat_map(str::split_ascii_whitespace).filter_map(ResourceScope::parse);
    for scope in parsed {
        if let Some(known) = scopes.iter_mut().find(|known| known.resource == scope.resource) {
            known.actions |= scope.actions;
        } else if scopes.len() < MAX_SCOPES_PER_REQUEST {
            scopes.push(scope);
        }
    }
    scopes
}

/// The `WWW-Authenticate` value sending a client to the token endpoint:
/// `Bearer realm="https://host/oauth2/token",service="host",scope="repository:samples/hello:pull,push"`,
/// with `,error="insufficient_scope"` (or `invalid_token`) when given.
/// Several scopes (a mount names its source beside its target) share the
/// one `scope` parameter, space-separated as the token specification and
/// Distribution write them; none leaves the parameter out.
///
/// Values are HTTP quoted-strings: `"` and `\` are backslash-escaped, and
/// characters a header value cannot hold (controls, non-ASCII) are left out
/// so the header is never refused as a whole.
pub fn challenge(realm: &str, service: &str, scopes: &[ResourceScope], error: Option<&str>) -> String {
    let mut value = String::from("Bearer ");
    push_parameter(&mut value, "realm", realm);
    value.push(',');
    push_parameter(&mut value, "service", service);
    if !scopes.is_empty() {
        let named: Vec<String> = scopes.iter().map(ToString::to_string).collect();
        value.push(',');
        push_parameter(&mut value, "scope", &named.join(" "));
    }
    if let Some(error) = error {
        value.push(',');
        push_parameter(&mut value, "error", error);
    }
    value
}

fn push_parameter(out: &mut String, name: &str, text: &str) {
    out.push_str(name);
    out.push_str("=\"");
    for character in text.chars() {
        match character {
            '"' | '\\' => {
                out.push('\\');
                out.push(character);
            }
            ' '..='~' => out.push(character),
            _ => {}
        }
    }
    out.push('"');
}

/// `repository` for `repository` and `repository(plugin)`; `None` when the
/// class is malformed (`repository(`, `repository()`, `repository(a)b`).
fn base_resource_type(resource_type: &str) -> Option<&str> {
    let Some((base, rest)) = resource_type.split_once('(') else {
        return Some(resource_type);
    };
    let class = rest.strip_suffix(')')?;
    let well_formed =
        !class.is_empty() && class.chars().all(|c| matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-'));
    well_formed.then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Action::{self, *};

    fn set(actions: &[Action]) -> ActionSet {
        ActionSet::of(actions)
    }

    fn repository(name: &str, actions: ActionSet) -> ResourceScope {
        ResourceScope { resource: Resource::Repository(name.parse().unwrap()), actions }
    }

    fn catalog(actions: ActionSet) -> ResourceScope {
        ResourceScope { resource: Resource::Catalog, actions }
    }

    #[test]
    fn single_scopes_parse_to_what_can_be_granted() {
        let table: Vec<(&str, Option<ResourceScope>)> = vec![
            ("repository:samples/hello:pull", Some(repository("samples/hello", set(&[ContentRead])))),
            (
                "repository:samples/hello:pull,push",
                Some(repository("samples/hello", set(&[ContentRead, ContentWrite]))),
            ),
            (
                "repository:samples/hello:push,pull",
                Some(repository("samples/hello", set(&[ContentRead, ContentWrite]))),
            ),
            ("repository:a:delete", Some(repository("a", set(&[ContentDelete])))),
            (
                "repository:a/b/c:metadata_read,metadata_write",
                Some(repository("a/b/c", set(&[MetadataRead, MetadataWrite]))),
            ),
            ("repository:a:*", Some(repository("a", ActionSet::ALL))),
            ("repository:a:pull,*", Some(repository("a", ActionSet::ALL))),
            // Resource class: accepted, treated as a repository.
            ("repository(plugin):samples/hello:pull", Some(repository("samples/hello", set(&[ContentRead])))),
            ("repository(plugin.v1):x:push", Some(repository("x", set(&[ContentWrite])))),
            ("registry:catalog:*", Some(catalog(ActionSet::ALL))),
            ("registry:catalog:metadata_read", Some(catalog(set(&[MetadataRead])))),
            // Unknown words dropped, the rest kept.
            ("repository:a:pull,fly", Some(repository("a", set(&[ContentRead])))),
            ("repository:a:PULL,push", Some(repository("a", set(&[ContentWrite])))),
            ("repository:a:pull,,push", Some(repository("a", set(&[ContentRead, ContentWrite])))),
            // Nothing grantable left.
            ("repository:a:fly", None),
            ("repository:a:", None),
            ("repository:a:,", None),
            // Unknown resource types and registry resources are ignored.
            ("registry:metrics:*", None),
            ("registry:Catalog:*", None),
            ("Repository:a:pull", None),
            ("image:a:pull", None),
            (":a:pull", None),
            // Invalid repository names drop the scope.
            ("repository:Samples/Hello:pull", None),
            ("repository:a//b:pull", None),
            ("repository::pull", None),
            ("repository:a b:pull", None),
            // A host with a port: split at the first and last `:`, so the
            // name is `localhost:5000/app`, which the grammar refuses.
            ("repository:localhost:5000/app:pull", None),
            ("repository:a:b:pull", None),
            // Missing parts.
            ("repository:a", None),
            ("repository", None),
            ("", None),
            // Malformed resource classes.
            ("repository(:a:pull", None),
            ("repository():a:pull", None),
            ("repository(plugin)x:a:pull", None),
            ("repository(Plugin):a:pull", None),
        ];
        for (text, expected) in table {
            assert_eq!(ResourceScope::parse(text), expected, "{text:?}");
        }
    }

    #[test]
    fn parameters_split_on_spaces_and_merge_per_resource() {
        let table: Vec<(Vec<&str>, Vec<ResourceScope>)> = vec![
            (vec![], vec![]),
            (vec![""], vec![]),
            (vec!["repository:a:pull"], vec![repository("a", set(&[ContentRead]))]),
            (
                vec!["repository:a:pull repository:b:push"],
                vec![repository("a", set(&[ContentRead])), repository("b", set(&[ContentWrite]))],
            ),
            (
                vec!["  repository:a:pull\trepository:b:push  "],
                vec![repository("a", set(&[ContentRead])), repository("b", set(&[ContentWrite]))],
            ),
            (
                vec!["repository:a:pull", "repository:b:push", "registry:catalog:*"],
                vec![
                    repository("a", set(&[ContentRead])),
                    repository("b", set(&[ContentWrite])),
                    catalog(ActionSet::ALL),
                ],
            ),
            (
                vec!["repository:a:pull", "repository:b:pull repository:a:push"],
                vec![
                    repository("a", set(&[ContentRead, ContentWrite])),
                    repository("b", set(&[ContentRead])),
                ],
            ),
            (
                vec!["repository(plugin):a:pull", "repository:a:delete"],
                vec![repository("a", set(&[ContentRead, ContentDelete]))],
            ),
            (
                vec!["image:a:pull repository:Bad:pull repository:good:fly repository:ok:pull"],
                vec![repository("ok", set(&[ContentRead]))],
            ),
        ];
        for (params, expected) in table {
            assert_eq!(parse_scope_params(params.iter().copied()), expected, "{params:?}");
            assert_eq!(parse_scopes(&params.join(" ")), expected, "{params:?} joined");
        }
    }

    #[test]
    fn at_most_the_limit_of_resources_is_kept() {
        let many: Vec<String> =
            (0..MAX_SCOPES_PER_REQUEST + 20).map(|n| format!("repository:r{n}:pull")).collect();
        let mut params: Vec<&str> = many.iter().map(String::as_str).collect();
        // A resource already kept still gains actions past the limit.
        params.push("repository:r0:push");
        let scopes = parse_scope_params(params);
        assert_eq!(scopes.len(), MAX_SCOPES_PER_REQUEST);
        assert_eq!(scopes[0], repository("r0", set(&[ContentRead, ContentWrite])));
        assert_eq!(
            scopes.last().unwrap().resource,
            Resource::Repository(format!("r{}", MAX_SCOPES_PER_REQUEST - 1).parse().unwrap())
        );
    }

    #[test]
    fn scopes_display_in_the_form_clients_send_back() {
        let table = [
            (
                repository("samples/hello", set(&[ContentWrite, ContentRead])),
                "repository:samples/hello:pull,push",
            ),
            (repository("a", set(&[ContentDelete])), "repository:a:delete"),
            (
                repository("a", set(&[MetadataRead, MetadataWrite])),
                "repository:a:metadata_read,metadata_write",
            ),
            (repository("a", ActionSet::ALL), "repository:a:*"),
            (repository("a", ActionSet::EMPTY), "repository:a:"),
            (catalog(ActionSet::ALL), "registry:catalog:*"),
            (catalog(set(&[MetadataRead])), "registry:catalog:metadata_read"),
        ];
        for (scope, text) in table {
            assert_eq!(scope.to_string(), text);
            if !scope.actions.is_empty() {
                assert_eq!(ResourceScope::parse(text), Some(scope), "{text} parses back");
            }
        }
    }

    #[test]
    fn scope_words_write_every_action_as_a_star() {
        assert_eq!(scope_words(ActionSet::ALL), vec!["*"]);
        assert_eq!(scope_words(set(&[ContentWrite, ContentRead])), vec!["pull", "push"]);
        assert!(scope_words(ActionSet::EMPTY).is_empty());
        for bits in 0u8..32 {
            let actions: ActionSet = Action::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, a)| a)
                .collect();
            assert_eq!(actions_from_scope_words(scope_words(actions)), actions);
        }
    }

    #[test]
    fn resources_name_their_type_and_name() {
        let table = [
            ("repository", "a/b", Some(Resource::Repository("a/b".parse().unwrap()))),
            ("repository(plugin)", "a", Some(Resource::Repository("a".parse().unwrap()))),
            ("registry", "catalog", Some(Resource::Catalog)),
            ("registry", "other", None),
            ("repository", "A", None),
            ("repository", "", None),
            ("blob", "a", None),
        ];
        for (resource_type, name, expected) in table {
            assert_eq!(Resource::from_type_and_name(resource_type, name), expected, "{resource_type}:{name}");
        }
        assert_eq!(Resource::Repository("a/b".parse().unwrap()).resource_type(), "repository");
        assert_eq!(Resource::Repository("a/b".parse().unwrap()).name(), "a/b");
        assert_eq!(Resource::Catalog.resource_type(), "registry");
        assert_eq!(Resource::Catalog.name(), "catalog");
    }

    /// realm, service, scope, error, expected header value.
    type ChallengeCase<'a> = (&'a str, &'a str, Option<&'a ResourceScope>, Option<&'a str>, &'a str);

    #[test]
    fn challenges_name_realm_service_scope_and_error() {
        let push = repository("samples/hello", set(&[ContentRead, ContentWrite]));
        let list = catalog(ActionSet::ALL);
        let realm = "http://registry.local:5000/oauth2/token";
        let table: Vec<ChallengeCase> = vec![
            (
                realm,
                "registry.local:5000",
                None,
                None,
                r#"Bearer realm="http://registry.local:5000/oauth2/token",service="registry.local:5000""#,
            ),
            (
                realm,
                "registry.local:5000",
                Some(&push),
                None,
                r#"Bearer realm="http://registry.local:5000/oauth2/token",service="registry.local:5000",scope="repository:samples/hello:pull,push""#,
            ),
            (
                realm,
                "registry.local:5000",
                Some(&push),
                Some("insufficient_scope"),
                r#"Bearer realm="http://registry.local:5000/oauth2/token",service="registry.local:5000",scope="repository:samples/hello:pull,push",error="insufficient_scope""#,
            ),
            (
                "https://h/oauth2/token",
                "h",
                Some(&list),
                Some("invalid_token"),
                r#"Bearer realm="https://h/oauth2/token",service="h",scope="registry:catalog:*",error="invalid_token""#,
            ),
            (
                "https://h/oauth2/token",
                "h",
                None,
                Some("insufficient_scope"),
                r#"Bearer realm="https://h/oauth2/token",service="h",error="insufficient_scope""#,
            ),
            // Quote-escaping, and characters no header value may hold.
            (
                r#"http://a"b\c/oauth2/token"#,
                "h\r\nX-Injected: 1",
                None,
                Some("bad\"word"),
                r#"Bearer realm="http://a\"b\\c/oauth2/token",service="hX-Injected: 1",error="bad\"word""#,
            ),
            ("http://café/t", "h\u{0}\t\u{7f}", None, None, r#"Bearer realm="http://caf/t",service="h""#),
        ];
        for (realm, service, scope, error, expected) in table {
            let value = challenge(realm, service, scope.map_or(&[], std::slice::from_ref), error);
            assert_eq!(value, expected);
            assert!(
                value.bytes().all(|byte| (b' '..=b'~').contains(&byte)),
                "{value:?} is a valid header value"
            );
        }
    }
}
