//! `tickets`: a support-ticketing system whose truth and security live in PostgreSQL.
//!
//! The library holds everything the binary, the tests and the benchmarks share; `main.rs` only
//! parses the command line and dispatches.

pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod drafts;
pub mod headless;
pub mod logging;
pub mod model;
pub mod passwd;
pub mod people;
pub mod runtime;
pub mod seed;
pub mod terminal;
pub mod ui;
pub mod wire;
