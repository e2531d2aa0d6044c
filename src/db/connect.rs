//! Connecting: TLS through rustls (ring), session setup, the connection task.

use super::error::DbError;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The TLS connector, built once: the system's CA store, ring as the only crypto provider.
pub fn tls() -> MakeRustlsConnect {
    static TLS: OnceLock<MakeRustlsConnect> = OnceLock::new();
    TLS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            // A malformed system certificate is skipped, as every TLS client does.
            let _ = roots.add(cert);
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        MakeRustlsConnect::new(config)
    })
    .clone()
}

/// Connects with a `postgres://` URL or a libpq `key=value` string.
pub async fn connect(conninfo: &str, application_name: &str) -> Result<Client, DbError> {
    let mut config = Config::from_str(conninfo)
        .map_err(|e| DbError::Unreachable(format!("the database URL is not valid: {e}")))?;
    if config.get_application_name().is_none() {
        config.application_name(application_name);
    }
    connect_config(&config).await
}

/// Connects with a prepared config; the connection runs on its own task until the client drops.
pub async fn connect_config(config: &Config) -> Result<Client, DbError> {
    let (client, connection) = config.connect(tls()).await.map_err(|e| {
        let err = DbError::from(e);
        match err {
            DbError::Unreachable(why) => DbError::Unreachable(format!(
                "cannot reach PostgreSQL at {}: {why}",
                describe_target(config)
            )),
            other => other,
        }
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("database connection ended: {e}");
        }
    });
    Ok(client)
}

/// "host:port/dbname" for messages, without credentials.
pub fn describe_target(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("(default database)");
    format!("{host}:{port}/{db}")
}
