//! Signatures bound to what they sign: the pad's strokes packed into a few bytes, the
//! canonical hash of the content a signature attests, the signature record a case holds,
//! and the pure checks a UI shows ("内容在签字后被修改", which signatures are missing).
//!
//! # Strokes
//!
//! A signature is a list of strokes, each a list of [`Point`]s: `x`, `y` in device-independent
//! units `0..=65535` of the pad's box (0 = left/top edge, 65535 = right/bottom edge), `t` in
//! ms since the signature's first point, and an optional pressure `0..=255`. Within one stroke
//! either every point has a pressure or none has (one pointer draws one stroke). Limits: at
//! most [`MAX_STROKES`] strokes, [`MAX_POINTS`] points in all, no empty stroke.
//!
//! # Packed format, version 1 (`pack` / `unpack`)
//!
//! Stored in the case document as ONE Automerge bytes scalar (see [`put_record`]).
//!
//! ```text
//! bytes 0..3   "HS" 0x01                 magic and format version
//! bytes 3..    a bit stream, most significant bit of each byte first:
//!   EG0(stroke count)
//!   per stroke:
//!     EG0(point count - 1)
//!     1 bit   has pressure
//!     4 bits  kx, 4 bits ky, 4 bits kt, [4 bits kp if has pressure]   (Exp-Golomb orders)
//!     per point: EG(kx, zz(rx)), EG(ky, zz(ry)), EG(kt, zz(rt)), [EG(kp, zz(rp))]
//!   zero bits up to the next byte boundary; nothing after it
//! ```
//!
//! - `EG(k, v)`: Exp-Golomb code of order `k` for `v >= 0`: let `w = v + 2^k` with `n`
//!   significant bits; write `n - k - 1` zero bits, then `w` in `n` bits. `EG0` is order 0.
//! - `zz(r)`: zigzag, `2r` for `r >= 0`, `-2r - 1` for `r < 0`.
//! - Residuals are second-order: for a channel `c` (x, y, t), `r = c[i] - (c[i-1] + v)` where
//!   `v = c[i-1] - c[i-2]` within the stroke, and `v = 0` at a stroke's first two points
//!   (so a stroke's first point is relative to the previous stroke's last point, and the
//!   signature's first point to 0). Pressure is first-order: `r = p[i] - p[i-1]`, with
//!   `p[-1] = 0` at each stroke's start.
//! - The packer picks each `k` in `0..=15` that makes its stroke's channel shortest.
//!
//! # Attested content and its hash (`attest_hash`)
//!
//! A signature attests the case's content at that moment: its id, the applicant's fields,
//! every **active** member's fields (a removed member is not part of the household the
//! record describes, so it is not attested; removing one changes the hash because the member
//! leaves the list), and the set of photo SHA-256s (lowercase hex; order and repeats do not
//! matter). Not attested: status, unit, times, a member's `added_at`, anything else that is
//! bookkeeping rather than content. The hash is SHA-256 over these bytes:
//!
//! ```text
//! "hecha-attest-v1"                                  15 ASCII bytes, no terminator
//! str(case_id)
//! u32(number of applicant fields)  then per field, sorted by key: str(key) str(value)
//! u32(number of members)           then per member, sorted by member id:
//!     str(member id) u32(number of fields) then per field, sorted by key: str(key) str(value)
//! u32(number of photos)            then per photo, sorted: str(sha256)
//! ```
//!
//! `u32(n)` is 4 bytes big-endian; `str(s)` is `u32(byte length)` then the UTF-8 bytes as
//! stored (no normalisation). Sorting is by UTF-8 bytes. Field keys are the document's field
//! names: applicant `address`, `id_number`, `name`, `phone`; member `id_number`, `name`,
//! `relation`. A later version that attests more fields changes the prefix.
//!
//! ## Version 2 (`hecha-attest-v2`): every section of the record
//!
//! Signatures made since schema 2 attest the whole investigation record. The content is a
//! flat map from a dotted key to a text value ([`AttestedContent::entries`]):
//!
//! ```text
//! origin                                 applicant.<field>   (name, id_number, phone,
//!   registered_address, address, community, area)
//! members.<id>.<field>                   active members only: name, relation, id_number,
//!   health, disability_grade, labour, employment, schooling, marital
//! income.<id>.<field>                    active items only: category, period, amount_fen,
//!   member, note
//! assets.<field>  expenses.<field>  housing.<field>  conclusion.<field>  visit.<field>
//! discovery.<field>                      every field of the section
//! hardship.<code>  assistance.<code>     value "true", chosen codes only
//! narrative
//! photos.<sha256>                        value: the photo's kind; photos not removed
//! neighbour_visits.<id>.<field>          active visits only: name, relation_or_address,
//!   statement, visited_at, by_user, by_name
//! ```
//!
//! Integers are written in decimal ASCII (`-12`, `0`), booleans as `true`/`false`, text as
//! stored. Not attested: schema, unit, created_at, status, `added_at`/`added_by`, removed
//! items (removing one drops its entries), a photo's other metadata (its bytes are
//! attested by the hash), the signature and lifecycle maps. A signature has a **scope**:
//! `""` for the whole record, or `neighbour_visits.<id>.` for a neighbour's signature,
//! which attests only the entries of that visit (a neighbour vouches for their own
//! statement, not for the household's income). The hash is SHA-256 over:
//!
//! ```text
//! "hecha-attest-v2"                                  15 ASCII bytes
//! str(case_id) str(scope)
//! u32(number of entries in scope)  then per entry, sorted by key: str(key) str(value)
//! ```
//!
//! A record does not store its version: its hash is compared with every hash the current
//! content has (v1, v2 whole record, v2 of each neighbour visit). A version 1 record
//! therefore still verifies exactly as before (against the v1 fields only), and a record
//! matching none of them is "内容在签字后被修改". [`review`] finds who changed it and when by
//! replaying the document's history after the signing change.

use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::Transactable;
use automerge::{
    Automerge, AutomergeError, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, Value as AmValue,
    ROOT,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::case::doc::commit_options;
use crate::case::{read_case, CaseDoc, CaseDocError, ChangeNote};
use crate::ids::{DeviceId, UserId};

/// At most this many strokes in one signature.
pub const MAX_STROKES: usize = 200;
/// At most this many points in one signature, all strokes together.
pub const MAX_POINTS: usize = 20_000;
/// The domain-separation prefix of the attested content's canonical bytes (version 1).
pub const ATTEST_PREFIX: &[u8] = b"hecha-attest-v1";
/// The prefix of version 2 (every section of the record; see the module doc).
pub const ATTEST_PREFIX_V2: &[u8] = b"hecha-attest-v2";
/// The scope of a signature over the whole record.
pub const WHOLE_RECORD: &str = "";

const MAGIC: [u8; 3] = [b'H', b'S', 1];

/// Why strokes or a record could not be built, packed data not read, or a stored record not
/// understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("too many strokes (at most {MAX_STROKES})")]
    TooManyStrokes,
    #[error("too many points (at most {MAX_POINTS})")]
    TooManyPoints,
    #[error("a stroke has no points")]
    EmptyStroke,
    #[error("a stroke mixes points with and without pressure")]
    MixedPressure,
    #[error("not packed signature data (bad magic or unknown version)")]
    BadHeader,
    #[error("packed signature data ends early")]
    Truncated,
    #[error("packed signature data is malformed: {0}")]
    Malformed(&'static str),
    #[error("stored signature record is malformed: {0}")]
    Record(String),
}

/// One sample of the pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// `0..=65535` across the pad's box, left to right.
    pub x: u16,
    /// `0..=65535` across the pad's box, top to bottom.
    pub y: u16,
    /// Milliseconds since the signature's first point.
    pub t: u32,
    /// `0..=255`, when the pointer reports pressure.
    pub pressure: Option<u8>,
}

/// A whole signature's strokes, within the limits (checked when built, so every value of
/// this type packs).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<Vec<Point>>", into = "Vec<Vec<Point>>")]
pub struct Strokes(Vec<Vec<Point>>);

impl Strokes {
    pub fn new(strokes: Vec<Vec<Point>>) -> Result<Self, SignatureError> {
        if strokes.len() > MAX_STROKES {
            return Err(SignatureError::TooManyStrokes);
        }
        if strokes.iter().map(Vec::len).sum::<usize>() > MAX_POINTS {
            return Err(SignatureError::TooManyPoints);
        }
        for stroke in &strokes {
            let first = stroke.first().ok_or(SignatureError::EmptyStroke)?;
            let has = first.pressure.is_some();
            if stroke.iter().any(|p| p.pressure.is_some() != has) {
                return Err(SignatureError::MixedPressure);
            }
        }
        Ok(Self(strokes))
    }

    pub fn strokes(&self) -> &[Vec<Point>] {
        &self.0
    }

    pub fn point_count(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<Vec<Vec<Point>>> for Strokes {
    type Error = SignatureError;
    fn try_from(v: Vec<Vec<Point>>) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<Strokes> for Vec<Vec<Point>> {
    fn from(s: Strokes) -> Self {
        s.0
    }
}

// ---------------------------------------------------------------------------------------
// Packing

struct BitWriter {
    bytes: Vec<u8>,
    acc: u8,
    used: u8,
}

impl BitWriter {
    fn bit(&mut self, b: bool) {
        self.acc = (self.acc << 1) | u8::from(b);
        self.used += 1;
        if self.used == 8 {
            self.bytes.push(self.acc);
            self.acc = 0;
            self.used = 0;
        }
    }

    fn bits(&mut self, value: u64, n: u32) {
        for i in (0..n).rev() {
            self.bit((value >> i) & 1 == 1);
        }
    }

    fn eg(&mut self, k: u32, v: u64) {
        let w = u128::from(v) + (1u128 << k);
        let n = 128 - w.leading_zeros();
        for _ in 0..(n - k - 1) {
            self.bit(false);
        }
        for i in (0..n).rev() {
            self.bit((w >> i) & 1 == 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.used > 0 {
            self.bytes.push(self.acc << (8 - self.used));
        }
        self.bytes
    }
}

fn eg_len(k: u32, v: u64) -> u64 {
    let w = u128::from(v) + (1u128 << k);
    let n = u64::from(128 - w.leading_zeros());
    2 * n - u64::from(k) - 1
}

fn zigzag(r: i64) -> u64 {
    ((r << 1) ^ (r >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn best_k(values: &[u64]) -> u32 {
    (0..16u32)
        .min_by_key(|&k| values.iter().map(|&v| eg_len(k, v)).sum::<u64>())
        .unwrap_or(0)
}

/// Second-order residuals of one channel of a stroke, starting from `prev`.
fn residuals(values: impl Iterator<Item = i64>, prev: i64) -> Vec<u64> {
    let mut out = Vec::new();
    let (mut last, mut vel) = (prev, 0i64);
    for (i, c) in values.enumerate() {
        let pred = last + vel;
        out.push(zigzag(c - pred));
        vel = if i == 0 { 0 } else { c - last };
        last = c;
    }
    out
}

/// Packs strokes into the version-1 format (see the module doc).
pub fn pack(strokes: &Strokes) -> Vec<u8> {
    let mut w = BitWriter {
        bytes: MAGIC.to_vec(),
        acc: 0,
        used: 0,
    };
    w.eg(0, strokes.0.len() as u64);
    let (mut px, mut py, mut pt) = (0i64, 0i64, 0i64);
    for stroke in &strokes.0 {
        let Some(last) = stroke.last() else { continue };
        w.eg(0, stroke.len() as u64 - 1);
        let rx = residuals(stroke.iter().map(|p| i64::from(p.x)), px);
        let ry = residuals(stroke.iter().map(|p| i64::from(p.y)), py);
        let rt = residuals(stroke.iter().map(|p| i64::from(p.t)), pt);
        let has_pressure = stroke[0].pressure.is_some();
        let rp: Vec<u64> = if has_pressure {
            let mut prev = 0i64;
            stroke
                .iter()
                .map(|p| {
                    let v = i64::from(p.pressure.unwrap_or(0));
                    let r = zigzag(v - prev);
                    prev = v;
                    r
                })
                .collect()
        } else {
            Vec::new()
        };
        w.bit(has_pressure);
        let (kx, ky, kt, kp) = (best_k(&rx), best_k(&ry), best_k(&rt), best_k(&rp));
        w.bits(u64::from(kx), 4);
        w.bits(u64::from(ky), 4);
        w.bits(u64::from(kt), 4);
        if has_pressure {
            w.bits(u64::from(kp), 4);
        }
        for i in 0..stroke.len() {
            w.eg(kx, rx[i]);
            w.eg(ky, ry[i]);
            w.eg(kt, rt[i]);
            if has_pressure {
                w.eg(kp, rp[i]);
            }
        }
        px = i64::from(last.x);
        py = i64::from(last.y);
        pt = i64::from(last.t);
    }
    w.finish()
}

struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn bit(&mut self) -> Result<bool, SignatureError> {
        let byte = self
            .bytes
            .get(self.pos / 8)
            .ok_or(SignatureError::Truncated)?;
        let b = (byte >> (7 - self.pos % 8)) & 1 == 1;
        self.pos += 1;
        Ok(b)
    }

    fn bits(&mut self, n: u32) -> Result<u64, SignatureError> {
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        Ok(v)
    }

    fn eg(&mut self, k: u32) -> Result<u64, SignatureError> {
        let mut zeros = 0u32;
        while !self.bit()? {
            zeros += 1;
            if zeros + k >= 40 {
                return Err(SignatureError::Malformed("number too long"));
            }
        }
        // The leading 1 has been read; `zeros + k` more bits follow.
        let rest = self.bits(zeros + k)?;
        let w = (1u64 << (zeros + k)) | rest;
        Ok(w - (1u64 << k))
    }
}

/// Reads packed strokes. Never panics: anything but a well-formed version-1 packing within
/// the limits is an error.
pub fn unpack(bytes: &[u8]) -> Result<Strokes, SignatureError> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(SignatureError::BadHeader);
    }
    let body = &bytes[MAGIC.len()..];
    let mut r = BitReader {
        bytes: body,
        pos: 0,
    };
    let count = r.eg(0)?;
    if count > MAX_STROKES as u64 {
        return Err(SignatureError::TooManyStrokes);
    }
    let mut strokes = Vec::with_capacity(count as usize);
    let mut total = 0usize;
    let (mut px, mut py, mut pt) = (0i64, 0i64, 0i64);
    for _ in 0..count {
        let n = r.eg(0)?.saturating_add(1);
        if n > (MAX_POINTS - total) as u64 {
            return Err(SignatureError::TooManyPoints);
        }
        let n = n as usize;
        total += n;
        let has_pressure = r.bit()?;
        let kx = r.bits(4)? as u32;
        let ky = r.bits(4)? as u32;
        let kt = r.bits(4)? as u32;
        let kp = if has_pressure { r.bits(4)? as u32 } else { 0 };
        let mut stroke = Vec::with_capacity(n);
        let (mut vx, mut vy, mut vt) = (0i64, 0i64, 0i64);
        let mut pp = 0i64;
        for i in 0..n {
            let x = next(&mut r, kx, &mut px, &mut vx, i, 0xFFFF)?;
            let y = next(&mut r, ky, &mut py, &mut vy, i, 0xFFFF)?;
            let t = next(&mut r, kt, &mut pt, &mut vt, i, i64::from(u32::MAX))?;
            let pressure = if has_pressure {
                let p = pp
                    .checked_add(unzigzag(r.eg(kp)?))
                    .filter(|p| (0..=255).contains(p))
                    .ok_or(SignatureError::Malformed("pressure out of range"))?;
                pp = p;
                Some(p as u8)
            } else {
                None
            };
            stroke.push(Point {
                x: x as u16,
                y: y as u16,
                t: t as u32,
                pressure,
            });
        }
        strokes.push(stroke);
    }
    // Only zero padding may follow, within the last byte.
    if r.pos.div_ceil(8) != body.len() {
        return Err(SignatureError::Malformed("trailing bytes"));
    }
    while !r.pos.is_multiple_of(8) {
        if r.bit()? {
            return Err(SignatureError::Malformed("non-zero padding"));
        }
    }
    Strokes::new(strokes)
}

/// Decodes one second-order channel value and advances its state.
fn next(
    r: &mut BitReader<'_>,
    k: u32,
    last: &mut i64,
    vel: &mut i64,
    index: usize,
    max: i64,
) -> Result<i64, SignatureError> {
    let res = unzigzag(r.eg(k)?);
    let c = last
        .checked_add(*vel)
        .and_then(|p| p.checked_add(res))
        .filter(|c| (0..=max).contains(c))
        .ok_or(SignatureError::Malformed("coordinate out of range"))?;
    *vel = if index == 0 { 0 } else { c - *last };
    *last = c;
    Ok(c)
}

// ---------------------------------------------------------------------------------------
// Attested content

/// Exactly what a signature attests, in canonical (sorted) form. Build it with
/// [`attested_content`]; its bytes are [`AttestedContent::canonical_bytes`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttestedContent {
    pub case_id: String,
    /// Applicant field name → value.
    pub applicant: BTreeMap<String, String>,
    /// Active member id → (field name → value).
    pub members: BTreeMap<String, BTreeMap<String, String>>,
    /// Photo SHA-256s, lowercase hex.
    pub photos: BTreeSet<String>,
    /// Version 2: every attested field of the record, dotted key → text (module doc).
    pub entries: BTreeMap<String, String>,
}

/// The scope of a neighbour's signature on the neighbour visit `visit_id`.
pub fn neighbour_scope(visit_id: &str) -> String {
    format!("neighbour_visits.{visit_id}.")
}

/// The version 2 entries of `case` (module doc).
fn entries_v2(case: &CaseDoc) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut put = |key: String, value: String| {
        out.insert(key, value);
    };
    put("origin".into(), case.origin.clone());
    let a = &case.applicant;
    for (k, v) in [
        ("name", &a.name),
        ("id_number", &a.id_number),
        ("phone", &a.phone),
        ("registered_address", &a.registered_address),
        ("address", &a.address),
        ("community", &a.community),
        ("area", &a.area),
    ] {
        put(format!("applicant.{k}"), v.clone());
    }
    for (id, m) in case.members.iter().filter(|(_, m)| !m.removed) {
        for (k, v) in [
            ("name", &m.name),
            ("relation", &m.relation),
            ("id_number", &m.id_number),
            ("health", &m.health),
            ("disability_grade", &m.disability_grade),
            ("labour", &m.labour),
            ("employment", &m.employment),
            ("schooling", &m.schooling),
            ("marital", &m.marital),
        ] {
            put(format!("members.{id}.{k}"), v.clone());
        }
    }
    for (id, i) in case.income.iter().filter(|(_, i)| !i.removed) {
        put(format!("income.{id}.category"), i.category.clone());
        put(format!("income.{id}.period"), i.period.clone());
        put(format!("income.{id}.amount_fen"), i.amount_fen.to_string());
        put(format!("income.{id}.member"), i.member.clone());
        put(format!("income.{id}.note"), i.note.clone());
    }
    let s = &case.assets;
    for (k, v) in [
        ("deposits_fen", s.deposits_fen),
        ("houses_count", s.houses_count),
        ("houses_area_m2x100", s.houses_area_m2x100),
        ("vehicles_count", s.vehicles_count),
        ("vehicles_value_fen", s.vehicles_value_fen),
        ("securities_fen", s.securities_fen),
        ("insurance_fen", s.insurance_fen),
        ("business_assets_fen", s.business_assets_fen),
    ] {
        put(format!("assets.{k}"), v.to_string());
    }
    put("assets.note".into(), s.note.clone());
    let e = &case.expenses;
    for (k, v) in [
        ("medical_fen_annual", e.medical_fen_annual),
        ("education_fen_annual", e.education_fen_annual),
        ("other_fen_annual", e.other_fen_annual),
    ] {
        put(format!("expenses.{k}"), v.to_string());
    }
    put("expenses.note".into(), e.note.clone());
    let h = &case.housing;
    put("housing.kind".into(), h.kind.clone());
    put("housing.area_m2x100".into(), h.area_m2x100.to_string());
    put("housing.condition".into(), h.condition.clone());
    put("housing.note".into(), h.note.clone());
    for (code, on) in &case.hardship {
        if *on {
            put(format!("hardship.{code}"), "true".into());
        }
    }
    for (code, on) in &case.assistance {
        if *on {
            put(format!("assistance.{code}"), "true".into());
        }
    }
    put("narrative".into(), case.narrative.clone());
    put("conclusion.opinion".into(), case.conclusion.opinion.clone());
    put("conclusion.text".into(), case.conclusion.text.clone());
    let v = &case.visit;
    put("visit.started_at".into(), v.started_at.to_string());
    put("visit.ended_at".into(), v.ended_at.to_string());
    put("visit.gps_status".into(), v.gps_status.clone());
    put("visit.lat_e6".into(), v.lat_e6.to_string());
    put("visit.lon_e6".into(), v.lon_e6.to_string());
    put("visit.accuracy_m".into(), v.accuracy_m.to_string());
    let d = &case.discovery;
    put("discovery.kind".into(), d.kind.clone());
    put("discovery.description".into(), d.description.clone());
    put("discovery.urgent".into(), d.urgent.to_string());
    put("discovery.reported_at".into(), d.reported_at.to_string());
    put("discovery.reported_by".into(), d.reported_by.clone());
    for p in case.photos.values().filter(|p| !p.removed) {
        put(
            format!("photos.{}", p.sha256.to_ascii_lowercase()),
            p.kind.clone(),
        );
    }
    for (id, n) in case.neighbour_visits.iter().filter(|(_, n)| !n.removed) {
        put(format!("neighbour_visits.{id}.name"), n.name.clone());
        put(
            format!("neighbour_visits.{id}.relation_or_address"),
            n.relation_or_address.clone(),
        );
        put(
            format!("neighbour_visits.{id}.statement"),
            n.statement.clone(),
        );
        put(
            format!("neighbour_visits.{id}.visited_at"),
            n.visited_at.to_string(),
        );
        put(format!("neighbour_visits.{id}.by_user"), n.by_user.clone());
        put(format!("neighbour_visits.{id}.by_name"), n.by_name.clone());
    }
    out
}

/// The content a signature made now would attest (see the module doc for what is in it):
/// the version 1 fields (with `photo_hashes` as the photos) and the version 2 entries
/// (photos from the case's own references).
pub fn attested_content(case: &CaseDoc, photo_hashes: &[String]) -> AttestedContent {
    let a = &case.applicant;
    let applicant = [
        ("name", &a.name),
        ("id_number", &a.id_number),
        ("phone", &a.phone),
        ("address", &a.address),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.clone()))
    .collect();
    let members = case
        .members
        .iter()
        .filter(|(_, m)| !m.removed)
        .map(|(id, m)| {
            let fields = [
                ("name", &m.name),
                ("relation", &m.relation),
                ("id_number", &m.id_number),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
            (id.clone(), fields)
        })
        .collect();
    AttestedContent {
        case_id: case.case_id.clone(),
        applicant,
        members,
        photos: photo_hashes
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        entries: entries_v2(case),
    }
}

/// [`attested_content`] with the photos the case itself refers to (not removed): what the
/// app signs and checks.
pub fn attested_content_of(case: &CaseDoc) -> AttestedContent {
    let photos: Vec<String> = case
        .photos
        .values()
        .filter(|p| !p.removed)
        .map(|p| p.sha256.clone())
        .collect();
    attested_content(case, &photos)
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    // Lengths and counts of a case are far below 4 GiB; saturate rather than wrap.
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_fields(out: &mut Vec<u8>, fields: &BTreeMap<String, String>) {
    put_u32(out, fields.len());
    for (k, v) in fields {
        put_str(out, k);
        put_str(out, v);
    }
}

impl AttestedContent {
    /// The canonical serialisation (format in the module doc).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = ATTEST_PREFIX.to_vec();
        put_str(&mut out, &self.case_id);
        put_fields(&mut out, &self.applicant);
        put_u32(&mut out, self.members.len());
        for (id, fields) in &self.members {
            put_str(&mut out, id);
            put_fields(&mut out, fields);
        }
        put_u32(&mut out, self.photos.len());
        for sha in &self.photos {
            put_str(&mut out, sha);
        }
        out
    }
}

impl AttestedContent {
    /// The version 2 canonical serialisation of the entries in `scope` (format in the
    /// module doc; `scope` is [`WHOLE_RECORD`] or a [`neighbour_scope`]).
    pub fn canonical_bytes_v2(&self, scope: &str) -> Vec<u8> {
        let in_scope: Vec<(&String, &String)> = self
            .entries
            .iter()
            .filter(|(k, _)| k.starts_with(scope))
            .collect();
        let mut out = ATTEST_PREFIX_V2.to_vec();
        put_str(&mut out, &self.case_id);
        put_str(&mut out, scope);
        put_u32(&mut out, in_scope.len());
        for (k, v) in in_scope {
            put_str(&mut out, k);
            put_str(&mut out, v);
        }
        out
    }

    /// The ids of the neighbour visits the entries hold.
    pub fn neighbour_visits(&self) -> BTreeSet<String> {
        self.entries
            .keys()
            .filter_map(|k| k.strip_prefix("neighbour_visits."))
            .filter_map(|rest| rest.split_once('.').map(|(id, _)| id.to_string()))
            .collect()
    }

    /// Every hash (lowercase hex) a signature still valid for this content may carry:
    /// version 1, version 2 of the whole record, version 2 of each neighbour visit.
    pub fn valid_hashes(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        out.insert(to_hex(&attest_hash(self)));
        out.insert(to_hex(&attest_hash_v2(self, WHOLE_RECORD)));
        for id in self.neighbour_visits() {
            out.insert(to_hex(&attest_hash_v2(self, &neighbour_scope(&id))));
        }
        out
    }
}

/// SHA-256 of the content's version 1 canonical bytes (signatures made before schema 2).
pub fn attest_hash(content: &AttestedContent) -> [u8; 32] {
    Sha256::digest(content.canonical_bytes()).into()
}

/// SHA-256 of the content's version 2 canonical bytes in `scope`: what a signature made
/// now records.
pub fn attest_hash_v2(content: &AttestedContent, scope: &str) -> [u8; 32] {
    Sha256::digest(content.canonical_bytes_v2(scope)).into()
}

/// Lowercase hex of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

// ---------------------------------------------------------------------------------------
// Records and checks

/// In which capacity someone signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignerRole {
    Investigator1,
    Investigator2,
    Applicant,
    Neighbour,
    Witness,
}

impl SignerRole {
    pub const ALL: [SignerRole; 5] = [
        SignerRole::Investigator1,
        SignerRole::Investigator2,
        SignerRole::Applicant,
        SignerRole::Neighbour,
        SignerRole::Witness,
    ];

    /// The stable code written into documents.
    pub fn code(self) -> &'static str {
        match self {
            SignerRole::Investigator1 => "investigator1",
            SignerRole::Investigator2 => "investigator2",
            SignerRole::Applicant => "applicant",
            SignerRole::Neighbour => "neighbour",
            SignerRole::Witness => "witness",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            SignerRole::Investigator1 => "调查人一",
            SignerRole::Investigator2 => "调查人二",
            SignerRole::Applicant => "申请人",
            SignerRole::Neighbour => "邻居",
            SignerRole::Witness => "见证人",
        }
    }
}

/// What the signer left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignatureMark {
    /// Drawn on the pad (the record's `strokes`).
    Drawn,
    /// An applicant who cannot write pressed a fingerprint; a photo of it, by its SHA-256.
    FingerprintPhoto { sha256: String },
    /// A witness signs (drawn, the record's `strokes`) for an applicant who cannot write.
    WitnessFor { applicant_name: String },
}

/// One signature as the case document holds it. Re-signing adds a new record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureRecord {
    pub role: SignerRole,
    pub signer_name: String,
    /// The signer's account, for investigators.
    pub signer_user: Option<UserId>,
    /// The device it was signed on.
    pub device: Option<DeviceId>,
    /// Milliseconds since the Unix epoch.
    pub signed_at_ms: i64,
    /// Lowercase hex of [`attest_hash`] of the content at signing time.
    pub content_hash_hex: String,
    /// [`pack`]ed strokes (empty for a fingerprint mark).
    pub strokes: Vec<u8>,
    pub mark: SignatureMark,
}

/// Whether a signature still covers the content as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureCheck {
    Valid,
    ContentChangedAfterSigning,
}

impl SignatureCheck {
    pub fn label_zh(self) -> &'static str {
        match self {
            SignatureCheck::Valid => "签字有效",
            SignatureCheck::ContentChangedAfterSigning => "内容在签字后被修改",
        }
    }
}

/// Compares a record's hash with the current content's (any version and scope: see
/// [`AttestedContent::valid_hashes`]).
pub fn check(record: &SignatureRecord, current: &AttestedContent) -> SignatureCheck {
    check_in(record, &current.valid_hashes())
}

fn check_in(record: &SignatureRecord, valid: &BTreeSet<String>) -> SignatureCheck {
    if valid.contains(&record.content_hash_hex.to_ascii_lowercase()) {
        SignatureCheck::Valid
    } else {
        SignatureCheck::ContentChangedAfterSigning
    }
}

/// One line of the signatures panel: who signed, when, and whether it still holds. (Who
/// changed the content later, and when, the app core finds in the document's history.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureStatus {
    pub role: SignerRole,
    pub signer_name: String,
    pub signed_at_ms: i64,
    pub check: SignatureCheck,
}

/// The status of every record, in the records' order.
pub fn signature_status(
    records: &[SignatureRecord],
    current: &AttestedContent,
) -> Vec<SignatureStatus> {
    let valid = current.valid_hashes();
    records
        .iter()
        .map(|r| SignatureStatus {
            role: r.role,
            signer_name: r.signer_name.clone(),
            signed_at_ms: r.signed_at_ms,
            check: check_in(r, &valid),
        })
        .collect()
}

/// The signatures a complete record still lacks: both investigators (two different people
/// when both accounts are known) and the applicant — who may instead leave a fingerprint
/// mark (role `Applicant`, mark `FingerprintPhoto`) or have a witness sign for them (role
/// `Witness`, mark `WitnessFor`). Presence only: pass the records that are still valid if
/// stale ones should not count.
pub fn missing_signatures(records: &[SignatureRecord]) -> Vec<SignerRole> {
    let of = |role| {
        records
            .iter()
            .filter(move |r: &&SignatureRecord| r.role == role)
    };
    let mut missing = Vec::new();
    if of(SignerRole::Investigator1).next().is_none() {
        missing.push(SignerRole::Investigator1);
    }
    // The second investigator must not be the first one signing twice: the same account
    // when both accounts are known, else the same name.
    let same_person =
        |a: &SignatureRecord, b: &SignatureRecord| match (a.signer_user, b.signer_user) {
            (Some(x), Some(y)) => x == y,
            _ => a.signer_name.trim() == b.signer_name.trim(),
        };
    let second_distinct = of(SignerRole::Investigator2)
        .any(|second| !of(SignerRole::Investigator1).any(|first| same_person(first, second)));
    if !second_distinct {
        missing.push(SignerRole::Investigator2);
    }
    let applicant = of(SignerRole::Applicant).next().is_some()
        || of(SignerRole::Witness).any(|r| matches!(r.mark, SignatureMark::WitnessFor { .. }));
    if !applicant {
        missing.push(SignerRole::Applicant);
    }
    missing
}

// ---------------------------------------------------------------------------------------
// Automerge storage

/// Writes `record` into the (empty, newly created) map `obj`: scalars only, `strokes` as ONE
/// bytes scalar, the mark as `mark_kind` plus `mark_value`, ids as hyphenated text or null.
/// A record is written once, when signed, and never edited (re-signing adds a new one).
/// Keep records in a map beside the `CaseDoc` fields (e.g. root key `signatures`), not in a
/// serde field of `CaseDoc`: `write_case` goes through JSON and would turn the bytes into a
/// list; it leaves keys it does not know alone (tested).
pub fn put_record<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    record: &SignatureRecord,
) -> Result<(), AutomergeError> {
    let opt = |v: Option<String>| v.map_or(ScalarValue::Null, |s| ScalarValue::Str(s.into()));
    tx.put(obj, "role", record.role.code())?;
    tx.put(obj, "signer_name", record.signer_name.as_str())?;
    tx.put(
        obj,
        "signer_user",
        opt(record.signer_user.map(|u| u.to_string())),
    )?;
    tx.put(obj, "device", opt(record.device.map(|d| d.to_string())))?;
    tx.put(obj, "signed_at_ms", ScalarValue::Int(record.signed_at_ms))?;
    tx.put(obj, "content_hash_hex", record.content_hash_hex.as_str())?;
    tx.put(obj, "strokes", ScalarValue::Bytes(record.strokes.clone()))?;
    let (kind, value) = match &record.mark {
        SignatureMark::Drawn => ("drawn", String::new()),
        SignatureMark::FingerprintPhoto { sha256 } => ("fingerprint_photo", sha256.clone()),
        SignatureMark::WitnessFor { applicant_name } => ("witness_for", applicant_name.clone()),
    };
    tx.put(obj, "mark_kind", kind)?;
    tx.put(obj, "mark_value", value)?;
    Ok(())
}

/// Writes `record` as a new map under `key` of the map `parent`.
pub fn insert_record<T: Transactable>(
    tx: &mut T,
    parent: &ObjId,
    key: &str,
    record: &SignatureRecord,
) -> Result<(), AutomergeError> {
    let obj = tx.put_object(parent, key, ObjType::Map)?;
    put_record(tx, &obj, record)
}

/// Reads a record written by [`put_record`].
pub fn read_record<R: ReadDoc>(doc: &R, obj: &ObjId) -> Result<SignatureRecord, SignatureError> {
    let bad = |what: &str| SignatureError::Record(what.to_string());
    let scalar = |key: &str| -> Result<ScalarValue, SignatureError> {
        match doc.get(obj, key) {
            Ok(Some((AmValue::Scalar(s), _))) => Ok(s.into_owned()),
            _ => Err(bad(key)),
        }
    };
    let text = |key: &str| match scalar(key)? {
        ScalarValue::Str(s) => Ok(s.to_string()),
        _ => Err(bad(key)),
    };
    let opt_text = |key: &str| match scalar(key)? {
        ScalarValue::Str(s) => Ok(Some(s.to_string())),
        ScalarValue::Null => Ok(None),
        _ => Err(bad(key)),
    };
    let role = SignerRole::from_code(&text("role")?).ok_or_else(|| bad("role"))?;
    let signer_user = opt_text("signer_user")?
        .map(|s| s.parse().map_err(|_| bad("signer_user")))
        .transpose()?;
    let device = opt_text("device")?
        .map(|s| s.parse().map_err(|_| bad("device")))
        .transpose()?;
    let signed_at_ms = match scalar("signed_at_ms")? {
        ScalarValue::Int(i) => i,
        _ => return Err(bad("signed_at_ms")),
    };
    let strokes = match scalar("strokes")? {
        ScalarValue::Bytes(b) => b,
        _ => return Err(bad("strokes")),
    };
    let value = text("mark_value")?;
    let mark = match text("mark_kind")?.as_str() {
        "drawn" => SignatureMark::Drawn,
        "fingerprint_photo" => SignatureMark::FingerprintPhoto { sha256: value },
        "witness_for" => SignatureMark::WitnessFor {
            applicant_name: value,
        },
        _ => return Err(bad("mark_kind")),
    };
    Ok(SignatureRecord {
        role,
        signer_name: text("signer_name")?,
        signer_user,
        device,
        signed_at_ms,
        content_hash_hex: text("content_hash_hex")?,
        strokes,
        mark,
    })
}

// ---------------------------------------------------------------------------------------
// Signatures in a case document: adding one, reading them all, and what became of each

/// The root key of the map holding a case's signature records (each under a fresh id).
pub const SIGNATURES_KEY: &str = "signatures";
/// Key, inside a record's map, of the neighbour visit a neighbour's signature is bound to
/// (absent for other roles).
pub const NEIGHBOUR_VISIT_KEY: &str = "neighbour_visit";

/// A signature record as a case document holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSignature {
    /// Its key in the `signatures` map.
    pub id: String,
    pub record: SignatureRecord,
    /// For a neighbour's signature: the neighbour visit it signs.
    pub neighbour_visit: Option<String>,
    /// The change that wrote it.
    pub signed_in: Option<ChangeHash>,
}

/// Who changed the content after a signature, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentChange {
    /// The person's display name, as the change's note has it.
    pub author: String,
    pub device: String,
    /// ms since the Unix epoch (second precision).
    pub at_ms: i64,
}

/// One signature and whether it still holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureReview {
    pub signature: StoredSignature,
    pub check: SignatureCheck,
    /// For a changed signature: the first change after the signing that made the attested
    /// content differ (`None` when valid, or when the history cannot tell).
    pub changed: Option<ContentChange>,
}

/// Writes `record` under the new key `id` of the case's `signatures` map as one commit
/// (creating the map when the document has none; maps two devices created concurrently are
/// read as one, see [`read_signatures`]). Returns the change's hash.
pub fn add_signature(
    doc: &mut Automerge,
    id: &str,
    record: &SignatureRecord,
    neighbour_visit: Option<&str>,
    note: &ChangeNote,
    now_ms: i64,
) -> Result<Option<ChangeHash>, CaseDocError> {
    let mut tx = doc.transaction();
    let map = match tx.get(ROOT, SIGNATURES_KEY)? {
        Some((AmValue::Object(ObjType::Map), m)) => m,
        _ => tx.put_object(ROOT, SIGNATURES_KEY, ObjType::Map)?,
    };
    let obj = tx.put_object(&map, id, ObjType::Map)?;
    put_record(&mut tx, &obj, record)?;
    if let Some(visit) = neighbour_visit {
        tx.put(&obj, NEIGHBOUR_VISIT_KEY, visit)?;
    }
    let (hash, _) = tx.commit_with(commit_options(note, now_ms));
    Ok(hash)
}

/// Every readable signature record of the document, oldest first. Reads every value of the
/// `signatures` key (two devices may each have created the map), so none is lost.
pub fn read_signatures(doc: &Automerge) -> Vec<StoredSignature> {
    let maps: Vec<ObjId> = doc
        .get_all(ROOT, SIGNATURES_KEY)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(v, id)| matches!(v, AmValue::Object(ObjType::Map)).then_some(id))
        .collect();
    let changes = doc.get_changes(&[]);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for map in &maps {
        for key in doc.keys(map).collect::<Vec<_>>() {
            if !seen.insert(key.clone()) {
                continue;
            }
            let Ok(Some((AmValue::Object(ObjType::Map), obj))) = doc.get(map, key.as_str()) else {
                continue;
            };
            let Ok(record) = read_record(doc, &obj) else {
                continue;
            };
            let neighbour_visit = match doc.get(&obj, NEIGHBOUR_VISIT_KEY) {
                Ok(Some((AmValue::Scalar(v), _))) => match v.as_ref() {
                    ScalarValue::Str(s) => Some(s.to_string()),
                    _ => None,
                },
                _ => None,
            };
            let signed_in = match &obj {
                ObjId::Id(counter, actor, _) => changes
                    .iter()
                    .find(|c| {
                        let start = c.start_op().get();
                        c.actor_id() == actor
                            && *counter >= start
                            && *counter < start + c.len() as u64
                    })
                    .map(|c| c.hash()),
                ObjId::Root => None,
            };
            out.push(StoredSignature {
                id: key,
                record,
                neighbour_visit,
                signed_in,
            });
        }
    }
    out.sort_by(|a, b| {
        a.record
            .signed_at_ms
            .cmp(&b.record.signed_at_ms)
            .then(a.id.cmp(&b.id))
    });
    out
}

/// Every signature of the document with its check against the current content, and for
/// each changed one who changed the content and when: the history after the signing change
/// is replayed one change at a time (changes the signing device had not seen included) and
/// the first whose result no longer carries the signed hash is named. Cheap: only changed
/// signatures are traced, and only the changes not already behind the signature.
pub fn review(doc: &Automerge) -> Result<Vec<SignatureReview>, CaseDocError> {
    let current = attested_content_of(&read_case(doc)?);
    let valid = current.valid_hashes();
    let mut out = Vec::new();
    for signature in read_signatures(doc) {
        let check = check_in(&signature.record, &valid);
        let changed = match (check, signature.signed_in) {
            (SignatureCheck::ContentChangedAfterSigning, Some(at)) => {
                first_change_after(doc, at, &signature.record.content_hash_hex)?
            }
            _ => None,
        };
        out.push(SignatureReview {
            signature,
            check,
            changed,
        });
    }
    Ok(out)
}

fn first_change_after(
    doc: &Automerge,
    signed_in: ChangeHash,
    signed_hash: &str,
) -> Result<Option<ContentChange>, CaseDocError> {
    let changes = doc.get_changes(&[]);
    let by_hash: BTreeMap<ChangeHash, &automerge::Change> =
        changes.iter().map(|c| (c.hash(), c)).collect();
    // The signing change and everything it had seen.
    let mut behind = BTreeSet::new();
    let mut stack = vec![signed_in];
    while let Some(h) = stack.pop() {
        if behind.insert(h) {
            if let Some(c) = by_hash.get(&h) {
                stack.extend(c.deps().iter().copied());
            }
        }
    }
    let signed = signed_hash.to_ascii_lowercase();
    let mut state = doc.fork_at(&[signed_in])?;
    for change in changes.iter().filter(|c| !behind.contains(&c.hash())) {
        state.apply_changes([change.clone()])?;
        let Ok(case) = read_case(&state) else {
            continue;
        };
        if !attested_content_of(&case).valid_hashes().contains(&signed) {
            let note = change.message().and_then(ChangeNote::decode);
            return Ok(Some(ContentChange {
                author: note.as_ref().map(|n| n.author.clone()).unwrap_or_default(),
                device: note
                    .map(|n| n.device)
                    .unwrap_or_else(|| change.actor_id().to_hex_string()),
                at_ms: change.timestamp().saturating_mul(1000),
            }));
        }
    }
    Ok(None)
}

/// The signatures a complete record still lacks, counting only those still valid (see
/// [`missing_signatures`]).
pub fn missing_valid(reviews: &[SignatureReview]) -> Vec<SignerRole> {
    let valid: Vec<SignatureRecord> = reviews
        .iter()
        .filter(|r| r.check == SignatureCheck::Valid)
        .map(|r| r.signature.record.clone())
        .collect();
    missing_signatures(&valid)
}

#[cfg(test)]
mod tests;
