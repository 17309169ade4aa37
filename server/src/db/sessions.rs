//! The portal's session store on the database the registry uses, so every
//! replica sees every session (issue 15). tower-sessions-sqlx-store brings
//! the table and its SQL for each driver; this only chooses one. It must
//! not be used for anything but sessions.

use std::fmt;

use async_trait::async_trait;
use sqlx::{PgPool, SqlitePool};
use tower_sessions::{
    session::{Id, Record},
    session_store, ExpiredDeletion, SessionStore,
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use super::Backend;

/// The table of portal sessions (in PostgreSQL's `public` schema).
const TABLE: &str = "portal_sessions";

/// The session store of either database.
#[derive(Clone)]
pub struct PortalSessions(Backend<SqliteStore, PostgresStore>);

/// The stores' own `Debug` prints their pools; the driver is enough.
impl fmt::Debug for PortalSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let driver = match self.0 {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        };
        f.debug_tuple("PortalSessions").field(&driver).finish()
    }
}

impl PortalSessions {
    /// The store on `pool`, its table created if missing.
    pub(super) async fn open(pool: &Backend<SqlitePool, PgPool>) -> Result<Self, String> {
        let store = match pool {
            Backend::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone()).with_table_name(TABLE)?;
                store.migrate().await.map_err(|e| e.to_string())?;
                Backend::Sqlite(store)
            }
            Backend::Postgres(pool) => {
                let store =
                    PostgresStore::new(pool.clone()).with_schema_name("public")?.with_table_name(TABLE)?;
                store.migrate().await.map_err(|e| e.to_string())?;
                Backend::Postgres(store)
            }
        };
        Ok(Self(store))
    }
}

#[async_trait]
impl SessionStore for PortalSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &self.0 {
            Backend::Sqlite(store) => store.create(record).await,
            Backend::Postgres(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match &self.0 {
            Backend::Sqlite(store) => store.save(record).await,
            Backend::Postgres(store) => store.save(record).await,
        }
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        match &self.0 {
            Backend::Sqlite(store) => store.load(session_id).await,
            Backend::Postgres(store) => store.load(session_id).await,
        }
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        match &self.0 {
            Backend::Sqlite(store) => store.delete(session_id).await,
            Backend::Postgres(store) => store.delete(session_id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for PortalSessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match &self.0 {
            Backend::Sqlite(store) => store.delete_expired().await,
            Backend::Postgres(store) => store.delete_expired().await,
        }
    }
}
