//! The only module that talks to the network: sends one planned
//! [`Request`] to the registry with HTTP Basic credentials and reads the
//! JSON answer or the problem+json error. Must not decide what to send or
//! how to print.

use std::time::Duration;

use serde_json::Value;

use crate::{
    args::{GlobalArgs, Password, RegistryUrl},
    error::{problem_message, CliError},
    plan::Request,
};

/// Giving up on a registry that does not accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Deleting a large repository takes a while; a hung server should not
/// hang a script forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

pub struct Registry {
    client: reqwest::Client,
    base: RegistryUrl,
    credentials: Option<(String, Password)>,
}

impl Registry {
    pub fn new(global: &GlobalArgs) -> Result<Self, CliError> {
        let credentials = match (&global.username, &global.password) {
            (Some(username), Some(password)) => Some((username.clone(), password.clone())),
            (None, None) => None,
            (Some(_), None) => {
                return Err(CliError::Usage(
                    "--username needs --password (or PORTCULLIS_PASSWORD)".to_owned(),
                ))
            }
            (None, Some(_)) => {
                return Err(CliError::Usage(
                    "--password needs --username (or PORTCULLIS_USERNAME)".to_owned(),
                ))
            }
        };
        let client = reqwest::Client::builder()
            // Credentials are sent only to the URL given; a redirect is an
            // error to report, not to follow.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("portcullis-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| CliError::Unreachable {
                registry: global.registry.to_string(),
                cause: format!("cannot set up the HTTP client: {error}"),
            })?;
        Ok(Self { client, base: global.registry.clone(), credentials })
    }

    pub fn url(&self, request: &Request) -> String {
        format!("{}{}", self.base, request.path)
    }

    /// The answer's JSON (`null` for an empty body, e.g. 204), or the error
    /// the server explained.
    pub async fn send(&self, request: &Request) -> Result<Value, CliError> {
        self.send_refusable(request).await.map_err(|refusal| refusal.error)
    }

    /// Like [`Registry::send`], keeping the problem's `pointer` (where in
    /// the request body the server found the problem).
    pub async fn send_refusable(&self, request: &Request) -> Result<Value, ApiRefusal> {
        let url = self.url(request);
        let mut builder = self.client.request(request.method.clone(), &url);
        if let Some((username, password)) = &self.credentials {
            builder = builder.basic_auth(username, Some(password.expose()));
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let response = builder.send().await.map_err(|error| CliError::Unreachable {
            registry: self.base.to_string(),
            cause: root_cause(&error),
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| CliError::BadAnswer { url: url.clone(), reason: root_cause(&error) })?;
        let pointer = || {
            serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|problem| problem.get("pointer")?.as_str().map(str::to_owned))
        };
        if !status.is_success() {
            let message = problem_message(
                status.as_u16(),
                status.canonical_reason().unwrap_or(""),
                &body,
                &url,
                self.credentials.is_some(),
            );
            let error = CliError::Api { status: status.as_u16(), message };
            return Err(ApiRefusal { error, pointer: pointer() });
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(&body).map_err(|error| CliError::BadAnswer {
            url,
            reason: format!("the body is not JSON ({error})"),
        })?)
    }
}

/// An error answer, with the problem's `pointer` when it has one.
#[derive(Debug)]
pub struct ApiRefusal {
    pub error: CliError,
    pub pointer: Option<String>,
}

impl From<CliError> for ApiRefusal {
    fn from(error: CliError) -> Self {
        Self { error, pointer: None }
    }
}

/// The innermost cause (e.g. "Connection refused (os error 111)"), which
/// says more than reqwest's "error sending request".
fn root_cause(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
