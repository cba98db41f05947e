//! The household visit beyond the form's fields: draft autosave, the 低保 hint shown with
//! a case, and signatures (signing over the saved content, listing them with whether they
//! still hold, and which are still missing).

use automerge::{Automerge, ReadDoc};
use base64::Engine;
use hecha_shared::app_api::{SignRequest, SignatureView};
use hecha_shared::case::{self, derive, CaseDoc, CaseForm, FieldErrors};
use hecha_shared::signature::{
    self, add_signature, attest_hash_v2, attested_content_of, neighbour_scope, pack, review,
    to_hex, unpack, SignatureCheck, SignatureMark, SignatureRecord, SignatureReview, SignerRole,
    Strokes, WHOLE_RECORD,
};
use hecha_shared::standards::{hint, Hint};
use hecha_shared::CaseId;

use crate::actions::{enrolled, load_existing, note};
use crate::docs;
use crate::error::{CoreError, CoreResult};
use crate::store::{cases, drafts, Store};

/// The size signatures are rendered at (the pad's 5:2 box).
pub const SIGNATURE_PNG_WIDTH: u32 = 600;
pub const SIGNATURE_PNG_HEIGHT: u32 = 240;

/// The key a draft of a case not saved yet is kept under.
pub const NEW_CASE_DRAFT: &str = "new";

// ---------------------------------------------------------------------------------------
// Drafts

pub(crate) fn save_draft(store: &Store, key: &str, form: &CaseForm, now_ms: i64) -> CoreResult<()> {
    drafts::put(store.conn(), draft_key(key)?, form, now_ms)
}

pub(crate) fn load_draft(store: &Store, key: &str) -> CoreResult<Option<CaseForm>> {
    drafts::get(store.conn(), draft_key(key)?)
}

pub(crate) fn discard_draft(store: &Store, key: &str) -> CoreResult<()> {
    drafts::delete(store.conn(), draft_key(key)?)
}

/// Draft keys are a case id or [`NEW_CASE_DRAFT`]; anything else is refused.
fn draft_key(key: &str) -> CoreResult<&str> {
    let key = key.trim();
    if key == NEW_CASE_DRAFT || key.parse::<CaseId>().is_ok() {
        Ok(key)
    } else {
        let mut errors = FieldErrors::default();
        errors.add("key", "草稿标识无效");
        Err(CoreError::Validation(errors))
    }
}

/// After a successful save: the draft the form came from is no longer needed.
pub(crate) fn clear_draft_after_save(
    conn: &rusqlite::Connection,
    form: &CaseForm,
    saved: CaseId,
) -> CoreResult<()> {
    drafts::delete(conn, &saved.to_string())?;
    if form.case_id.is_none() {
        drafts::delete(conn, NEW_CASE_DRAFT)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Hint

/// The hint for `case` against the standards cached on this device, for the year (China
/// time) of the visit, or of the case's creation before the visit is recorded; `None`
/// without standards.
pub(crate) fn hint_for(store: &Store, case: &CaseDoc) -> CoreResult<Option<Hint>> {
    let Some(standards) = crate::sync_client::standards::cached(store.conn())? else {
        return Ok(None);
    };
    let at = if case.visit.started_at > 0 {
        case.visit.started_at
    } else {
        case.created_at
    };
    let year = derive::china_date_of_ms(at).map_or(1970, |d| i32::from(d.year));
    Ok(Some(hint(case, &standards, year)))
}

// ---------------------------------------------------------------------------------------
// Signatures

/// Every signature of the document as the panel shows it, and the roles still missing.
pub(crate) fn signature_views(doc: &Automerge) -> CoreResult<(Vec<SignatureView>, Vec<String>)> {
    let reviews = review(doc)?;
    let missing = signature::missing_valid(&reviews)
        .into_iter()
        .map(|r| r.code().to_string())
        .collect();
    let views = reviews.iter().map(|r| view_of(doc, r)).collect();
    Ok((views, missing))
}

fn view_of(doc: &Automerge, r: &SignatureReview) -> SignatureView {
    let rec = &r.signature.record;
    let png_data_url = if rec.strokes.is_empty() {
        String::new()
    } else {
        match unpack(&rec.strokes) {
            Ok(strokes) => {
                let png = crate::signatures::render_png(
                    &strokes,
                    SIGNATURE_PNG_WIDTH,
                    SIGNATURE_PNG_HEIGHT,
                );
                format!(
                    "data:image/png;base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(png)
                )
            }
            Err(e) => {
                tracing::warn!(error = %e, id = %r.signature.id, "stored strokes unreadable");
                String::new()
            }
        }
    };
    let by_display_name = r
        .signature
        .signed_in
        .and_then(|h| doc.get_change_by_hash(&h))
        .and_then(|c| c.message().and_then(case::ChangeNote::decode))
        .map(|n| n.author)
        .unwrap_or_default();
    let (mark, fingerprint_photo) = match &rec.mark {
        SignatureMark::Drawn => ("drawn", None),
        SignatureMark::FingerprintPhoto { sha256 } => ("fingerprint_photo", Some(sha256.clone())),
        SignatureMark::WitnessFor { .. } => ("witness_for", None),
    };
    SignatureView {
        id: r.signature.id.clone(),
        role: rec.role.code().to_string(),
        role_label_zh: rec.role.label_zh().to_string(),
        signer_name: rec.signer_name.clone(),
        signed_at_ms: rec.signed_at_ms,
        by_display_name,
        png_data_url,
        mark: mark.to_string(),
        fingerprint_photo,
        status: match r.check {
            SignatureCheck::Valid => "valid",
            SignatureCheck::ContentChangedAfterSigning => "changed",
        }
        .to_string(),
        status_label_zh: r.check.label_zh().to_string(),
        changed_by_name: r
            .changed
            .as_ref()
            .map(|c| c.author.clone())
            .unwrap_or_default(),
        changed_at_ms: r.changed.as_ref().map_or(0, |c| c.at_ms),
        neighbour_visit: r.signature.neighbour_visit.clone(),
    }
}

fn field_error(field: &str, message: impl Into<String>) -> CoreError {
    let mut errors = FieldErrors::default();
    errors.add(field, message);
    CoreError::Validation(errors)
}

/// Records a signature over the case's saved content (one commit, the case becomes
/// unsynced). Refused with per-field Chinese messages when the record is not complete
/// enough to sign ([`case::validate_for_signing`]) or the request is wrong.
pub(crate) fn sign_case(
    store: &mut Store,
    actor: &automerge::ActorId,
    now_ms: i64,
    req: SignRequest,
) -> CoreResult<Vec<SignatureView>> {
    let session = enrolled(store)?;
    let (_, mut doc) = load_existing(store, actor, req.case_id)?;
    let c = case::read_case(&doc)?;
    let signer_name = req.signer_name.trim().to_string();
    if signer_name.is_empty() {
        return Err(field_error("signer_name", "请填写签字人姓名"));
    }
    let reviews = review(&doc)?;
    let role = pick_role(&req.role, &reviews)?;

    // What is signed: the whole record, or (a neighbour) their own visit.
    let (scope, neighbour_visit) = if role == SignerRole::Neighbour {
        let Some(visit_id) = req.neighbour_visit.as_deref().map(str::trim) else {
            return Err(field_error(
                "neighbour_visit",
                "请选择邻居签字对应的邻里访问",
            ));
        };
        match c.neighbour_visits.get(visit_id) {
            Some(v) if !v.removed => {
                if v.name.trim().is_empty() || v.statement.trim().is_empty() {
                    return Err(field_error(
                        "neighbour_visit",
                        "请先填写并保存受访邻居姓名和反映情况，再请邻居签字",
                    ));
                }
            }
            _ => {
                return Err(field_error(
                    "neighbour_visit",
                    "该邻里访问不存在或已删除，请先保存",
                ))
            }
        }
        (neighbour_scope(visit_id), Some(visit_id.to_string()))
    } else {
        case::validate_for_signing(&CaseForm::from_case(&c)).map_err(CoreError::Validation)?;
        (WHOLE_RECORD.to_string(), None)
    };

    // The mark: strokes, or an applicant's fingerprint photo.
    let fingerprint = req
        .fingerprint_photo
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty());
    let (strokes, mark) = match fingerprint {
        Some(sha) => {
            if role != SignerRole::Applicant {
                return Err(field_error(
                    "fingerprint_photo",
                    "只有申请人可以按手印代替签名",
                ));
            }
            if !c.photos.values().any(|p| !p.removed && p.sha256 == sha) {
                return Err(field_error(
                    "fingerprint_photo",
                    "请先把手印照片添加到本个案",
                ));
            }
            (
                Strokes::default(),
                SignatureMark::FingerprintPhoto { sha256: sha },
            )
        }
        None => {
            let strokes = Strokes::new(req.strokes)
                .map_err(|e| field_error("strokes", format!("签名数据无效，请重新签字（{e}）")))?;
            if strokes.point_count() < 2 {
                return Err(field_error("strokes", "请在签名框内签字"));
            }
            let mark = if role == SignerRole::Witness {
                SignatureMark::WitnessFor {
                    applicant_name: c.applicant.name.clone(),
                }
            } else {
                SignatureMark::Drawn
            };
            (strokes, mark)
        }
    };

    let signer_user = (signer_name == session.display_name.trim()).then_some(session.user_id);
    if matches!(role, SignerRole::Investigator1 | SignerRole::Investigator2) {
        let already = reviews.iter().any(|r| {
            let rec = &r.signature.record;
            r.check == SignatureCheck::Valid
                && matches!(
                    rec.role,
                    SignerRole::Investigator1 | SignerRole::Investigator2
                )
                && rec.role != role
                && match (rec.signer_user, signer_user) {
                    (Some(a), Some(b)) => a == b,
                    _ => rec.signer_name.trim() == signer_name,
                }
        });
        if already {
            return Err(field_error(
                "signer_name",
                "该调查人员已经签字，第二名调查人员须是另一人",
            ));
        }
    }

    let content = attested_content_of(&c);
    let record = SignatureRecord {
        role,
        signer_name,
        signer_user,
        device: Some(session.device_id),
        signed_at_ms: now_ms,
        content_hash_hex: to_hex(&attest_hash_v2(&content, &scope)),
        strokes: if strokes.is_empty() {
            Vec::new()
        } else {
            pack(&strokes)
        },
        mark,
    };
    let id = uuid_text();
    add_signature(
        &mut doc,
        &id,
        &record,
        neighbour_visit.as_deref(),
        &note(&session, "sign"),
        now_ms,
    )?;
    let tx = store.transaction()?;
    cases::save_local(
        &tx,
        req.case_id,
        &doc.save(),
        &docs::summarise(&doc, now_ms),
    )?;
    tx.commit()?;
    Ok(signature_views(&doc)?.0)
}

/// The role a request names. `investigator` is the first investigator's place while no
/// valid first-investigator signature exists, else the second's.
fn pick_role(code: &str, reviews: &[SignatureReview]) -> CoreResult<SignerRole> {
    if code.trim() == "investigator" {
        let first_signed = reviews.iter().any(|r| {
            r.check == SignatureCheck::Valid && r.signature.record.role == SignerRole::Investigator1
        });
        return Ok(if first_signed {
            SignerRole::Investigator2
        } else {
            SignerRole::Investigator1
        });
    }
    SignerRole::from_code(code.trim()).ok_or_else(|| field_error("role", "请选择签字人身份"))
}

fn uuid_text() -> String {
    hecha_shared::ItemId::new_random().to_string()
}

#[cfg(test)]
#[path = "visit_tests.rs"]
mod tests;
