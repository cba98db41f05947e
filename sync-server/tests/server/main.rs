//! The server's integration tests: the router driven in-process (`tower::ServiceExt::
//! oneshot`) and over real HTTP, each test on its own SQLite database in a temp dir.

mod support;

mod audit;
mod auth;
mod blobs;
mod case_read;
mod cases;
mod export;
mod http;
mod lifecycle;
mod malformed;
mod matrix;
mod openapi;
mod ops;
mod provenance;
mod queries;
mod stats;
mod sync;
