//! Bulk import of whole case documents straight into the store, as if each had been
//! synced by a device of the unit: a district's existing cases brought over from a
//! previous system, and the benchmarks' seed data (thousands of cases in seconds).
//! The ledger columns are derived exactly as on the sync path.

use hecha_shared::case::read_case;
use hecha_shared::{CaseId, UnitId, UserId};
use rusqlite::TransactionBehavior;

use crate::db::{blobs, cases, meta, units};
use crate::{ledger, AppState, ServerError};

impl AppState {
    /// Stores `docs` (saved Automerge case documents) in `unit`, credited to `verifier`,
    /// in one transaction: each gets a change sequence number, so devices in scope hear
    /// of it at their next sync. A case whose id the server holds already is skipped; a
    /// document that does not read as a case fails the whole import. Returns how many
    /// were stored.
    pub fn import_cases(
        &self,
        unit: &UnitId,
        verifier: Option<UserId>,
        docs: &[Vec<u8>],
    ) -> Result<usize, ServerError> {
        let now = self.now_ms();
        self.db().write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if units::name_of(&tx, unit)?.is_none() {
                return Err(ServerError::Invalid(format!("unit {unit} does not exist")));
            }
            let mut stored = 0;
            for (n, bytes) in docs.iter().enumerate() {
                let invalid = |what: String| ServerError::Invalid(format!("document {n}: {what}"));
                let doc =
                    hecha_shared::case::load_document(bytes).map_err(|e| invalid(e.to_string()))?;
                let case = read_case(&doc).map_err(|e| invalid(e.to_string()))?;
                let case_id: CaseId = case
                    .case_id
                    .parse()
                    .map_err(|_| invalid(format!("bad case id {:?}", case.case_id)))?;
                if cases::unit_of(&tx, case_id)?.is_some() {
                    continue;
                }
                let columns = ledger::columns(&doc, &case);
                let seq = meta::next_seq(&tx)?;
                cases::save(&tx, case_id, unit, verifier, bytes, seq, &columns, now)?;
                blobs::add_refs(&tx, case_id, &hecha_shared::blob::referenced_blobs(&doc))?;
                stored += 1;
            }
            tx.commit()?;
            Ok(stored)
        })
    }
}
