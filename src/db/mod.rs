//! Everything that speaks SQL. The UI never imports tokio_postgres.

pub mod cluster;
pub mod connect;
pub mod error;
pub mod listen;
pub mod migrate;
pub mod repo;
pub mod worker;

pub use connect::{connect, connect_config};
pub use error::{DbError, describe};
