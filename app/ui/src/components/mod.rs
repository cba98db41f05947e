//! Pieces shared by the pages.

pub mod conflicts;
pub mod header;
pub mod inputs;
pub mod photos;
pub mod signature_pad;
pub mod signatures;
pub mod sync_indicator;
