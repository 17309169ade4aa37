//! The portal's use-cases, behind the `app::backend::PortalBackend` port.

use std::{net::IpAddr, sync::Arc, time::Instant};

use app::{
    backend::PortalBackend,
    error::PortalError,
    model::{Count, Overview, Password, SignedInUser},
};

use crate::{
    auth::{
        password::{self, HumanPassword},
        throttle::{AttemptKey, LoginThrottle},
    },
    db::{registry, users, Database},
};

pub struct PortalService {
    db: Database,
    throttle: Arc<LoginThrottle>,
    login_server: String,
}

impl PortalService {
    pub fn new(db: Database, throttle: Arc<LoginThrottle>, login_server: String) -> Self {
        Self { db, throttle, login_server }
    }
}

/// Logs the cause and answers the user with a detail-free error.
fn internal(error: impl std::fmt::Display) -> PortalError {
    tracing::error!(%error, "portal request failed");
    PortalError::Internal
}

#[async_trait::async_trait]
impl PortalBackend for PortalService {
    async fn sign_in(
        &self,
        name: &str,
        password: Password,
        client: IpAddr,
    ) -> Result<SignedInUser, PortalError> {
        let key = AttemptKey::new(name, client);
        if let Err(wait) = self.throttle.check(&key, Instant::now()) {
            tracing::warn!(user = %name, %client, "portal sign-in throttled");
            return Err(PortalError::Throttled { retry_after_secs: wait.as_secs().max(1) });
        }
        let user = users::find_by_name(&self.db, name).await.map_err(internal)?;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let matches =
            password::verify(HumanPassword::new(password.into_inner()), stored).await.map_err(internal)?;
        match user {
            Some(user) if matches => {
                self.throttle.record_success(&key);
                tracing::info!(user = %user.name, %client, "portal sign-in");
                Ok(SignedInUser { name: user.name, is_admin: user.is_admin })
            }
            _ => {
                self.throttle.record_failure(key, Instant::now());
                tracing::warn!(user = %name, %client, "portal sign-in refused");
                Err(PortalError::InvalidCredentials)
            }
        }
    }

    async fn overview(&self) -> Result<Overview, PortalError> {
        let administrators = users::count(&self.db).await.map_err(internal)?;
        let (repositories, tags, blobs) = registry::counts(&self.db).await.map_err(internal)?;
        let count = |label: &str, value| Count { label: label.to_owned(), value };
        Ok(Overview {
            login_server: self.login_server.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            counts: vec![
                count("Repositories", repositories),
                count("Tags", tags),
                count("Blobs", blobs),
                count("Administrators", administrators),
            ],
        })
    }
}
