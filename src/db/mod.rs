//! Everything that speaks SQL, in the client's own terms: model types in and out, and a typed
//! `DbError` (SQLSTATE and the database's reason). Nothing here knows the UI: `db` imports
//! nothing from `app`, `ui` or the drafts; the runtime translates between the two.

pub mod cluster;
pub mod connect;
pub mod conninfo;
pub mod error;
pub mod history;
pub mod listen;
pub mod migrate;
pub mod notifier;
pub mod pgpass;
pub mod repo;
pub mod session;
pub mod statements;
pub mod thread;
pub mod tls;
pub mod watchdog;

pub use connect::{Target, connect, connect_config};
pub use error::{DbError, describe};
