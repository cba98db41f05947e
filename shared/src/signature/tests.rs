//! Tests of stroke packing, the attested-content hash, record checks and storage.

use super::*;
use crate::case::Member;
use crate::ids::{CaseId, UnitId};

/// A small deterministic generator (tests need repeatable "random" input).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// A realistic handwritten signature: 3 strokes, 200 points each, sampled every 8–9 ms
/// (120 Hz pointer events) on a phone pad 1650×660 device pixels (600×240 CSS px at DPR
/// 2.75), coordinates rounded to device pixels then scaled to 0..=65535, stylus pressure.
fn realistic_signature() -> Strokes {
    let (w, h) = (1650.0f64, 660.0f64);
    let mut rng = Lcg(42);
    let mut t = 0u32;
    let mut strokes = Vec::new();
    for s in 0..3 {
        let mut stroke = Vec::new();
        let x0 = 150.0 + 480.0 * f64::from(s);
        for i in 0..200 {
            let u = f64::from(i) / 199.0;
            // Loops travelling right: a cursive-like curve.
            let px = x0 + 420.0 * u + 70.0 * (u * 6.0 * std::f64::consts::PI).sin();
            let py = h / 2.0
                + 180.0 * (u * 9.0 * std::f64::consts::PI + f64::from(s)).sin() * (1.0 - 0.3 * u);
            let px = px.round().clamp(0.0, w - 1.0);
            let py = py.round().clamp(0.0, h - 1.0);
            let pressure = 120.0 + 60.0 * (u * std::f64::consts::PI).sin();
            stroke.push(Point {
                x: (px * 65535.0 / (w - 1.0)).round() as u16,
                y: (py * 65535.0 / (h - 1.0)).round() as u16,
                t,
                pressure: Some(pressure.round() as u8),
            });
            t += 8 + (rng.next() % 2) as u32;
        }
        strokes.push(stroke);
        t += 250 + (rng.next() % 200) as u32; // pen lifted between strokes
    }
    Strokes::new(strokes).unwrap()
}

fn point(x: u16, y: u16, t: u32, pressure: Option<u8>) -> Point {
    Point { x, y, t, pressure }
}

#[test]
fn strokes_round_trip_exactly_including_extremes() {
    let cases = vec![
        Strokes::default(),
        Strokes::new(vec![vec![point(0, 0, 0, None)]]).unwrap(),
        Strokes::new(vec![
            vec![
                point(65535, 0, 0, Some(255)),
                point(0, 65535, u32::MAX, Some(0)),
                point(65535, 65535, 0, Some(255)),
            ],
            vec![point(1, 2, 3, None), point(4, 5, 6, None)],
        ])
        .unwrap(),
        realistic_signature(),
    ];
    for strokes in cases {
        let packed = pack(&strokes);
        assert_eq!(unpack(&packed).unwrap(), strokes);
    }
}

#[test]
fn random_strokes_round_trip() {
    let mut rng = Lcg(7);
    for _ in 0..200 {
        let n = 1 + rng.next() % 5;
        let strokes: Vec<Vec<Point>> = (0..n)
            .map(|_| {
                let pressure = rng.next().is_multiple_of(2);
                (0..1 + rng.next() % 40)
                    .map(|_| {
                        point(
                            rng.next() as u16,
                            rng.next() as u16,
                            rng.next() as u32,
                            pressure.then(|| rng.next() as u8),
                        )
                    })
                    .collect()
            })
            .collect();
        let strokes = Strokes::new(strokes).unwrap();
        assert_eq!(unpack(&pack(&strokes)).unwrap(), strokes);
    }
}

/// Measured: the realistic 3-stroke, 600-point signature with pressure packs to 1,688
/// bytes (≈ 2.8 bytes a point; the test prints the JSON size for comparison).
#[test]
fn a_realistic_600_point_signature_packs_under_2_kb() {
    let strokes = realistic_signature();
    assert_eq!(strokes.point_count(), 600);
    let packed = pack(&strokes);
    println!(
        "realistic signature: {} points -> {} bytes packed ({} bytes as JSON)",
        strokes.point_count(),
        packed.len(),
        serde_json::to_vec(&strokes).unwrap().len()
    );
    assert!(packed.len() < 2048, "{} bytes", packed.len());
}

#[test]
fn every_truncation_and_random_bytes_are_errors_not_panics() {
    let packed = pack(&realistic_signature());
    for len in 0..packed.len() {
        assert!(unpack(&packed[..len]).is_err(), "prefix of {len} bytes");
    }
    let mut longer = packed.clone();
    longer.push(0);
    assert!(unpack(&longer).is_err());

    let mut rng = Lcg(99);
    for _ in 0..5_000 {
        let len = (rng.next() % 64) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.next().is_multiple_of(2) && bytes.len() >= 3 {
            bytes[..3].copy_from_slice(&MAGIC);
        }
        let _ = unpack(&bytes);
    }
    // Flipping any one byte of a real packing never panics either.
    for i in 0..packed.len() {
        let mut b = packed.clone();
        b[i] ^= 0x5a;
        let _ = unpack(&b);
    }
    assert_eq!(unpack(b"HS\x02"), Err(SignatureError::BadHeader));
    assert_eq!(unpack(b""), Err(SignatureError::BadHeader));
}

#[test]
fn limits_are_enforced_when_building_and_when_reading() {
    let too_many = vec![vec![point(0, 0, 0, None)]; MAX_STROKES + 1];
    assert_eq!(Strokes::new(too_many), Err(SignatureError::TooManyStrokes));
    let too_long = vec![vec![point(0, 0, 0, None); MAX_POINTS + 1]];
    assert_eq!(Strokes::new(too_long), Err(SignatureError::TooManyPoints));
    assert_eq!(Strokes::new(vec![vec![]]), Err(SignatureError::EmptyStroke));
    assert_eq!(
        Strokes::new(vec![vec![point(0, 0, 0, None), point(1, 1, 1, Some(3))]]),
        Err(SignatureError::MixedPressure)
    );

    // Hand-made packings that claim more than the limits: stroke count 201 (EG0 of 201 is
    // 7 zeros then 11001010), and one stroke of 20,001 points.
    let mut w = BitWriter {
        bytes: MAGIC.to_vec(),
        acc: 0,
        used: 0,
    };
    w.eg(0, MAX_STROKES as u64 + 1);
    assert_eq!(unpack(&w.finish()), Err(SignatureError::TooManyStrokes));
    let mut w = BitWriter {
        bytes: MAGIC.to_vec(),
        acc: 0,
        used: 0,
    };
    w.eg(0, 1);
    w.eg(0, MAX_POINTS as u64);
    assert_eq!(unpack(&w.finish()), Err(SignatureError::TooManyPoints));
    // Biggest allowed signature still packs and reads back.
    let max: Vec<Vec<Point>> = (0..MAX_STROKES)
        .map(|s| vec![point(s as u16, 9, s as u32, None); MAX_POINTS / MAX_STROKES])
        .collect();
    let max = Strokes::new(max).unwrap();
    assert_eq!(unpack(&pack(&max)).unwrap(), max);
}

#[test]
fn strokes_from_json_are_checked_too() {
    let json = serde_json::to_string(&vec![Vec::<Point>::new()]).unwrap();
    assert!(serde_json::from_str::<Strokes>(&json).is_err());
}

// ---------------------------------------------------------------------------------------

fn member(name: &str, relation: &str, id_number: &str, added_at: i64) -> Member {
    Member {
        name: name.into(),
        relation: relation.into(),
        id_number: id_number.into(),
        added_at,
        removed: false,
        ..Default::default()
    }
}

fn case() -> CaseDoc {
    let mut case = CaseDoc::new_case(
        CaseId::from_random_bytes([3; 16]),
        &UnitId::new("chaoyang").unwrap(),
        1_700_000_000_000,
    );
    case.applicant.name = "王秀兰".into();
    case.applicant.id_number = "11010519491231002X".into();
    case.applicant.phone = "13800000000".into();
    case.applicant.address = "朝阳区幸福里3号".into();
    case.members.insert(
        "m-a".into(),
        member("李建国", "spouse", "110105194801010011", 1),
    );
    case.members
        .insert("m-b".into(), member("李小明", "child", "", 2));
    case
}

fn photos() -> Vec<String> {
    vec!["aa".repeat(32), "bb".repeat(32)]
}

fn hash(case: &CaseDoc, photos: &[String]) -> [u8; 32] {
    attest_hash(&attested_content(case, photos))
}

#[test]
fn the_hash_changes_when_any_attested_field_changes() {
    let base = hash(&case(), &photos());
    type Edit = fn(&mut CaseDoc);
    let edits: Vec<(&str, Edit)> = vec![
        ("case id", |c| {
            c.case_id = CaseId::from_random_bytes([4; 16]).to_string()
        }),
        ("applicant name", |c| c.applicant.name.push('x')),
        ("applicant id", |c| {
            c.applicant.id_number = "110105194912310021".into()
        }),
        ("applicant phone", |c| c.applicant.phone.push('1')),
        ("applicant address", |c| c.applicant.address.clear()),
        ("member name", |c| {
            c.members.get_mut("m-a").unwrap().name = "李建军".into()
        }),
        ("member relation", |c| {
            c.members.get_mut("m-a").unwrap().relation = "sibling".into()
        }),
        ("member id", |c| {
            c.members.get_mut("m-b").unwrap().id_number = "1".into()
        }),
        ("member removed", |c| {
            c.members.get_mut("m-b").unwrap().removed = true
        }),
        ("member added", |c| {
            c.members.insert("m-c".into(), member("", "other", "", 3));
        }),
        // Moving a value from one field to another must not hash the same.
        ("value moved between fields", |c| {
            c.applicant.phone = String::new();
            c.applicant.address = format!("13800000000{}", c.applicant.address);
        }),
    ];
    for (what, edit) in edits {
        let mut c = case();
        edit(&mut c);
        assert_ne!(hash(&c, &photos()), base, "{what}");
    }
    let mut more = photos();
    more.push("cc".repeat(32));
    assert_ne!(hash(&case(), &more), base, "photo added");
    assert_ne!(hash(&case(), &photos()[..1]), base, "photo removed");
    let replaced = vec!["aa".repeat(32), "bc".repeat(32)];
    assert_ne!(hash(&case(), &replaced), base, "photo replaced");
}

#[test]
fn the_hash_ignores_what_is_not_attested() {
    let base = hash(&case(), &photos());
    let mut c = case();
    c.status = "submitted".into();
    c.unit = "other-unit".into();
    c.created_at += 1;
    c.schema += 1;
    c.members.get_mut("m-a").unwrap().added_at = 99;
    assert_eq!(hash(&c, &photos()), base, "bookkeeping fields");

    // Members inserted in the other order.
    let mut c = case();
    c.members.clear();
    c.members
        .insert("m-b".into(), member("李小明", "child", "", 2));
    c.members.insert(
        "m-a".into(),
        member("李建国", "spouse", "110105194801010011", 1),
    );
    assert_eq!(hash(&c, &photos()), base, "member insertion order");

    // A removed member is not attested: editing it changes nothing.
    let mut removed = case();
    removed.members.insert(
        "m-z".into(),
        Member {
            removed: true,
            ..member("张三", "other", "", 5)
        },
    );
    let with_removed = hash(&removed, &photos());
    assert_eq!(with_removed, base, "a removed member is not attested");
    removed.members.get_mut("m-z").unwrap().name = "张四".into();
    assert_eq!(hash(&removed, &photos()), base);

    // Photo order, repeats and hex case.
    let mut p = photos();
    p.reverse();
    p.push("AA".repeat(32));
    assert_eq!(hash(&case(), &p), base, "photo order and repeats");
}

#[test]
fn the_canonical_bytes_are_exactly_as_documented() {
    let mut content = AttestedContent {
        case_id: "c".into(),
        ..Default::default()
    };
    content.applicant.insert("name".into(), "王".into());
    content.members.insert(
        "m".into(),
        [("relation".to_string(), "child".to_string())].into(),
    );
    content.photos.insert("ab".into());
    let mut expected = b"hecha-attest-v1".to_vec();
    expected.extend_from_slice(&[0, 0, 0, 1, b'c']);
    expected.extend_from_slice(&[0, 0, 0, 1]);
    expected.extend_from_slice(&[0, 0, 0, 4]);
    expected.extend_from_slice(b"name");
    expected.extend_from_slice(&[0, 0, 0, 3]);
    expected.extend_from_slice("王".as_bytes());
    expected.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, b'm', 0, 0, 0, 1, 0, 0, 0, 8]);
    expected.extend_from_slice(b"relation");
    expected.extend_from_slice(&[0, 0, 0, 5]);
    expected.extend_from_slice(b"child");
    expected.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, b'a', b'b']);
    assert_eq!(content.canonical_bytes(), expected);
    // SHA-256 of those bytes (computed independently with Python's hashlib).
    assert_eq!(
        to_hex(&attest_hash(&content)),
        "bfa3986a8ffba3e6869e4e3bc7e8d8a4b254d021bed7fe0c949430f181e4723a"
    );
}

// ---------------------------------------------------------------------------------------

fn record(role: SignerRole, user: Option<u8>, content: &AttestedContent) -> SignatureRecord {
    SignatureRecord {
        role,
        signer_name: format!("{role:?}"),
        signer_user: user.map(|b| UserId::from_random_bytes([b; 16])),
        device: Some(DeviceId::from_random_bytes([9; 16])),
        signed_at_ms: 1_700_000_100_000,
        content_hash_hex: to_hex(&attest_hash(content)),
        strokes: pack(&realistic_signature()),
        mark: SignatureMark::Drawn,
    }
}

#[test]
fn a_signature_is_valid_until_the_content_it_signed_changes() {
    let signed = attested_content(&case(), &photos());
    let rec = record(SignerRole::Applicant, None, &signed);
    assert_eq!(check(&rec, &signed), SignatureCheck::Valid);

    let mut changed_case = case();
    changed_case.applicant.phone = "13900000000".into();
    let now = attested_content(&changed_case, &photos());
    assert_eq!(
        check(&rec, &now),
        SignatureCheck::ContentChangedAfterSigning
    );

    let later = record(SignerRole::Investigator1, Some(1), &now);
    let status = signature_status(&[rec, later], &now);
    assert_eq!(status.len(), 2);
    assert_eq!(status[0].role, SignerRole::Applicant);
    assert_eq!(status[0].signed_at_ms, 1_700_000_100_000);
    assert_eq!(status[0].check.label_zh(), "内容在签字后被修改");
    assert_eq!(status[1].check, SignatureCheck::Valid);
}

#[test]
fn a_complete_record_needs_two_investigators_and_the_applicant_or_a_substitute() {
    let c = attested_content(&case(), &photos());
    assert_eq!(
        missing_signatures(&[]),
        vec![
            SignerRole::Investigator1,
            SignerRole::Investigator2,
            SignerRole::Applicant
        ]
    );
    let inv1 = record(SignerRole::Investigator1, Some(1), &c);
    let inv2 = record(SignerRole::Investigator2, Some(2), &c);
    let inv1_again = record(SignerRole::Investigator2, Some(1), &c);
    let applicant = record(SignerRole::Applicant, None, &c);
    assert_eq!(
        missing_signatures(&[inv1.clone(), inv2.clone(), applicant.clone()]),
        vec![]
    );
    assert_eq!(
        missing_signatures(&[inv1.clone(), inv1_again, applicant.clone()]),
        vec![SignerRole::Investigator2],
        "one investigator cannot sign twice"
    );
    assert_eq!(
        missing_signatures(&[inv1.clone(), inv2.clone()]),
        vec![SignerRole::Applicant]
    );
    let fingerprint = SignatureRecord {
        strokes: Vec::new(),
        mark: SignatureMark::FingerprintPhoto {
            sha256: "dd".repeat(32),
        },
        ..applicant.clone()
    };
    assert_eq!(
        missing_signatures(&[inv1.clone(), inv2.clone(), fingerprint]),
        vec![]
    );
    let witness = SignatureRecord {
        mark: SignatureMark::WitnessFor {
            applicant_name: "王秀兰".into(),
        },
        ..record(SignerRole::Witness, None, &c)
    };
    assert_eq!(
        missing_signatures(&[inv1.clone(), inv2.clone(), witness.clone()]),
        vec![]
    );
    // A witness that is not for the applicant, or a neighbour, does not replace them.
    let plain_witness = SignatureRecord {
        mark: SignatureMark::Drawn,
        ..witness
    };
    let neighbour = record(SignerRole::Neighbour, None, &c);
    assert_eq!(
        missing_signatures(&[inv1, inv2, plain_witness, neighbour]),
        vec![SignerRole::Applicant]
    );
}

#[test]
fn roles_have_codes_and_chinese_labels() {
    for role in SignerRole::ALL {
        assert_eq!(SignerRole::from_code(role.code()), Some(role));
    }
    assert_eq!(SignerRole::Applicant.label_zh(), "申请人");
}

#[test]
fn a_record_is_stored_with_its_strokes_as_one_bytes_scalar() {
    use automerge::{transaction::Transactable, Automerge, ROOT};
    let c = attested_content(&case(), &photos());
    let drawn = record(SignerRole::Investigator1, Some(1), &c);
    let fingerprint = SignatureRecord {
        strokes: Vec::new(),
        mark: SignatureMark::FingerprintPhoto {
            sha256: "dd".repeat(32),
        },
        signer_user: None,
        device: None,
        ..record(SignerRole::Applicant, None, &c)
    };
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    let sigs = tx.put_object(ROOT, "signatures", ObjType::Map).unwrap();
    insert_record(&mut tx, &sigs, "s1", &drawn).unwrap();
    insert_record(&mut tx, &sigs, "s2", &fingerprint).unwrap();
    tx.commit();
    let doc = Automerge::load(&doc.save()).unwrap();
    let (_, sigs) = doc.get(ROOT, "signatures").unwrap().unwrap();
    let (_, s1) = doc.get(&sigs, "s1").unwrap().unwrap();
    let (strokes, _) = doc.get(&s1, "strokes").unwrap().unwrap();
    assert!(matches!(strokes, AmValue::Scalar(ref s) if s.is_bytes()));
    assert_eq!(read_record(&doc, &s1).unwrap(), drawn);
    assert_eq!(
        unpack(&read_record(&doc, &s1).unwrap().strokes).unwrap(),
        realistic_signature()
    );
    let (_, s2) = doc.get(&sigs, "s2").unwrap().unwrap();
    assert_eq!(read_record(&doc, &s2).unwrap(), fingerprint);
    // A map that is not a record is a typed error.
    assert!(matches!(
        read_record(&doc, &sigs),
        Err(SignatureError::Record(_))
    ));
}

#[test]
fn records_beside_the_case_survive_saves_of_the_form() {
    use crate::case::{create_document, read_case, write_case, ChangeNote};
    use automerge::{transaction::Transactable, ActorId, ROOT};
    let note = ChangeNote {
        action: "save".into(),
        author: "张三".into(),
        device: "d".into(),
    };
    let mut c = case();
    let mut doc = create_document(ActorId::from(vec![1u8; 16]), &c, &note, 0).unwrap();
    let signed = record(
        SignerRole::Investigator1,
        Some(1),
        &attested_content(&c, &photos()),
    );
    let mut tx = doc.transaction();
    let sigs = tx.put_object(ROOT, "signatures", ObjType::Map).unwrap();
    insert_record(&mut tx, &sigs, "s1", &signed).unwrap();
    tx.commit();

    c.applicant.phone = "13900000000".into();
    write_case(&mut doc, &c, &note, 1).unwrap();
    assert_eq!(read_case(&doc).unwrap(), c);
    let (_, sigs) = doc.get(ROOT, "signatures").unwrap().unwrap();
    let (_, s1) = doc.get(&sigs, "s1").unwrap().unwrap();
    let kept = read_record(&doc, &s1).unwrap();
    assert_eq!(kept, signed);
    assert_eq!(
        check(&kept, &attested_content(&c, &photos())),
        SignatureCheck::ContentChangedAfterSigning
    );
}

// ---------------------------------------------------------------------------------------
// Version 2: every section of the record

fn full() -> CaseDoc {
    crate::case::doc::tests::full_case()
}

fn whole(case: &CaseDoc) -> String {
    to_hex(&attest_hash_v2(&attested_content_of(case), WHOLE_RECORD))
}

#[test]
fn the_v2_hash_changes_when_any_field_of_any_section_or_photo_changes() {
    let base = whole(&full());
    type Edit = fn(&mut CaseDoc);
    let edits: Vec<(&str, Edit)> = vec![
        ("origin", |c| c.origin = "application".into()),
        ("registered address", |c| {
            c.applicant.registered_address.push('x')
        }),
        ("community", |c| c.applicant.community.clear()),
        ("area", |c| c.applicant.area = "rural".into()),
        ("member health", |c| {
            c.members.get_mut("m1").unwrap().health = "healthy".into()
        }),
        ("disability grade", |c| {
            c.members.get_mut("m1").unwrap().disability_grade = "1".into()
        }),
        ("labour", |c| {
            c.members.get_mut("m1").unwrap().labour = "full".into()
        }),
        ("employment", |c| {
            c.members.get_mut("m1").unwrap().employment.push('x')
        }),
        ("schooling", |c| {
            c.members.get_mut("m1").unwrap().schooling = "none".into()
        }),
        ("marital", |c| {
            c.members.get_mut("m1").unwrap().marital = "widowed".into()
        }),
        ("income amount", |c| {
            c.income.get_mut("i1").unwrap().amount_fen += 1
        }),
        ("income period", |c| {
            c.income.get_mut("i1").unwrap().period = "annual".into()
        }),
        ("income category", |c| {
            c.income.get_mut("i1").unwrap().category = "other".into()
        }),
        ("income member", |c| {
            c.income.get_mut("i1").unwrap().member.clear()
        }),
        ("income note", |c| {
            c.income.get_mut("i1").unwrap().note.clear()
        }),
        ("income removed", |c| {
            c.income.get_mut("i1").unwrap().removed = true
        }),
        ("removed income restored", |c| {
            c.income.get_mut("i2").unwrap().removed = false
        }),
        ("deposits", |c| c.assets.deposits_fen += 1),
        ("houses", |c| c.assets.houses_count += 1),
        ("house area", |c| c.assets.houses_area_m2x100 += 1),
        ("vehicles", |c| c.assets.vehicles_count += 1),
        ("vehicle value", |c| c.assets.vehicles_value_fen += 1),
        ("securities", |c| c.assets.securities_fen += 1),
        ("insurance", |c| c.assets.insurance_fen += 1),
        ("business assets", |c| c.assets.business_assets_fen += 1),
        ("assets note", |c| c.assets.note.push('x')),
        ("medical", |c| c.expenses.medical_fen_annual += 1),
        ("education", |c| c.expenses.education_fen_annual += 1),
        ("other expenses", |c| c.expenses.other_fen_annual += 1),
        ("expenses note", |c| c.expenses.note.clear()),
        ("housing kind", |c| c.housing.kind = "owned".into()),
        ("housing area", |c| c.housing.area_m2x100 -= 1),
        ("housing condition", |c| {
            c.housing.condition = "dangerous".into()
        }),
        ("housing note", |c| c.housing.note.clear()),
        ("hardship chosen", |c| {
            c.hardship.insert("disaster".into(), true);
        }),
        ("hardship unchosen", |c| {
            c.hardship.insert("illness".into(), false);
        }),
        ("assistance", |c| {
            c.assistance.insert("medical".into(), true);
        }),
        ("narrative", |c| c.narrative.push('x')),
        ("opinion", |c| c.conclusion.opinion = "further".into()),
        ("conclusion text", |c| c.conclusion.text.clear()),
        ("visit start", |c| c.visit.started_at += 1),
        ("visit end", |c| c.visit.ended_at += 1),
        ("gps status", |c| c.visit.gps_status = "denied".into()),
        ("lat", |c| c.visit.lat_e6 += 1),
        ("lon", |c| c.visit.lon_e6 += 1),
        ("accuracy", |c| c.visit.accuracy_m += 1),
        ("discovery kind", |c| c.discovery.kind = "other".into()),
        ("discovery text", |c| c.discovery.description.clear()),
        ("urgent", |c| c.discovery.urgent = false),
        ("reported at", |c| c.discovery.reported_at += 1),
        ("reported by", |c| c.discovery.reported_by.clear()),
        ("removed photo restored", |c| {
            c.photos.get_mut("ab").unwrap().removed = false
        }),
        ("photo added", |c| {
            let mut p = c.photos["ab"].clone();
            p.sha256 = "ef".repeat(32);
            p.removed = false;
            c.photos.insert(p.sha256.clone(), p);
        }),
        ("neighbour statement", |c| {
            c.neighbour_visits
                .get_mut("n1")
                .unwrap()
                .statement
                .push('x')
        }),
        ("neighbour removed", |c| {
            c.neighbour_visits.get_mut("n1").unwrap().removed = true
        }),
        ("neighbour visited at", |c| {
            c.neighbour_visits.get_mut("n1").unwrap().visited_at += 1
        }),
        ("value moved between fields", |c| {
            c.assets.note = format!("{}{}", c.expenses.note, c.assets.note);
            c.expenses.note.clear();
        }),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (what, edit) in edits {
        let mut c = full();
        edit(&mut c);
        let h = whole(&c);
        assert_ne!(h, base, "{what}");
        assert!(seen.insert(h), "{what} hashes like another edit");
    }
    // A photo's kind is attested too.
    let mut c = full();
    let mut p = c.photos["ab"].clone();
    p.removed = false;
    c.photos.insert("ab".into(), p.clone());
    let with_photo = whole(&c);
    c.photos.get_mut("ab").unwrap().kind = "id_card".into();
    assert_ne!(whole(&c), with_photo, "photo kind");
}

#[test]
fn the_v2_hash_ignores_bookkeeping_and_removed_items() {
    let base = whole(&full());
    type Edit = fn(&mut CaseDoc);
    let edits: Vec<(&str, Edit)> = vec![
        ("status", |c| c.status = "investigated".into()),
        ("unit", |c| c.unit = "elsewhere".into()),
        ("created", |c| c.created_at += 1),
        ("schema", |c| c.schema += 1),
        ("member added_at", |c| {
            c.members.get_mut("m1").unwrap().added_at += 1
        }),
        ("income added_at", |c| {
            c.income.get_mut("i1").unwrap().added_at += 1
        }),
        ("removed income edited", |c| {
            c.income.get_mut("i2").unwrap().amount_fen += 1
        }),
        ("removed photo edited", |c| {
            c.photos.get_mut("ab").unwrap().kind = "other".into()
        }),
        ("neighbour added_at", |c| {
            c.neighbour_visits.get_mut("n1").unwrap().added_at += 1
        }),
        ("a set's unchosen code written", |c| {
            c.assistance.insert("tekun".into(), false);
        }),
    ];
    for (what, edit) in edits {
        let mut c = full();
        edit(&mut c);
        assert_eq!(whole(&c), base, "{what}");
    }
    // A shown photo's metadata other than its kind is covered by its hash, not attested.
    let mut c = full();
    c.photos.get_mut("ab").unwrap().removed = false;
    let shown = whole(&c);
    let p = c.photos.get_mut("ab").unwrap();
    p.width += 1;
    p.taken_at += 1;
    p.added_by = "someone".into();
    assert_eq!(whole(&c), shown);
}

#[test]
fn the_v2_canonical_bytes_are_exactly_as_documented() {
    let mut content = AttestedContent {
        case_id: "c".into(),
        ..Default::default()
    };
    content.entries.insert("narrative".into(), "王".into());
    content
        .entries
        .insert("assets.deposits_fen".into(), "5".into());
    let mut expected = b"hecha-attest-v2".to_vec();
    expected.extend_from_slice(&[0, 0, 0, 1, b'c', 0, 0, 0, 0, 0, 0, 0, 2]);
    expected.extend_from_slice(&[0, 0, 0, 19]);
    expected.extend_from_slice(b"assets.deposits_fen");
    expected.extend_from_slice(&[0, 0, 0, 1, b'5', 0, 0, 0, 9]);
    expected.extend_from_slice(b"narrative");
    expected.extend_from_slice(&[0, 0, 0, 3]);
    expected.extend_from_slice("王".as_bytes());
    assert_eq!(content.canonical_bytes_v2(WHOLE_RECORD), expected);
    let scoped = content.canonical_bytes_v2("assets.");
    assert!(scoped.ends_with(b"assets.deposits_fen\0\0\0\x015"));
}

#[test]
fn a_neighbour_signs_their_own_visit_only() {
    let c = full();
    let scope = neighbour_scope("n1");
    let signed = SignatureRecord {
        content_hash_hex: to_hex(&attest_hash_v2(&attested_content_of(&c), &scope)),
        ..record(SignerRole::Neighbour, None, &attested_content_of(&c))
    };
    assert_eq!(
        check(&signed, &attested_content_of(&c)),
        SignatureCheck::Valid
    );
    let mut other = c.clone();
    other.assets.deposits_fen += 1;
    assert_eq!(
        check(&signed, &attested_content_of(&other)),
        SignatureCheck::Valid,
        "the household's figures are not the neighbour's to vouch for"
    );
    other
        .neighbour_visits
        .get_mut("n1")
        .unwrap()
        .statement
        .push('!');
    assert_eq!(
        check(&signed, &attested_content_of(&other)),
        SignatureCheck::ContentChangedAfterSigning
    );
}

#[test]
fn a_version_1_record_still_verifies_against_the_version_1_fields() {
    let c = case();
    let v1 = record(
        SignerRole::Applicant,
        None,
        &attested_content(&c, &photos()),
    );
    let mut later = c.clone();
    later.assets.deposits_fen = 100; // not attested in version 1
    assert_eq!(
        check(&v1, &attested_content(&later, &photos())),
        SignatureCheck::Valid
    );
    later.applicant.name.push('x');
    assert_eq!(
        check(&v1, &attested_content(&later, &photos())),
        SignatureCheck::ContentChangedAfterSigning
    );
}

mod history {
    use super::*;
    use crate::case::{create_document, read_case, write_case, ChangeNote};
    use automerge::ActorId;

    fn note(who: &str) -> ChangeNote {
        ChangeNote {
            action: "save".into(),
            author: who.into(),
            device: format!("device-{who}"),
        }
    }

    fn sign_now(doc: &mut Automerge, id: &str, role: SignerRole, who: &str, at_ms: i64) {
        let c = read_case(doc).unwrap();
        let content = attested_content_of(&c);
        let rec = SignatureRecord {
            signer_name: who.into(),
            signed_at_ms: at_ms,
            content_hash_hex: to_hex(&attest_hash_v2(&content, WHOLE_RECORD)),
            ..record(role, None, &content)
        };
        add_signature(doc, id, &rec, None, &note(who), at_ms).unwrap();
    }

    #[test]
    fn a_change_after_signing_is_reported_with_who_and_when() {
        let c = full();
        let mut a = create_document(ActorId::from(vec![0xaa; 16]), &c, &note("甲"), 1_000).unwrap();
        sign_now(&mut a, "s1", SignerRole::Investigator1, "甲", 2_000);
        sign_now(&mut a, "s2", SignerRole::Applicant, "王秀兰", 3_000);
        let reviews = review(&a).unwrap();
        assert_eq!(reviews.len(), 2);
        assert!(reviews
            .iter()
            .all(|r| r.check == SignatureCheck::Valid && r.changed.is_none()));
        assert_eq!(missing_valid(&reviews), vec![SignerRole::Investigator2]);

        // A save that touches nothing attested, then one that does, on another device.
        let mut b = a.fork().with_actor(ActorId::from(vec![0xbb; 16]));
        let mut cb = read_case(&b).unwrap();
        cb.status = "investigated".into();
        write_case(&mut b, &cb, &note("乙"), 4_000).unwrap();
        assert!(review(&b)
            .unwrap()
            .iter()
            .all(|r| r.check == SignatureCheck::Valid));
        cb.income.get_mut("i1").unwrap().amount_fen = 1;
        write_case(&mut b, &cb, &note("乙"), 5_000).unwrap();
        cb.narrative.push_str("补充");
        write_case(&mut b, &cb, &note("丙"), 6_000).unwrap();
        a.merge(&mut b).unwrap();

        let reviews = review(&a).unwrap();
        for r in &reviews {
            assert_eq!(r.check, SignatureCheck::ContentChangedAfterSigning);
            assert_eq!(r.check.label_zh(), "内容在签字后被修改");
            let changed = r.changed.as_ref().unwrap();
            assert_eq!(
                (
                    changed.author.as_str(),
                    changed.device.as_str(),
                    changed.at_ms
                ),
                ("乙", "device-乙", 5_000)
            );
        }
        assert_eq!(
            missing_valid(&reviews),
            vec![
                SignerRole::Investigator1,
                SignerRole::Investigator2,
                SignerRole::Applicant
            ]
        );
        // Signing again is an explicit act: a new record, valid for the content as it is.
        sign_now(&mut a, "s3", SignerRole::Applicant, "王秀兰", 7_000);
        let reviews = review(&a).unwrap();
        assert_eq!(reviews.len(), 3);
        assert_eq!(reviews[2].signature.id, "s3");
        assert_eq!(reviews[2].check, SignatureCheck::Valid);
    }

    #[test]
    fn an_edit_made_offline_before_the_signature_arrived_is_also_named() {
        let mut a =
            create_document(ActorId::from(vec![0xaa; 16]), &full(), &note("甲"), 1_000).unwrap();
        let mut b = a.fork().with_actor(ActorId::from(vec![0xbb; 16]));
        sign_now(&mut a, "s1", SignerRole::Investigator1, "甲", 2_000);
        let mut cb = read_case(&b).unwrap();
        cb.housing.condition = "good".into();
        write_case(&mut b, &cb, &note("乙"), 1_500).unwrap();
        a.merge(&mut b).unwrap();
        let r = &review(&a).unwrap()[0];
        assert_eq!(r.check, SignatureCheck::ContentChangedAfterSigning);
        assert_eq!(r.changed.as_ref().unwrap().author, "乙");
    }

    #[test]
    fn signatures_in_two_concurrently_created_maps_are_all_read() {
        let mut a =
            create_document(ActorId::from(vec![0xaa; 16]), &full(), &note("甲"), 1_000).unwrap();
        let mut b = a.fork().with_actor(ActorId::from(vec![0xbb; 16]));
        sign_now(&mut a, "s1", SignerRole::Investigator1, "甲", 2_000);
        sign_now(&mut b, "s2", SignerRole::Investigator2, "乙", 2_500);
        a.merge(&mut b).unwrap();
        let ids: Vec<String> = read_signatures(&a).into_iter().map(|s| s.id).collect();
        assert_eq!(ids, vec!["s1", "s2"]);
    }
}
