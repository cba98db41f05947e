//! The sync client: one sync run (several request rounds) following the contract in
//! `hecha_shared::sync`, built from the pure [`planner`], the HTTP executor [`http`] and
//! the store. The background loop's schedule is in [`backoff`].
//!
//! Crash safety: after each response, everything it taught us (documents received, their
//! sync states, cleared flags, change notices as `pull` flags, the new cursor) is stored
//! in one SQLite transaction. An interrupted run loses at most the round in flight, which
//! the next run repeats; Automerge changes are idempotent, so nothing is duplicated.

pub(crate) mod backoff;
pub(crate) mod blobs;
pub(crate) mod http;
pub(crate) mod planner;
pub(crate) mod standards;

use std::collections::{HashMap, HashSet};

use automerge::sync::{Message, State, SyncDoc};
use automerge::ActorId;
use hecha_shared::app_api::SyncReport;
use hecha_shared::sync::{DocMessage, DocReply, SyncRequest, SyncResponse, MAX_DOCS_PER_REQUEST};
use hecha_shared::CaseId;

use crate::docs;
use crate::error::{CoreError, CoreResult};
use crate::store::{cases, session, Store};
use crate::Inner;
use planner::Candidate;

/// A document's exchange within one run.
struct Exchange {
    state: State,
    /// In line with the server as of its last message.
    done: bool,
}

/// What a run keeps in memory between rounds.
#[derive(Default)]
struct Run {
    exchanges: HashMap<CaseId, Exchange>,
    /// Documents left out for the rest of the run (rejected, unavailable, unreadable).
    skipped: HashSet<CaseId>,
    /// Why the server would not take some documents.
    rejected: Vec<(CaseId, String)>,
    report: SyncReport,
}

/// What a completed run did, and what people should know about it.
pub(crate) struct RunResult {
    pub report: SyncReport,
    /// Documents the server did not accept, with its reasons (kept dirty for next time).
    pub rejected: Vec<(CaseId, String)>,
}

/// One full sync run. The caller records the outcome in the session.
pub(crate) async fn run(inner: &Inner) -> CoreResult<RunResult> {
    let session = inner
        .with_store(|s| session::get(s.conn()))?
        .ok_or(CoreError::NotEnrolled)?;
    let actor = inner.actor()?;
    let started_ms = inner.clock.now_ms();
    let mut run = Run::default();
    let mut more = false;
    loop {
        let (cursor, messages) = inner.with_store(|s| prepare_round(s, &actor, &mut run))?;
        if !planner::another_round(run.report.rounds, messages.len(), more) {
            break;
        }
        if run.report.rounds >= planner::round_limit(run.exchanges.len()) {
            // Someone kept editing while this run went on: not a fault. What was saved
            // meanwhile stays dirty and the next run (each save nudges one) takes it.
            if inner.with_store(|s| cases::edited_since(s.conn(), started_ms))? {
                break;
            }
            return Err(CoreError::TooManyRounds(run.report.rounds));
        }
        let request = SyncRequest::new(cursor, messages);
        let (response, traffic) =
            http::sync(&inner.http, &session.server_url, &session.token, &request).await?;
        run.report.rounds += 1;
        run.report.docs_sent += request.docs.len() as u32;
        run.report.bytes_sent += traffic.sent;
        run.report.bytes_received += traffic.received;
        more = response.more;
        inner.with_store(|s| apply_response(s, &actor, response, &mut run))?;
    }
    // Photos travel after the documents naming them (the server takes a blob only once
    // a case in scope refers to it): send ours, then fetch received photos' thumbnails.
    blobs::upload_pending(inner, &session, &mut run.report).await?;
    blobs::fetch_thumbnails(inner, &session, &mut run.report).await?;
    standards::refresh(inner, &session).await;
    Ok(RunResult {
        report: run.report,
        rejected: run.rejected,
    })
}

/// Picks the documents of the next request and generates their messages. A flagged
/// document with nothing to say is in line already: its flags are cleared here.
fn prepare_round(
    store: &mut Store,
    actor: &ActorId,
    run: &mut Run,
) -> CoreResult<(hecha_shared::sync::Cursor, Vec<DocMessage>)> {
    let tx = store.transaction()?;
    let cursor = session::get(&tx)?.ok_or(CoreError::NotEnrolled)?.cursor;
    let candidates = cases::flagged(&tx)?
        .into_iter()
        .filter(|f| !run.skipped.contains(&f.case_id))
        .map(|f| Candidate {
            case_id: f.case_id,
            dirty: f.dirty,
            pull: f.pull,
            mid_exchange: run.exchanges.get(&f.case_id).is_some_and(|e| !e.done),
        })
        .collect();
    let mut messages = Vec::new();
    for candidate in planner::order(candidates) {
        if messages.len() >= MAX_DOCS_PER_REQUEST {
            break;
        }
        let id = candidate.case_id;
        let Some(record) = cases::get(&tx, id)? else {
            continue;
        };
        let doc = match docs::load(&record.doc, actor) {
            Ok(doc) => doc,
            Err(e) => {
                tracing::error!(case_id = %id, error = %e, "stored case document does not load");
                run.skipped.insert(id);
                continue;
            }
        };
        let exchange = run.exchanges.entry(id).or_insert_with(|| Exchange {
            state: planner::start_state(record.sync_state.as_deref()),
            done: false,
        });
        match doc.generate_sync_message(&mut exchange.state) {
            Some(message) => {
                exchange.done = false;
                messages.push(DocMessage {
                    case_id: id,
                    message: message.encode(),
                });
            }
            None => {
                let standing =
                    planner::standing(&doc.get_heads(), exchange.state.their_heads.as_deref());
                let (dirty, pull) = planner::flags_to_clear(standing);
                if dirty || pull {
                    cases::clear_flags(&tx, id, dirty, pull)?;
                    exchange.done = true;
                    // In line once in this run: an edit made from now on waits for the
                    // next run (each save nudges one), so a person who keeps typing
                    // during a sync cannot keep the run going until its round limit.
                    run.skipped.insert(id);
                } else {
                    // Waiting for an answer that will not come in this run.
                    run.skipped.insert(id);
                }
            }
        }
    }
    tx.commit()?;
    Ok((cursor, messages))
}

/// Applies one response in one transaction: the replies, the change notices and the cursor.
fn apply_response(
    store: &mut Store,
    actor: &ActorId,
    response: SyncResponse,
    run: &mut Run,
) -> CoreResult<()> {
    let tx = store.transaction()?;
    for reply in response.docs {
        let id = reply.case_id();
        match reply {
            DocReply::Message(m) => apply_message(&tx, actor, id, &m.message, run)?,
            DocReply::Unavailable { .. } => {
                tracing::warn!(case_id = %id, "the server does not offer this case to this device");
                // Out of this account's scope (or never on the server): a copy with
                // unsynced edits is kept and reported, any other copy goes.
                cases::drop_gone(&tx, id)?;
                run.skipped.insert(id);
            }
            DocReply::Rejected { reason, .. } => {
                tracing::warn!(case_id = %id, %reason, "the server rejected this case's changes");
                cases::set_sync_error(&tx, id, Some(&reason))?;
                run.skipped.insert(id);
                run.rejected.push((id, reason));
            }
        }
    }
    let empty = docs::empty(actor).save();
    for id in response.changed {
        cases::mark_pull(&tx, id, &empty)?;
        if let Some(exchange) = run.exchanges.get_mut(&id) {
            // The change may postdate the server's last message for it: ask again.
            exchange.state = planner::restart_state(&exchange.state);
            exchange.done = false;
        }
    }
    for id in response.gone {
        // Out of this account's scope now: no copy stays unless it holds unsynced edits.
        if cases::drop_gone(&tx, id)? {
            tracing::warn!(case_id = %id, "a case with unsynced edits left this account's scope: kept, not synced");
        }
        run.skipped.insert(id);
        run.report.docs_dropped += 1;
    }
    session::set_cursor(&tx, response.cursor)?;
    tx.commit()?;
    Ok(())
}

/// Receives the server's message for one document into the stored copy.
fn apply_message(
    tx: &rusqlite::Transaction<'_>,
    actor: &ActorId,
    id: CaseId,
    bytes: &[u8],
    run: &mut Run,
) -> CoreResult<()> {
    let (Some(exchange), Some(record)) = (run.exchanges.get_mut(&id), cases::get(tx, id)?) else {
        return Ok(());
    };
    let received = Message::decode(bytes)
        .map_err(|e| e.to_string())
        .and_then(|message| {
            let mut doc = docs::load(&record.doc, actor).map_err(|e| e.to_string())?;
            let before = doc.get_heads();
            doc.receive_sync_message(&mut exchange.state, message)
                .map_err(|e| e.to_string())?;
            Ok((before, doc))
        });
    let (before, doc) = match received {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(case_id = %id, error = %e, "the server's sync message could not be applied");
            cases::set_sync_error(tx, id, Some("服务器发来的数据无法读取"))?;
            run.skipped.insert(id);
            return Ok(());
        }
    };
    let heads = doc.get_heads();
    if heads != before {
        let updated = docs::last_change_ms(&doc)
            .unwrap_or(0)
            .max(record.updated_at_ms);
        cases::store_received(tx, id, &doc.save(), &docs::summarise(&doc, updated))?;
        let photos = hecha_shared::blob::photo_blobs(&doc);
        crate::store::photo_queue::queue_thumbnails(tx, id, &photos, updated)?;
        run.report.docs_received += 1;
    }
    cases::set_sync_state(tx, id, &exchange.state.encode())?;
    let standing = planner::standing(&heads, exchange.state.their_heads.as_deref());
    let (dirty, pull) = planner::flags_to_clear(standing);
    if dirty || pull {
        cases::clear_flags(tx, id, dirty, pull)?;
        cases::set_sync_error(tx, id, None)?;
    }
    exchange.done = standing.in_line;
    Ok(())
}
