//! The ledger query, the statistics and their exports on a seeded district: every
//! filter, the sorts and paging, scope, validation, and figures checked against counts
//! worked out by hand from the seed below.

use std::collections::BTreeSet;
use std::io::Cursor;

use automerge::ActorId;
use axum::http::StatusCode;
use calamine::{Data, Reader, Xlsx};
use hecha_shared::api::{AssistanceStats, CaseList, VisitStats};
use hecha_shared::case::{create_document, read_case, write_case, CaseDoc, IncomeItem, Member};
use hecha_shared::signature::{
    add_signature, attest_hash_v2, attested_content_of, to_hex, SignatureMark, SignatureRecord,
    SignerRole, WHOLE_RECORD,
};
use hecha_shared::{CaseId, UnitId, UserId};

use crate::support::{error_of, note, TestServer};

/// 2023-11-01 00:00 in Beijing (2023-10-31 16:00 UTC).
const NOV_1_BEIJING: i64 = 1_698_768_000_000;
const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// One seeded case: what the seed writes into its document.
struct Seed {
    name: &'static str,
    id_number: &'static str,
    unit: &'static str,
    verifier: &'static str,
    status: &'static str,
    assistance: &'static [&'static str],
    hardship: &'static [&'static str],
    origin: &'static str,
    urgent: bool,
    visit_ms: i64,
    members: usize,
    /// One income item: period and amount in fen.
    income: Option<(&'static str, i64)>,
}

/// The district, worked out by hand:
/// - 朝阳街道 (imported at the server's start, 2023-11-15 Beijing): 王秀兰, 李建国, 张伟,
///   刘芳, 陈静;
/// - 星海镇 (imported two days later): 王强, 赵敏;
/// - 锦林街道: 孙丽 (a field edited concurrently on two devices: an open conflict) and
///   周杰 (signed, then the name changed).
const SEEDS: [Seed; 7] = [
    Seed {
        name: "王秀兰",
        id_number: "11010519491231002X",
        unit: "chaoyang",
        verifier: "chaoyang-v1",
        status: "applied",
        assistance: &["dibao"],
        hardship: &["illness"],
        origin: "application",
        urgent: false,
        // 2023-10-31 23:30 Beijing: still October there (and in UTC).
        visit_ms: NOV_1_BEIJING - 30 * MINUTE,
        members: 2,
        income: Some(("monthly", 90_000)),
    },
    Seed {
        name: "李建国",
        id_number: "110105194912310011",
        unit: "chaoyang",
        verifier: "chaoyang-v1",
        status: "investigation",
        assistance: &["dibao", "medical"],
        hardship: &["illness", "disability"],
        origin: "application",
        urgent: false,
        // 2023-11-01 00:10 Beijing: November there, October in UTC.
        visit_ms: NOV_1_BEIJING + 10 * MINUTE,
        members: 1,
        income: Some(("annual", 600_000)),
    },
    Seed {
        name: "张伟",
        id_number: "",
        unit: "chaoyang",
        verifier: "chaoyang-v1",
        status: "active",
        assistance: &["tekun"],
        hardship: &["no_labour"],
        origin: "on_behalf",
        urgent: false,
        visit_ms: 0,
        members: 0,
        income: None,
    },
    Seed {
        name: "刘芳",
        id_number: "",
        unit: "chaoyang",
        verifier: "chaoyang-sup",
        status: "active",
        assistance: &["dibao"],
        hardship: &["unemployment"],
        origin: "discovery",
        urgent: true,
        visit_ms: NOV_1_BEIJING + 8 * 60 * MINUTE,
        members: 0,
        income: None,
    },
    Seed {
        name: "陈静",
        id_number: "",
        unit: "chaoyang",
        verifier: "chaoyang-v1",
        status: "rejected",
        assistance: &[],
        hardship: &[],
        origin: "discovery",
        urgent: false,
        visit_ms: 0,
        members: 0,
        income: None,
    },
    Seed {
        name: "王强",
        id_number: "",
        unit: "xinghai",
        verifier: "xinghai-v1",
        status: "applied",
        assistance: &["dibao"],
        hardship: &["illness"],
        origin: "application",
        urgent: false,
        visit_ms: NOV_1_BEIJING + 4 * DAY,
        members: 0,
        income: None,
    },
    Seed {
        name: "赵敏",
        id_number: "",
        unit: "xinghai",
        verifier: "xinghai-v2",
        status: "active",
        assistance: &["medical"],
        hardship: &["disability"],
        origin: "application",
        urgent: false,
        visit_ms: NOV_1_BEIJING + 4 * DAY,
        members: 0,
        income: None,
    },
];

fn case_of(seed: &Seed) -> CaseDoc {
    let mut case = CaseDoc::new_case(
        CaseId::new_random(),
        &UnitId::new(seed.unit).unwrap(),
        1_700_000_000_000,
    );
    case.status = seed.status.into();
    case.origin = seed.origin.into();
    case.discovery.urgent = seed.urgent;
    case.applicant.name = seed.name.into();
    case.applicant.id_number = seed.id_number.into();
    case.visit.started_at = seed.visit_ms;
    for code in seed.assistance {
        case.assistance.insert((*code).into(), true);
    }
    // A type chosen and then unchosen is not chosen.
    case.assistance.insert("housing".into(), false);
    for code in seed.hardship {
        case.hardship.insert((*code).into(), true);
    }
    if let Some((period, amount_fen)) = seed.income {
        case.income.insert(
            "i1".into(),
            IncomeItem {
                category: "wages".into(),
                period: period.into(),
                amount_fen,
                added_at: 1,
                ..Default::default()
            },
        );
    }
    for n in 0..seed.members {
        case.members.insert(
            format!("m{n}"),
            Member {
                name: format!("成员{n}"),
                relation: "child".into(),
                added_at: n as i64,
                ..Default::default()
            },
        );
    }
    case
}

fn actor(n: u8) -> ActorId {
    ActorId::from(vec![n; 16])
}

fn user_id(server: &TestServer, username: &str) -> UserId {
    server
        .state
        .list_users()
        .unwrap()
        .into_iter()
        .find(|u| u.info.username == username)
        .unwrap()
        .info
        .user_id
}

fn import(server: &TestServer, unit: &str, verifier: &str, docs: Vec<Vec<u8>>) {
    let stored = server
        .state
        .import_cases(
            &UnitId::new(unit).unwrap(),
            Some(user_id(server, verifier)),
            &docs,
        )
        .unwrap();
    assert_eq!(stored, docs.len());
}

/// A case whose phone number two devices changed at once (an open conflict).
fn conflicted() -> Vec<u8> {
    let mut case = case_of(&SEEDS[4]);
    case.applicant.name = "孙丽".into();
    case.unit = "jinlin".into();
    case.status = "applied".into();
    case.origin = "application".into();
    case.assistance.clear();
    case.hardship.clear();
    let mut first = create_document(actor(1), &case, &note("create"), 0).unwrap();
    let mut second = first.fork().with_actor(actor(2));
    for (doc, phone) in [(&mut first, "13800000001"), (&mut second, "13900000002")] {
        let mut edited = read_case(doc).unwrap();
        edited.applicant.phone = phone.into();
        write_case(doc, &edited, &note("save"), 1).unwrap();
    }
    first.merge(&mut second).unwrap();
    first.save()
}

/// A case signed by the first investigator, whose applicant name changed afterwards.
fn changed_after_signing(signed_at_ms: i64) -> Vec<u8> {
    let mut case = case_of(&SEEDS[4]);
    case.applicant.name = "周杰".into();
    case.unit = "jinlin".into();
    case.status = "applied".into();
    case.origin = "application".into();
    case.assistance.clear();
    case.hardship.clear();
    let mut doc = create_document(actor(3), &case, &note("create"), 0).unwrap();
    let record = SignatureRecord {
        role: SignerRole::Investigator1,
        signer_name: "锦林街道核查员1".into(),
        signer_user: None,
        device: None,
        signed_at_ms,
        content_hash_hex: to_hex(&attest_hash_v2(
            &attested_content_of(&read_case(&doc).unwrap()),
            WHOLE_RECORD,
        )),
        strokes: vec![1, 2, 3],
        mark: SignatureMark::Drawn,
    };
    add_signature(&mut doc, "s1", &record, None, &note("sign"), 1).unwrap();
    case.applicant.name = "周杰伦".into();
    write_case(&mut doc, &case, &note("save"), 2).unwrap();
    doc.save()
}

/// The seeded district (server clock: 2023-11-15 06:13 Beijing; 星海镇 imported two days
/// later).
fn district() -> TestServer {
    let server = TestServer::new();
    for seed in &SEEDS[..5] {
        let doc = create_document(actor(9), &case_of(seed), &note("create"), 0).unwrap();
        import(&server, seed.unit, seed.verifier, vec![doc.save()]);
    }
    server.advance(2 * DAY);
    for seed in &SEEDS[5..] {
        let doc = create_document(actor(9), &case_of(seed), &note("create"), 0).unwrap();
        import(&server, seed.unit, seed.verifier, vec![doc.save()]);
    }
    import(
        &server,
        "jinlin",
        "jinlin-v1",
        vec![conflicted(), changed_after_signing(1_700_000_100_000)],
    );
    server
}

fn names(list: &CaseList) -> Vec<&str> {
    list.cases
        .iter()
        .map(|c| c.applicant_name.as_str())
        .collect()
}

fn name_set(list: &CaseList) -> BTreeSet<&str> {
    list.cases
        .iter()
        .map(|c| c.applicant_name.as_str())
        .collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

#[tokio::test]
async fn every_filter_narrows_the_ledger_to_the_cases_worked_out_by_hand() {
    let server = district();
    let bureau = server.login("bureau-staff").await;
    let sup = user_id(&server, "chaoyang-sup");
    let cases = |query: String| {
        let token = bureau.token.clone();
        let server = &server;
        async move { server.cases(&token, &query).await }
    };
    let expect = [
        ("?status=active", vec!["张伟", "刘芳", "赵敏"]),
        (
            "?assistance=dibao",
            vec!["王秀兰", "李建国", "刘芳", "王强"],
        ),
        ("?assistance=medical", vec!["李建国", "赵敏"]),
        ("?assistance=housing", vec![]),
        ("?hardship=disability", vec!["李建国", "赵敏"]),
        ("?origin=discovery", vec!["刘芳", "陈静"]),
        ("?urgent=true", vec!["刘芳"]),
        ("?origin=discovery&urgent=false", vec!["陈静"]),
        // Whole Beijing days: 00:10 on Nov 1 is in, 23:30 on Oct 31 is not.
        (
            "?visit_from=2023-11-01&visit_to=2023-11-01",
            vec!["李建国", "刘芳"],
        ),
        ("?visit_to=2023-10-31", vec!["王秀兰"]),
        (
            "?created_from=2023-11-17",
            vec!["王强", "赵敏", "孙丽", "周杰伦"],
        ),
        (
            "?created_to=2023-11-15",
            vec!["王秀兰", "李建国", "张伟", "刘芳", "陈静"],
        ),
        ("?unit=xinghai", vec!["王强", "赵敏"]),
        ("?name=%E7%8E%8B", vec!["王秀兰", "王强"]), // 王
        ("?id_suffix=002x", vec!["王秀兰"]),
        ("?open_conflicts=true", vec!["孙丽"]),
        ("?changed_after_signing=true", vec!["周杰伦"]),
        (
            "?status=active&assistance=dibao&unit=chaoyang",
            vec!["刘芳"],
        ),
    ];
    for (query, want) in expect {
        let list = cases(query.to_string()).await;
        assert_eq!(name_set(&list), set(&want), "{query}");
        assert_eq!(list.total as usize, want.len(), "{query}");
    }
    let by_sup = cases(format!("?verifier={sup}")).await;
    assert_eq!(names(&by_sup), ["刘芳"]);

    // The columns of a row read back as the document has them.
    let row = &cases("?id_suffix=002X".into()).await.cases[0];
    assert_eq!(row.unit_name, "朝阳街道");
    assert_eq!(row.id_masked, "110105********002X");
    assert_eq!((row.sex.as_str(), row.age), ("female", Some(73)));
    assert_eq!(row.member_count, 3);
    assert_eq!(row.assistance, ["dibao"], "an unchosen type is not listed");
    assert_eq!(row.hardship, ["illness"]);
    assert_eq!(row.verifier_name.as_deref(), Some("朝阳街道核查员1"));
    assert_eq!(row.visit_at_ms, Some(NOV_1_BEIJING - 30 * MINUTE));
    assert_eq!(
        (row.open_conflicts, row.changed_after_signing),
        (false, false)
    );
    let signed = &cases("?changed_after_signing=true".into()).await.cases[0];
    assert_eq!(signed.signed_at_ms, Some(1_700_000_100_000));
    assert!(!signed.open_conflicts);

    // Scope first: a street's verifier asking for another unit sees nothing of it.
    let verifier = server.login("chaoyang-v1").await;
    let other = server.cases(&verifier.token, "?unit=xinghai").await;
    assert_eq!((other.total, other.cases.len()), (0, 0));
    let own = server.cases(&verifier.token, "?name=%E7%8E%8B").await;
    assert_eq!(names(&own), ["王秀兰"]);
}

#[tokio::test]
async fn sorts_run_both_ways_and_pages_keep_the_total() {
    let server = district();
    let sup = server.login("chaoyang-sup").await;
    // Names in code-point order (刘 < 张 < 李 < 王 < 陈), A→Z unless asked otherwise.
    let all = server.cases(&sup.token, "?sort=name").await;
    assert_eq!(names(&all), ["刘芳", "张伟", "李建国", "王秀兰", "陈静"]);
    let page = server
        .cases(&sup.token, "?sort=name&limit=2&offset=2")
        .await;
    assert_eq!((names(&page), page.total), (vec!["李建国", "王秀兰"], 5));
    let last = server
        .cases(&sup.token, "?sort=name&order=desc&limit=2&offset=4")
        .await;
    assert_eq!((names(&last), last.total), (vec!["刘芳"], 5));
    // Per-capita monthly income: 王秀兰 900 yuan a month for 3 people = 300 yuan each;
    // 李建国 6,000 yuan a year for 2 people = 250 yuan a month each; the rest none.
    let poorest_last = server
        .cases(&sup.token, "?sort=per_capita_income&limit=2")
        .await;
    assert_eq!(names(&poorest_last), ["王秀兰", "李建国"]);
    assert_eq!(
        poorest_last
            .cases
            .iter()
            .map(|c| (c.per_capita_fen, c.annual_income_fen))
            .collect::<Vec<_>>(),
        [(30_000, 1_080_000), (25_000, 600_000)]
    );
    let poorest_first = server
        .cases(&sup.token, "?sort=per_capita_income&order=asc")
        .await;
    assert_eq!(names(&poorest_first)[3..], ["李建国", "王秀兰"]);
    // Latest visit first; cases without a visit come last.
    let visits = server.cases(&sup.token, "?sort=visit").await;
    assert_eq!(names(&visits)[..3], ["刘芳", "李建国", "王秀兰"]);
    let bureau = server.login("bureau-staff").await;
    let newest = server.cases(&bureau.token, "?sort=created&limit=50").await;
    let first4: BTreeSet<&str> = newest.cases[..4]
        .iter()
        .map(|c| c.applicant_name.as_str())
        .collect();
    assert_eq!(first4, set(&["王强", "赵敏", "孙丽", "周杰伦"]));
    let oldest = server
        .cases(&bureau.token, "?sort=created&order=asc&limit=5")
        .await;
    assert!(oldest.cases.iter().all(|c| c.unit_name == "朝阳街道"));
}

#[tokio::test]
async fn every_bad_parameter_is_a_400_that_names_it() {
    let server = district();
    let bureau = server.login("bureau-staff").await;
    for (query, mentions) in [
        ("sort=salary", "sort"),
        ("order=sideways", "order"),
        ("created_from=2023-02-30", "created_from"),
        ("visit_to=2023/11/01", "visit_to"),
        ("updated_from=yesterday", "updated_from"),
        ("status=approved", "status"),
        ("assistance=cash", "assistance"),
        ("hardship=laziness", "hardship"),
        ("origin=walk_in", "origin"),
        ("urgent=maybe", "urgent"),
        ("verifier=bob", "verifier"),
        ("unit=Not%20A%20Unit", "unit"),
        ("limit=-1", "limit"),
        ("stauts=active", "stauts"),
        (
            "created_from=2023-11-20&created_to=2023-11-19",
            "created_to",
        ),
    ] {
        for path in [
            "/api/v1/cases",
            "/api/v1/stats/assistance",
            "/api/v1/export/cases.csv",
        ] {
            let (status, body) = server.get(&bureau.token, &format!("{path}?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}?{query}");
            let error = error_of(&body);
            assert_eq!(error.error, "bad_request");
            assert!(
                error.message.contains(mentions),
                "{path}?{query}: {}",
                error.message
            );
        }
    }
}

#[tokio::test]
async fn statistics_match_the_counts_worked_out_by_hand() {
    let server = district();
    let bureau = server.login("bureau-staff").await;
    let stats: AssistanceStats = server
        .get_json(&bureau.token, "/api/v1/stats/assistance")
        .await;
    type Cell<'a> = (&'a str, &'a str, &'a str, u64, u64, i64, i64);
    let cells: Vec<Cell> = stats
        .cells
        .iter()
        .map(|c| {
            (
                c.unit.as_str(),
                c.assistance.as_str(),
                c.status.as_str(),
                c.households,
                c.persons,
                c.annual_income_fen,
                c.per_capita_fen_sum,
            )
        })
        .collect();
    assert_eq!(
        cells,
        vec![
            ("chaoyang", "", "rejected", 1, 1, 0, 0),
            ("chaoyang", "dibao", "active", 1, 1, 0, 0),
            ("chaoyang", "dibao", "applied", 1, 3, 1_080_000, 30_000),
            ("chaoyang", "dibao", "investigation", 1, 2, 600_000, 25_000),
            (
                "chaoyang",
                "medical",
                "investigation",
                1,
                2,
                600_000,
                25_000
            ),
            ("chaoyang", "tekun", "active", 1, 1, 0, 0),
            ("jinlin", "", "applied", 2, 2, 0, 0),
            ("xinghai", "dibao", "applied", 1, 1, 0, 0),
            ("xinghai", "medical", "active", 1, 1, 0, 0),
        ]
    );
    assert_eq!(
        stats.total_households, 9,
        "李建国 counts in two cells but is one household"
    );
    let dibao: AssistanceStats = server
        .get_json(&bureau.token, "/api/v1/stats/assistance?assistance=dibao")
        .await;
    assert_eq!(dibao.total_households, 4);

    // A supervisor's figures are their street's only.
    let sup = server.login("xinghai-sup").await;
    let own: AssistanceStats = server
        .get_json(&sup.token, "/api/v1/stats/assistance")
        .await;
    assert_eq!(own.total_households, 2);
    assert!(own.cells.iter().all(|c| c.unit.as_str() == "xinghai"));

    // Visits per verifier and Beijing month (23:30 on Oct 31 is October, 00:10 on Nov 1
    // November).
    let visits: VisitStats = server.get_json(&bureau.token, "/api/v1/stats/visits").await;
    let rows: Vec<(&str, &str, &str, u64)> = visits
        .rows
        .iter()
        .map(|r| {
            (
                r.month.as_str(),
                r.unit.as_str(),
                r.username.as_deref().unwrap_or(""),
                r.visits,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("2023-10", "chaoyang", "chaoyang-v1", 1),
            ("2023-11", "chaoyang", "chaoyang-sup", 1),
            ("2023-11", "chaoyang", "chaoyang-v1", 1),
            ("2023-11", "xinghai", "xinghai-v1", 1),
            ("2023-11", "xinghai", "xinghai-v2", 1),
        ]
    );
    assert_eq!(
        visits.rows[0].display_name.as_deref(),
        Some("朝阳街道核查员1")
    );

    let conflicts: CaseList = server
        .get_json(&bureau.token, "/api/v1/stats/conflicts")
        .await;
    assert_eq!(names(&conflicts), ["孙丽"]);
    let changed: CaseList = server
        .get_json(&bureau.token, "/api/v1/stats/changed-after-signing")
        .await;
    assert_eq!(names(&changed), ["周杰伦"]);
    let none: CaseList = server.get_json(&sup.token, "/api/v1/stats/conflicts").await;
    assert_eq!(none.total, 0, "the conflict is not in 星海镇");

    let admin = server.login("it-admin").await;
    for path in [
        "/api/v1/stats/assistance",
        "/api/v1/stats/visits",
        "/api/v1/stats/conflicts",
        "/api/v1/stats/changed-after-signing",
        "/api/v1/export/stats/visits.xlsx",
    ] {
        let (status, _) = server.get(&admin.token, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
}

fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<Data>> {
    let mut workbook = Xlsx::new(Cursor::new(bytes.to_vec())).expect("the XLSX opens");
    assert_eq!(workbook.sheet_names(), vec![name.to_string()]);
    let range = workbook.worksheet_range(name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

#[tokio::test]
async fn statistics_exports_open_and_read_back_and_are_audited() {
    let server = district();
    let bureau = server.login("bureau-staff").await;
    let (status, bytes) = server
        .get(
            &bureau.token,
            "/api/v1/export/stats/assistance.xlsx?unit=chaoyang",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let rows = sheet(&bytes, "救助统计");
    assert_eq!(
        rows[0].iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        [
            "所属单位",
            "救助类型",
            "状态",
            "户数",
            "人数",
            "家庭年收入合计(元)",
            "户均月人均收入(元)",
            "单位代码"
        ]
    );
    assert_eq!(rows.len(), 7, "the header and chaoyang's six cells");
    assert_eq!(rows[1][1], Data::String("未选择".into()));
    assert_eq!(rows[3][0], Data::String("朝阳街道".into()));
    assert_eq!(rows[3][1], Data::String("最低生活保障".into()));
    assert_eq!(rows[3][2], Data::String("申请".into()));
    assert_eq!(rows[3][3], Data::Float(1.0));
    assert_eq!(rows[3][4], Data::Float(3.0));
    assert_eq!(rows[3][5], Data::Float(10_800.0), "yuan, as a number");
    assert_eq!(rows[3][6], Data::Float(300.0));

    let (status, bytes) = server
        .get(&bureau.token, "/api/v1/export/stats/visits.csv")
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "月份,所属单位,核查员,用户名,入户次数");
    assert_eq!(lines[1], "2023-10,朝阳街道,朝阳街道核查员1,chaoyang-v1,1");
    assert_eq!(lines.len(), 7, "five rows, the header and the final CRLF");

    let log: hecha_shared::api::AuditList = server
        .get_json(&bureau.token, "/api/v1/audit?user=bureau-staff")
        .await;
    let targets: Vec<&str> = log
        .entries
        .iter()
        .filter(|e| e.action == "export")
        .map(|e| e.target.as_str())
        .collect();
    assert_eq!(
        targets,
        ["stats-visits.csv", "stats-assistance.xlsx?unit=chaoyang"]
    );
}

#[tokio::test]
async fn rows_derived_by_an_older_server_are_derived_again_at_start() {
    let server = TestServer::new();
    // The device that wrote the case is enrolled; the import does not say who it was.
    server.login("chaoyang-v1").await;
    let doc = create_document(
        crate::support::actor_for("chaoyang-v1"),
        &case_of(&SEEDS[0]),
        &note("create"),
        0,
    )
    .unwrap();
    server
        .state
        .import_cases(&UnitId::new("chaoyang").unwrap(), None, &[doc.save()])
        .unwrap();

    // As an older server would have left it: derived by version 0, columns empty.
    let db = server.state.config().data_dir.join(hecha_server::DB_FILE);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE cases SET derived = 0, applicant_name = '', assistance = '', per_capita_fen = 0,
                          verifier = NULL;
         DELETE FROM case_codes;",
    )
    .unwrap();
    drop(conn);

    let reopened = hecha_server::AppState::open(server.state.config().clone()).unwrap();
    let app = hecha_server::app(reopened);
    let bureau = server.login("bureau-staff").await;
    let response = tower::ServiceExt::oneshot(
        app,
        axum::http::Request::get("/api/v1/cases?assistance=dibao")
            .header("authorization", format!("Bearer {}", bureau.token))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let list: CaseList = serde_json::from_slice(&body).unwrap();
    assert_eq!(names(&list), ["王秀兰"]);
    let row = &list.cases[0];
    assert_eq!(row.per_capita_fen, 30_000);
    assert_eq!(
        row.verifier_name.as_deref(),
        Some("朝阳街道核查员1"),
        "credited to the user whose device wrote the first change"
    );
}
