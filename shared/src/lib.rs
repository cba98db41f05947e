//! Hecha's pure core: the domain model, the Automerge case schema, and the sync protocol.
//!
//! Architecture invariant: this crate does no IO (no files, no network, no clock, no
//! tokio) and builds for `wasm32-unknown-unknown`, so the app core, the server and the
//! Leptos UI can all use it. Time and randomness are passed in by callers.

pub mod api;
pub mod app_api;
pub mod blob;
pub mod calendar;
pub mod case;
pub mod id_number;
pub mod ids;
pub mod lifecycle;
pub mod money;
pub mod photo;
pub mod recheck;
pub mod signature;
pub mod spot_check;
pub mod standards;
pub mod sync;
pub mod units;

pub use id_number::{IdNumber, IdNumberError};
pub use ids::{CaseId, DeviceId, ItemId, MemberId, UnitId, UserId};
