//! The sync protocol: versioned wire types carried over `POST /api/v1/sync`, encoded with
//! postcard. Inside the envelope, each document travels as a raw `automerge::sync`
//! message, so any Automerge implementation could take part.
//!
//! One exchange (a "round"):
//! 1. The device sends its cursor and one sync message for each document it must bring
//!    in line: the ones it changed (dirty) and the ones the server listed as changed.
//! 2. The server answers each message with its own (always one reply per document;
//!    the server keeps no per-device sync state between requests), plus the ids of the
//!    documents in the device's scope changed since the cursor, and a new cursor. A
//!    document write and the bump of the server's change sequence are one transaction.
//! 3. The device applies the replies and repeats while any document still has something
//!    to say. A document is in line when both sides report the same heads.
//!
//! A sync when nothing changed is one request with no documents: its size and the
//! server's work do not grow with the number of documents.
//!
//! Scope changes (protocol 2): the server also lists the cases that left the device's
//! scope since the cursor (`gone`: transferred to another unit, an assignment withdrawn,
//! the user moved to another unit); the device deletes its copies (reporting, not
//! dropping, any unsynced local edit of them). A protocol-1 request is still answered, in
//! the protocol-1 layout (no `gone`), so an old app keeps working until it is updated.

use serde::{Deserialize, Serialize};

use crate::ids::CaseId;

/// Bumped on any incompatible change of the types below. 2: `SyncResponse::gone`.
pub const PROTOCOL_VERSION: u16 = 2;

/// The oldest protocol a server still answers (in that protocol's layout).
pub const OLDEST_PROTOCOL_VERSION: u16 = 1;

/// The HTTP content type of requests and responses.
pub const CONTENT_TYPE: &str = "application/vnd.hecha.sync+postcard";

/// Most documents a device puts in one request.
pub const MAX_DOCS_PER_REQUEST: usize = 200;

/// Most changed-document ids a server lists in one response (`more` says if there are others).
pub const MAX_CHANGED_PER_RESPONSE: usize = 1000;

/// Position in the server's change sequence up to which a device has been told of changes.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Cursor(pub u64);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub protocol: u16,
    pub cursor: Cursor,
    pub docs: Vec<DocMessage>,
}

/// One raw `automerge::sync::Message`, encoded, for one case document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMessage {
    pub case_id: CaseId,
    pub message: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub protocol: u16,
    /// One reply per document of the request, in the same order.
    pub docs: Vec<DocReply>,
    /// Documents in the device's scope changed since the request's cursor.
    pub changed: Vec<CaseId>,
    /// The cursor to send next time, once the `changed` documents are in line.
    pub cursor: Cursor,
    /// More changed documents than `changed` lists: ask again with the new cursor.
    pub more: bool,
    /// Documents that left the device's scope since the request's cursor (protocol 2;
    /// always empty in a protocol-1 answer). Never lists a document that is in scope.
    pub gone: Vec<CaseId>,
}

/// The protocol-1 layout of [`SyncResponse`] (no `gone`).
#[derive(Serialize, Deserialize)]
struct SyncResponseV1 {
    protocol: u16,
    docs: Vec<DocReply>,
    changed: Vec<CaseId>,
    cursor: Cursor,
    more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocReply {
    /// The server's sync message for the document.
    Message(DocMessage),
    /// Outside the device's scope, or unknown: nothing is said about which.
    Unavailable { case_id: CaseId },
    /// The device's message was not accepted (e.g. not a valid sync message, or a change
    /// the device may not make); the server's copy is unchanged.
    Rejected { case_id: CaseId, reason: String },
}

impl DocReply {
    pub fn case_id(&self) -> CaseId {
        match self {
            DocReply::Message(m) => m.case_id,
            DocReply::Unavailable { case_id } | DocReply::Rejected { case_id, .. } => *case_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("sync body is truncated or malformed: {0}")]
    Malformed(String),
    #[error("sync protocol version {found} is not supported (expected {PROTOCOL_VERSION})")]
    UnsupportedVersion { found: u16 },
}

/// The protocol version a body starts with, if it is one this side speaks.
fn check_version(bytes: &[u8]) -> Result<u16, ProtocolError> {
    let (found, _) = postcard::take_from_bytes::<u16>(bytes)
        .map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    if (OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&found) {
        Ok(found)
    } else {
        Err(ProtocolError::UnsupportedVersion { found })
    }
}

fn decode_exact<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ProtocolError> {
    check_version(bytes)?;
    decode_body(bytes)
}

fn decode_body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ProtocolError> {
    let (value, rest) = postcard::take_from_bytes::<T>(bytes)
        .map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(ProtocolError::Malformed(format!(
            "{} trailing bytes",
            rest.len()
        )))
    }
}

impl SyncRequest {
    pub fn new(cursor: Cursor, docs: Vec<DocMessage>) -> Self {
        Self {
            protocol: PROTOCOL_VERSION,
            cursor,
            docs,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("in-memory encoding cannot fail")
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        decode_exact(bytes)
    }
}

impl SyncResponse {
    /// Encodes in the layout of `self.protocol` (a protocol-1 answer leaves `gone` out).
    pub fn encode(&self) -> Vec<u8> {
        if self.protocol == 1 {
            let v1 = SyncResponseV1 {
                protocol: 1,
                docs: self.docs.clone(),
                changed: self.changed.clone(),
                cursor: self.cursor,
                more: self.more,
            };
            return postcard::to_allocvec(&v1).expect("in-memory encoding cannot fail");
        }
        postcard::to_allocvec(self).expect("in-memory encoding cannot fail")
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        if check_version(bytes)? == 1 {
            let v1: SyncResponseV1 = decode_body(bytes)?;
            return Ok(SyncResponse {
                protocol: v1.protocol,
                docs: v1.docs,
                changed: v1.changed,
                cursor: v1.cursor,
                more: v1.more,
                gone: Vec::new(),
            });
        }
        decode_body(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SyncRequest {
        SyncRequest::new(
            Cursor(42),
            vec![DocMessage {
                case_id: CaseId::from_random_bytes([9; 16]),
                message: vec![0x42, 1, 2, 3],
            }],
        )
    }

    #[test]
    fn requests_and_responses_round_trip() {
        let req = request();
        assert_eq!(SyncRequest::decode(&req.encode()).unwrap(), req);
        let resp = SyncResponse {
            protocol: PROTOCOL_VERSION,
            docs: vec![DocReply::Unavailable {
                case_id: CaseId::from_random_bytes([1; 16]),
            }],
            changed: vec![CaseId::from_random_bytes([2; 16])],
            cursor: Cursor(7),
            more: false,
            gone: vec![CaseId::from_random_bytes([3; 16])],
        };
        assert_eq!(SyncResponse::decode(&resp.encode()).unwrap(), resp);
    }

    #[test]
    fn a_protocol_1_answer_has_the_old_layout_and_reads_back_without_gone() {
        let resp = SyncResponse {
            protocol: 1,
            docs: vec![],
            changed: vec![CaseId::from_random_bytes([2; 16])],
            cursor: Cursor(7),
            more: true,
            gone: vec![CaseId::from_random_bytes([3; 16])],
        };
        let bytes = resp.encode();
        let old = SyncResponseV1 {
            protocol: 1,
            docs: vec![],
            changed: resp.changed.clone(),
            cursor: Cursor(7),
            more: true,
        };
        assert_eq!(bytes, postcard::to_allocvec(&old).unwrap());
        let back = SyncResponse::decode(&bytes).unwrap();
        assert_eq!(back.gone, Vec::<CaseId>::new());
        assert_eq!((back.changed, back.more), (resp.changed, true));
        // A protocol-1 request is understood.
        let mut req = request();
        req.protocol = 1;
        assert_eq!(SyncRequest::decode(&req.encode()).unwrap().protocol, 1);
    }

    #[test]
    fn an_empty_request_is_a_few_bytes() {
        assert!(SyncRequest::new(Cursor(123_456), vec![]).encode().len() < 8);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = request().encode();
        for cut in 0..bytes.len() {
            assert!(SyncRequest::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            SyncRequest::decode(&long),
            Err(ProtocolError::Malformed(_))
        ));
    }

    #[test]
    fn another_version_is_refused_by_name() {
        let mut req = request();
        req.protocol = 99;
        assert_eq!(
            SyncRequest::decode(&req.encode()).unwrap_err(),
            ProtocolError::UnsupportedVersion { found: 99 }
        );
    }
}
