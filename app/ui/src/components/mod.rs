//! Pieces shared by the pages.

pub mod conflicts;
pub mod field;
pub mod header;
pub mod member_row;
pub mod sync_indicator;
