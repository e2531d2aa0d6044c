//! The client's one owner of state. Terminal events and database replies come in as `Msg`;
//! `update` changes the state and returns `Effect`s; the worker performs them and answers with
//! more messages. Nothing here awaits anything, so the UI never waits on the database.

pub mod composer;
pub mod filter;
pub mod form;
pub mod keymap;
pub mod msg;
pub mod state;
pub mod update;

pub use msg::{Effect, LoadKind, Msg, Reply, RequestId};
pub use state::*;
pub use update::{start, update};
