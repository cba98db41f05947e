//! One module per screen: login, the case list (台账), the investigation form and the
//! quick discovery report.

pub mod case_list;
pub mod discovery;
pub mod login;
pub mod visit_form;
