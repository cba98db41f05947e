//! The sync planner: pure decisions about what goes in the next request and what a reply
//! means for a document's flags. No IO, so every rule is unit-tested here.

use std::collections::BTreeSet;

use automerge::sync::{BloomFilter, Have, State};
use automerge::ChangeHash;
use hecha_shared::sync::MAX_DOCS_PER_REQUEST;
use hecha_shared::CaseId;

/// Rounds a sync run may take beyond what its documents need. A healthy run needs about
/// two per batch of documents; the cap only stops a misbehaving exchange from looping for
/// ever.
pub(crate) const SPARE_ROUNDS: u32 = 50;

/// Most requests a run may make after touching `docs` documents: a few per batch of
/// [`MAX_DOCS_PER_REQUEST`] (push, check, the odd extra exchange) plus [`SPARE_ROUNDS`],
/// so a device with many cases is never cut short by a fixed cap.
pub(crate) fn round_limit(docs: usize) -> u32 {
    let batches = docs.div_ceil(MAX_DOCS_PER_REQUEST);
    SPARE_ROUNDS.saturating_add(u32::try_from(batches.saturating_mul(4)).unwrap_or(u32::MAX))
}

/// A document that may go in the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub case_id: CaseId,
    /// Changed on this device and not yet held by the server.
    pub dirty: bool,
    /// The server listed it as changed.
    pub pull: bool,
    /// Already exchanging messages in this run and not yet in line.
    pub mid_exchange: bool,
}

/// The order in which candidates are offered to the next request (which takes at most
/// `MAX_DOCS_PER_REQUEST` that have something to say): exchanges already under way first,
/// so they finish; then local changes (the data only this device holds); then documents
/// to fetch. Ties keep a stable order by id.
pub(crate) fn order(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.sort_by_key(|c| (!c.mid_exchange, !c.dirty, !c.pull, c.case_id));
    candidates
}

/// Whether to send another request: always the first (it brings the change notices, even
/// with no documents), then while some document has a message or the server has more
/// change notices to list.
pub(crate) fn another_round(rounds_done: u32, docs_ready: usize, more: bool) -> bool {
    rounds_done == 0 || docs_ready > 0 || more
}

/// What the heads after a reply say about a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Standing {
    /// The server holds every change this device has.
    pub server_has_ours: bool,
    /// Both sides hold the same changes: nothing left to exchange.
    pub in_line: bool,
}

/// Compares our heads with the heads the server's last message reported.
pub(crate) fn standing(ours: &[ChangeHash], theirs: Option<&[ChangeHash]>) -> Standing {
    let Some(theirs) = theirs else {
        return Standing {
            server_has_ours: false,
            in_line: false,
        };
    };
    let ours: BTreeSet<_> = ours.iter().collect();
    let theirs: BTreeSet<_> = theirs.iter().collect();
    Standing {
        server_has_ours: ours.is_subset(&theirs),
        in_line: ours == theirs,
    }
}

/// Which flags a document's standing lets us clear: `dirty` only once the server is known
/// to hold our changes and nothing is left to exchange; `pull` once nothing is left.
pub(crate) fn flags_to_clear(s: Standing) -> (bool, bool) {
    let done = s.in_line;
    (done && s.server_has_ours, done)
}

/// The sync state a run starts a document's exchange with. Built from the persisted
/// state (the heads both sides held after the last sync; none for a case never synced),
/// assuming the server still holds exactly those: then the very first message carries
/// every local change since (for a new case, all of it), so a server that does not know
/// the case yet receives it whole instead of answering that it has no such case. If the
/// assumption is wrong the server asks for what it lacks and the exchange goes on.
pub(crate) fn start_state(persisted: Option<&[u8]>) -> State {
    let mut state = persisted
        .and_then(|bytes| State::decode(bytes).ok())
        .unwrap_or_default();
    let shared = state.shared_heads.clone();
    state.their_heads = Some(shared.clone());
    state.their_need = Some(Vec::new());
    state.their_have = Some(vec![Have {
        last_sync: shared,
        bloom: BloomFilter::default(),
    }]);
    state
}

/// Restarts an exchange (the server announced a change after its last message): keeps
/// only what is persisted, so the next message is sent whatever the old state thought.
pub(crate) fn restart_state(state: &State) -> State {
    start_state(Some(&state.encode()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::{Message, SyncDoc};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, Automerge, ReadDoc};

    fn id(n: u8) -> CaseId {
        CaseId::from_random_bytes([n; 16])
    }

    fn cand(n: u8, dirty: bool, pull: bool, mid: bool) -> Candidate {
        Candidate {
            case_id: id(n),
            dirty,
            pull,
            mid_exchange: mid,
        }
    }

    #[test]
    fn exchanges_under_way_go_first_then_local_changes_then_fetches() {
        let ordered = order(vec![
            cand(1, false, true, false),
            cand(2, true, false, false),
            cand(3, false, true, true),
            cand(4, true, true, false),
            cand(0, true, false, false),
        ]);
        let ids: Vec<_> = ordered.iter().map(|c| c.case_id).collect();
        assert_eq!(ids, vec![id(3), id(4), id(0), id(2), id(1)]);
    }

    #[test]
    fn a_run_always_asks_once_then_only_while_there_is_something_to_say() {
        assert!(another_round(0, 0, false));
        assert!(!another_round(1, 0, false));
        assert!(another_round(1, 0, true));
        assert!(another_round(3, 2, false));
    }

    #[test]
    fn the_round_cap_grows_with_the_documents_of_the_run() {
        assert_eq!(round_limit(0), SPARE_ROUNDS);
        assert_eq!(round_limit(1), SPARE_ROUNDS + 4);
        assert_eq!(round_limit(200), SPARE_ROUNDS + 4);
        // 10,000 cases: 50 batches, each pushed and checked, still within the cap.
        assert!(round_limit(10_000) >= 2 * 50 + SPARE_ROUNDS);
    }

    #[test]
    fn flags_clear_only_when_the_server_holds_our_changes() {
        let mut doc = Automerge::new().with_actor(ActorId::from([1u8; 16]));
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "a", 1).unwrap();
        tx.commit();
        let ours = doc.get_heads();
        let none: Vec<ChangeHash> = vec![];

        let unknown = standing(&ours, None);
        assert_eq!(flags_to_clear(unknown), (false, false));
        let behind = standing(&ours, Some(&none));
        assert_eq!(flags_to_clear(behind), (false, false));
        let same = standing(&ours, Some(&ours));
        assert_eq!(flags_to_clear(same), (true, true));
        // The server holds ours and a concurrent change we have not received yet.
        let mut elsewhere = Automerge::new().with_actor(ActorId::from([2u8; 16]));
        let mut tx = elsewhere.transaction();
        tx.put(automerge::ROOT, "b", 2).unwrap();
        tx.commit();
        let theirs: Vec<_> = ours.iter().chain(&elsewhere.get_heads()).copied().collect();
        let ahead = standing(&ours, Some(&theirs));
        assert!(ahead.server_has_ours && !ahead.in_line);
        assert_eq!(flags_to_clear(ahead), (false, false));
    }

    /// A peer that, like the server, answers each message from a fresh state.
    fn stateless_answer(server: &mut Automerge, message: Message) -> Message {
        let mut state = State::new();
        server.receive_sync_message(&mut state, message).unwrap();
        server.generate_sync_message(&mut state).unwrap()
    }

    fn doc_with(actor: u8, key: &str, value: i64) -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from([actor; 16]));
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, key, value).unwrap();
        tx.commit();
        doc
    }

    #[test]
    fn the_first_message_of_a_new_case_carries_all_of_it() {
        let local = doc_with(1, "name", 7);
        let mut state = start_state(None);
        let message = local.generate_sync_message(&mut state).unwrap();
        assert!(!message.changes.is_empty());

        let mut server = Automerge::new();
        let answer = stateless_answer(&mut server, message);
        assert_eq!(server.get_heads(), local.get_heads());
        let mut local = local;
        local.receive_sync_message(&mut state, answer).unwrap();
        let s = standing(&local.get_heads(), state.their_heads.as_deref());
        assert!(s.in_line && s.server_has_ours);
        // Done: nothing more to say.
        assert!(local.generate_sync_message(&mut state).is_none());
    }

    #[test]
    fn a_persisted_state_sends_only_what_changed_since_and_merges_the_servers_edits() {
        // Device and server in line after an earlier sync.
        let mut local = doc_with(1, "name", 7);
        let mut server = local.fork().with_actor(ActorId::from([9u8; 16]));
        let persisted = {
            let mut s = State::new();
            s.shared_heads = local.get_heads();
            s.encode()
        };
        // Both change it offline.
        let mut tx = local.transaction();
        tx.put(automerge::ROOT, "phone", 1).unwrap();
        tx.commit();
        let mut tx = server.transaction();
        tx.put(automerge::ROOT, "address", 2).unwrap();
        tx.commit();

        let mut state = start_state(Some(&persisted));
        let mut rounds = 0;
        while let Some(message) = local.generate_sync_message(&mut state) {
            rounds += 1;
            assert!(rounds < 5, "the exchange must settle");
            let answer = stateless_answer(&mut server, message);
            local.receive_sync_message(&mut state, answer).unwrap();
            if standing(&local.get_heads(), state.their_heads.as_deref()).in_line {
                break;
            }
        }
        assert_eq!(rounds, 1, "one request pushes ours and brings theirs");
        assert_eq!(local.get_heads().len(), 2);
        let mut sorted_l = local.get_heads();
        let mut sorted_s = server.get_heads();
        sorted_l.sort();
        sorted_s.sort();
        assert_eq!(sorted_l, sorted_s);
        assert!(local.get(automerge::ROOT, "address").unwrap().is_some());
        assert!(server.get(automerge::ROOT, "phone").unwrap().is_some());
    }

    #[test]
    fn an_empty_local_copy_receives_the_whole_document() {
        let mut server = doc_with(3, "name", 1);
        let mut local = Automerge::new().with_actor(ActorId::from([1u8; 16]));
        let mut state = start_state(None);
        let message = local.generate_sync_message(&mut state).unwrap();
        assert!(message.changes.is_empty());
        let answer = stateless_answer(&mut server, message);
        local.receive_sync_message(&mut state, answer).unwrap();
        assert_eq!(local.get_heads(), server.get_heads());
        assert!(standing(&local.get_heads(), state.their_heads.as_deref()).in_line);
    }

    #[test]
    fn a_restarted_exchange_always_sends_a_message() {
        let local = doc_with(1, "name", 7);
        let mut state = State::new();
        state.shared_heads = local.get_heads();
        state.their_heads = Some(local.get_heads());
        state.last_sent_heads = local.get_heads();
        state.have_responded = true;
        state.their_need = Some(vec![]);
        state.their_have = Some(vec![]);
        assert!(local.generate_sync_message(&mut state.clone()).is_none());
        assert!(local
            .generate_sync_message(&mut restart_state(&state))
            .is_some());
    }
}
