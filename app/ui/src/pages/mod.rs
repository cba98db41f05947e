//! One module per screen: login, the case list (台账) and the case form.

pub mod case_form;
pub mod case_list;
pub mod login;
