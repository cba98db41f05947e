//! Ledger exports: the XLSX opens and its cells read back, the CSV parses with its BOM,
//! both follow the ledger's filters and scope, mask ID numbers for every role but bureau
//! staff, and are audited.

use std::io::Cursor;

use axum::http::StatusCode;
use calamine::{Data, Reader, Xlsx};
use hecha_shared::api::AuditList;
use hecha_shared::CaseId;

use crate::support::{error_of, sample_case, TestServer};

const HEADERS: [&str; 22] = [
    "序号",
    "所属单位",
    "社区",
    "申请人",
    "身份证号",
    "性别",
    "年龄",
    "家庭人口",
    "城乡",
    "来源",
    "救助类型",
    "致困原因",
    "家庭年收入(元)",
    "家庭月人均收入(元)",
    "状态",
    "核查员",
    "入户时间",
    "签字时间",
    "签字后修改",
    "未解决冲突",
    "创建时间",
    "更新时间",
];

/// Two cases of 朝阳街道 (one a minute after the other) and one of 星海镇. The server's
/// clock starts at 2023-11-14 22:13:20 UTC, i.e. 2023-11-15 06:13 in Beijing.
async fn district() -> TestServer {
    let server = TestServer::new();
    let mut chaoyang = server.device("chaoyang-v1").await;
    chaoyang.create_case(&sample_case(
        CaseId::new_random(),
        "chaoyang",
        "王秀兰",
        "11010519491231002X",
        2,
    ));
    chaoyang.sync(&server).await;
    server.advance(60_000);
    chaoyang.create_case(&sample_case(
        CaseId::new_random(),
        "chaoyang",
        "=HYPERLINK(\"http://x\",\"点我\")",
        "",
        0,
    ));
    chaoyang.sync(&server).await;
    let mut xinghai = server.device("xinghai-v1").await;
    xinghai.create_case(&sample_case(
        CaseId::new_random(),
        "xinghai",
        "李四, 先生",
        "640202198001010011",
        1,
    ));
    xinghai.sync(&server).await;
    server
}

fn sheet(bytes: &[u8]) -> Vec<Vec<Data>> {
    let mut workbook = Xlsx::new(Cursor::new(bytes.to_vec())).expect("the XLSX opens");
    assert_eq!(workbook.sheet_names(), vec!["案件台账".to_string()]);
    let range = workbook.worksheet_range("案件台账").unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

fn text(cells: &[Data]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// A minimal RFC 4180 reader: fields, quotes, doubled quotes, CRLF records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "records end in CRLF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the last record ends in CRLF"
    );
    records
}

#[tokio::test]
async fn the_xlsx_ledger_opens_and_its_cells_read_back() {
    let server = district().await;
    let supervisor = server.login("chaoyang-sup").await;
    let (status, bytes) = server
        .get(&supervisor.token, "/api/v1/export/cases.xlsx")
        .await;
    assert_eq!(status, StatusCode::OK);
    let rows = sheet(&bytes);
    assert_eq!(text(&rows[0]), HEADERS);
    assert_eq!(rows.len(), 3, "the header and the unit's two cases only");

    // Newest first, numbered from 1; numbers are numbers, text is text.
    assert_eq!(rows[1][0], Data::Float(1.0));
    assert_eq!(
        rows[1][3],
        Data::String("=HYPERLINK(\"http://x\",\"点我\")".into()),
        "a name that looks like a formula stays text"
    );
    assert_eq!(rows[1][4].to_string(), "", "no ID number, an empty cell");
    assert_eq!(rows[1][7], Data::Float(1.0));
    // A supervisor's export masks ID numbers; sex and age come from the ID number (born
    // 1949-12-31, so 73 on 2023-11-15).
    assert_eq!(
        text(&rows[2]),
        vec![
            "2",
            "朝阳街道",
            "",
            "王秀兰",
            "110105********002X",
            "女",
            "73",
            "3",
            "",
            "本人申请",
            "",
            "",
            "0",
            "0",
            "申请",
            "朝阳街道核查员1",
            "",
            "",
            "否",
            "否",
            "2023-11-15 06:13",
            "2023-11-15 06:13",
        ]
    );
    assert_eq!(rows[2][6], Data::Float(73.0));
    assert_eq!(rows[2][7], Data::Float(3.0));
    assert_eq!(text(&rows[1])[21], "2023-11-15 06:14");

    // The bureau's export has the whole district with full ID numbers; filters are the
    // ledger's.
    let bureau = server.login("bureau-staff").await;
    let (_, all) = server.get(&bureau.token, "/api/v1/export/cases.xlsx").await;
    let all = sheet(&all);
    assert_eq!(all.len(), 4);
    assert!(all
        .iter()
        .any(|r| r[4] == Data::String("11010519491231002X".into())));
    let (_, filtered) = server
        .get(
            &bureau.token,
            "/api/v1/export/cases.xlsx?name=%E6%9D%8E%E5%9B%9B", // 李四
        )
        .await;
    let filtered = sheet(&filtered);
    assert_eq!(filtered.len(), 2);
    assert_eq!(
        text(&filtered[1])[1..6],
        ["星海镇", "", "李四, 先生", "640202198001010011", ""]
    );
}

#[tokio::test]
async fn the_csv_ledger_has_a_bom_chinese_headers_and_parses() {
    let server = district().await;
    let bureau = server.login("bureau-staff").await;
    let response = server
        .get_with_headers(&bureau.token, "/api/v1/export/cases.csv?id_suffix=0011")
        .await;
    assert_eq!(response.0, StatusCode::OK);
    let headers = response.1;
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(headers["x-total-count"], "1");
    let bytes = response.2;
    assert_eq!(
        &bytes[..3],
        b"\xEF\xBB\xBF",
        "Excel needs the BOM to read UTF-8"
    );
    let records = parse_csv(std::str::from_utf8(&bytes[3..]).unwrap());
    assert_eq!(records[0], HEADERS);
    assert_eq!(
        records[1..],
        [vec![
            "1",
            "星海镇",
            "",
            "李四, 先生",
            "640202198001010011",
            // Not a valid ID number (check digit): no sex or age is made up from it.
            "",
            "",
            "2",
            "",
            "本人申请",
            "",
            "",
            "0.00",
            "0.00",
            "申请",
            "星海镇核查员1",
            "",
            "",
            "否",
            "否",
            "2023-11-15 06:14",
            "2023-11-15 06:14",
        ]]
    );

    // Formula-like text is defused for spreadsheets that would run it.
    let supervisor = server.login("chaoyang-sup").await;
    let (status, bytes) = server
        .get(&supervisor.token, "/api/v1/export/cases.csv")
        .await;
    assert_eq!(status, StatusCode::OK);
    let records = parse_csv(std::str::from_utf8(&bytes[3..]).unwrap());
    assert_eq!(records.len(), 3);
    assert_eq!(records[1][3], "'=HYPERLINK(\"http://x\",\"点我\")");
    assert_eq!(
        records[2][4], "110105********002X",
        "supervisors get masked IDs"
    );
    assert!(!String::from_utf8_lossy(&bytes).contains("19491231"));
}

#[tokio::test]
async fn exports_are_audited_refused_without_case_scope_and_check_their_filters() {
    let server = district().await;
    let bureau = server.login("bureau-staff").await;
    let (status, _) = server
        .get(
            &bureau.token,
            "/api/v1/export/cases.xlsx?name=%E7%8E%8B&why=%E6%9C%88%E6%8A%A5", // 王, 月报
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.get(&bureau.token, "/api/v1/export/cases.csv").await;
    assert_eq!(status, StatusCode::OK);
    let admin = server.login("it-admin").await;
    for format in ["csv", "xlsx"] {
        let (status, body) = server
            .get(&admin.token, &format!("/api/v1/export/cases.{format}"))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(error_of(&body).error, "forbidden");
        let (status, body) = server
            .get(
                &bureau.token,
                &format!("/api/v1/export/cases.{format}?limit=x"),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_of(&body).error, "bad_request");
    }

    let log: AuditList = server
        .get_json(&bureau.token, "/api/v1/audit?user=bureau-staff")
        .await;
    let exports: Vec<_> = log
        .entries
        .iter()
        .filter(|e| e.action == "export")
        .collect();
    assert_eq!(exports.len(), 2, "refused exports are not logged");
    assert_eq!(exports[0].target, "cases.csv");
    assert_eq!(
        exports[1].target,
        "cases.xlsx?name=%E7%8E%8B&why=%E6%9C%88%E6%8A%A5"
    );
    assert_eq!(exports[1].reason.as_deref(), Some("月报"));
    assert_eq!(exports[1].device_id, Some(bureau.device_id));
}
