//! The ledger (台账) columns of a case, derived from its Automerge document at every write
//! (in the write's transaction) and re-derived for every stored case when the derivation
//! changes ([`DERIVE_VERSION`]). Pure: a document in, columns out; the derived values
//! come from the shared crate's functions (ID numbers, household size, signature checks,
//! conflicts), never from copies of them here.

use automerge::Automerge;
use hecha_shared::case::{conflicts, derive, CaseDoc};
use hecha_shared::id_number::{mask_id_text, Sex};
use hecha_shared::signature::{attested_content_of, check, read_signatures, SignatureCheck};
use hecha_shared::IdNumber;

/// Bumped whenever what [`columns`] derives changes: stored rows with a lower version are
/// re-derived from their documents when the server opens its database. (2: incomes from
/// `hecha_shared::case::derive`; 3: signatures checked with the schema-2 attestation.)
pub(crate) const DERIVE_VERSION: i64 = 3;

/// Everything the ledger keeps of one case besides its unit, verifier and times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CaseColumns {
    pub applicant_name: String,
    /// The applicant's ID number as written (trimmed, upper-case `X`); only bureau staff
    /// ever see it unmasked.
    pub id_number: String,
    pub id_masked: String,
    /// The last (up to) four characters of the ID number.
    pub id_suffix: String,
    /// `male`, `female` or empty (no valid ID number).
    pub sex: String,
    /// Birth date as `YYYYMMDD` (0: no valid ID number).
    pub birth_ymd: i64,
    /// 社区/村 of the applicant's address (schema v2; empty before).
    pub community: String,
    pub member_count: u32,
    pub status: String,
    /// `application`, `on_behalf`, `discovery` (empty: a v1 document).
    pub origin: String,
    /// A discovery marked urgent.
    pub urgent: bool,
    /// `urban` or `rural` (empty: not recorded).
    pub area: String,
    /// Chosen assistance type codes, sorted.
    pub assistance: Vec<String>,
    /// Chosen hardship cause codes, sorted.
    pub hardship: Vec<String>,
    /// Per-capita monthly household income in fen.
    pub per_capita_fen: i64,
    /// Annual household income in fen.
    pub annual_income_fen: i64,
    /// When the home visit started (None: no visit recorded).
    pub visit_at_ms: Option<i64>,
    /// The latest signature's time (None: not signed).
    pub signed_at_ms: Option<i64>,
    /// Some signature no longer matches the content it attested.
    pub changed_after_signing: bool,
    /// Some field holds concurrent values nobody has resolved.
    pub open_conflicts: bool,
}

/// The columns of `case` as `doc` now holds it.
pub(crate) fn columns(doc: &Automerge, case: &CaseDoc) -> CaseColumns {
    let id_number = case.applicant.id_number.trim().to_ascii_uppercase();
    let chars: Vec<char> = id_number.chars().collect();
    let id_suffix: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    let (sex, birth_ymd) = match IdNumber::parse(&id_number) {
        Ok(id) => {
            let sex = match id.sex() {
                Sex::Male => "male",
                Sex::Female => "female",
            };
            let birth = id.birth_date();
            let ymd = i64::from(birth.year) * 10_000
                + i64::from(birth.month) * 100
                + i64::from(birth.day);
            (sex.to_string(), ymd)
        }
        Err(_) => (String::new(), 0),
    };
    let (signed_at_ms, changed_after_signing) = signatures(doc, case);
    CaseColumns {
        applicant_name: case.applicant.name.trim().to_string(),
        id_masked: mask_id_text(&id_number),
        id_suffix,
        id_number,
        sex,
        birth_ymd,
        community: case.applicant.community.trim().to_string(),
        member_count: case.household_size(),
        status: case.status.clone(),
        origin: case.origin.clone(),
        urgent: case.discovery.urgent,
        area: case.applicant.area.clone(),
        assistance: chosen(&case.assistance),
        hardship: chosen(&case.hardship),
        per_capita_fen: derive::per_capita_monthly_income_fen(case),
        annual_income_fen: derive::annual_income_fen(case),
        visit_at_ms: Some(case.visit.started_at).filter(|t| *t > 0),
        signed_at_ms,
        changed_after_signing,
        open_conflicts: !conflicts(doc).is_empty(),
    }
}

/// The latest signature's time, and whether any signature no longer matches the case
/// (the schema's own check: `hecha_shared::signature::check` against the current content).
fn signatures(doc: &Automerge, case: &CaseDoc) -> (Option<i64>, bool) {
    let stored = read_signatures(doc);
    if stored.is_empty() {
        return (None, false);
    }
    let current = attested_content_of(case);
    let signed_at = stored.iter().map(|s| s.record.signed_at_ms).max();
    let changed = stored
        .iter()
        .any(|s| check(&s.record, &current) == SignatureCheck::ContentChangedAfterSigning);
    (signed_at, changed)
}

/// The codes of a set (`code → bool`) that are chosen, sorted.
fn chosen(set: &std::collections::BTreeMap<String, bool>) -> Vec<String> {
    set.iter()
        .filter(|(_, on)| **on)
        .map(|(code, _)| code.clone())
        .collect()
}

/// Re-derives the columns of every case derived by an older [`DERIVE_VERSION`] (after an
/// upgrade), in batches of one write transaction each. Returns how many were re-derived.
pub(crate) fn rederive_stale(db: &crate::db::Db) -> rusqlite::Result<usize> {
    use crate::db::cases;
    let mut done = 0;
    loop {
        let batch = db.write(|conn| -> rusqlite::Result<usize> {
            let tx = conn.transaction()?;
            let stale = cases::stale(&tx, 500)?;
            for case_id in &stale {
                let bytes = cases::load_doc(&tx, *case_id)?.unwrap_or_default();
                let doc = crate::sync::load_stored(*case_id, &bytes);
                let case = doc
                    .as_ref()
                    .and_then(|d| hecha_shared::case::read_case(d).ok());
                match (doc, case) {
                    (Some(doc), Some(case)) => {
                        cases::put_columns(&tx, *case_id, &columns(&doc, &case))?;
                        if let Some(actor) =
                            doc.get_changes(&[]).first().map(|c| c.actor_id().clone())
                        {
                            if let Some(owner) =
                                crate::db::devices::owner_of_actor(&tx, &actor.to_hex_string())?
                            {
                                cases::fill_verifier(&tx, *case_id, owner.user_id)?;
                            }
                        }
                    }
                    _ => cases::mark_derived(&tx, *case_id)?,
                }
            }
            tx.commit()?;
            Ok(stale.len())
        })?;
        done += batch;
        if batch == 0 {
            return Ok(done);
        }
    }
}
