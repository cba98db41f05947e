//! End-to-end tests in the real webview: the built Tauri app (HECHA_APP_BIN) in its WebKitGTK
//! window, driven through tauri-driver and WebKitWebDriver, against a real sync server.
//! Run by `cargo xtask test` under Xvfb; screenshots go to HECHA_ARTIFACTS.

mod driver;
mod visit;

use driver::{element_value, type_into_element, Ui};
use fantoccini::elements::Element;
use fantoccini::Locator;
use hecha_e2e::{TestServer, PASSWORD};
use hecha_shared::id_number::with_check_digit;

/// GB 11643's published sample number (check character X), and its masked form in lists.
const APPLICANT_ID: &str = "11010519491231002X";
const APPLICANT_ID_MASKED: &str = "110105********002X";
/// The same number with a wrong check character (it should be X).
const WRONG_CHECK_DIGIT: &str = "110105194912310021";

/// The household a verifier types in.
const APPLICANT_NAME: &str = "王秀英";
const PHONE: &str = "13800138000";
const ADDRESS: &str = "朝阳街道幸福里3号楼2单元101室";

/// The page in the window is the app's own (served by Tauri, with its IPC bridge), and the
/// app keeps its store where HECHA_DATA_DIR says.
#[test]
fn the_window_is_the_tauri_app_with_its_own_data_dir() {
    driver::run("startup", |ui: Ui| async move {
        ui.find("#server-url").await;
        ui.screenshot("login").await;
        let bridge = ui.script("return typeof window.__TAURI_INTERNALS__;").await;
        assert_eq!(bridge, "object", "the page has no Tauri IPC bridge");
        let url = ui.client().current_url().await.expect("current url");
        assert_eq!(
            url.scheme(),
            "tauri",
            "the page is not served by the app: {url}"
        );
        assert!(
            ui.data_dir().join("hecha.db").is_file(),
            "the app did not create its store in HECHA_DATA_DIR={}",
            ui.data_dir().display()
        );
    });
}

/// A verifier logs in, records a household with two members while the server cannot be
/// reached, sees it marked unsynced, syncs when the server is back, and the street's
/// supervisor then finds it on the server.
#[test]
fn a_case_recorded_offline_reaches_the_server_with_its_members() {
    let mut server = TestServer::start();
    let spouse_id = with_check_digit("11010519480315001").expect("a valid ID number");
    driver::run("create-sync", |ui: Ui| async move {
        log_in(&ui, &server.url()).await;
        assert!(
            ui.find_all(".case-row").await.is_empty(),
            "a new device has no cases"
        );

        // In the household there is no signal.
        server.stop();

        ui.click("#new-case").await;
        fill_applicant(&ui, APPLICANT_NAME, APPLICANT_ID).await;
        ui.click("#add-member").await;
        ui.click("#add-member").await;
        let rows = ui.wait_for_count(".member-row", 2).await;
        fill_member(&rows[0], "李建国", "spouse", spouse_id.as_str()).await;
        fill_member(&rows[1], "李小红", "child", "").await;
        ui.screenshot("form").await;

        ui.click("#save-case").await;
        ui.wait_for_text("#form-message", "已保存", |t| t.contains("已保存"))
            .await;
        assert!(
            ui.find_all(".field-error").await.is_empty(),
            "a valid case shows no field errors"
        );
        ui.screenshot("saved").await;

        ui.click("#back").await;
        let rows = ui.wait_for_count(".case-row", 1).await;
        let row_text = text_of(&rows[0]).await;
        for expected in [APPLICANT_NAME, APPLICANT_ID_MASKED, "未同步"] {
            assert!(
                row_text.contains(expected),
                "the case row should show {expected:?}: {row_text:?}"
            );
        }
        assert!(
            !row_text.contains(APPLICANT_ID),
            "lists show the ID number masked: {row_text:?}"
        );
        // The household size (applicant + 2 members), wherever the row puts it.
        let rest = row_text.replace(APPLICANT_ID_MASKED, "");
        assert!(
            rest.contains('3'),
            "the row should show 3 household members: {row_text:?}"
        );
        let case_id = rows[0]
            .attr("data-case-id")
            .await
            .expect("data-case-id")
            .expect("the row names its case");
        ui.wait_for_text("#unsynced-count", "1", |t| t.trim() == "1")
            .await;
        ui.wait_for_text("#sync-indicator", "离线", |t| t.contains("离线"))
            .await;
        ui.screenshot("list-unsynced").await;

        // Back within reach of the server: 立即同步.
        server.restart();
        ui.click("#sync-now").await;
        ui.wait_for_text("#sync-indicator", "已同步", |t| t.contains("已同步"))
            .await;
        ui.wait_for_text("#unsynced-count", "0", |t| t.trim() == "0")
            .await;
        ui.wait_for_text(".case-row", "no 未同步 mark", |t| !t.contains("未同步"))
            .await;
        ui.screenshot("list-synced").await;

        // What the street's supervisor sees on the server.
        let list = server.cases("chaoyang-sup", "").await;
        assert_eq!(list.total, 1, "the server has the one case: {list:?}");
        let row = &list.cases[0];
        assert_eq!(row.case_id.to_string(), case_id);
        assert_eq!(row.applicant_name, APPLICANT_NAME);
        assert_eq!(row.member_count, 3, "applicant + 2 members");
        assert_eq!(row.id_masked, APPLICANT_ID_MASKED);
        assert_eq!(row.unit_name, "朝阳街道");
    });
}

/// A mistyped ID number is explained in Chinese next to the field, everything typed stays
/// in the form, and nothing is saved.
#[test]
fn a_wrong_check_digit_is_explained_and_nothing_typed_is_lost() {
    let server = TestServer::start();
    let member_id = with_check_digit("11010519750620004").expect("a valid ID number");
    driver::run("invalid-id", |ui: Ui| async move {
        log_in(&ui, &server.url()).await;

        ui.click("#new-case").await;
        fill_applicant(&ui, APPLICANT_NAME, WRONG_CHECK_DIGIT).await;
        ui.click("#add-member").await;
        let rows = ui.wait_for_count(".member-row", 1).await;
        fill_member(&rows[0], "李建国", "spouse", member_id.as_str()).await;

        ui.click("#save-case").await;
        let message = ui
            .wait_for_text(
                r#".field-error[data-field="applicant.id_number"]"#,
                "the check digit message",
                |t| t.contains("校验位"),
            )
            .await;
        assert_eq!(message.trim(), "身份证号校验位不正确，请核对");
        ui.wait_for_text("#form-message", "请按提示修改", |t| {
            t.contains("请按提示修改")
        })
        .await;
        assert_eq!(
            ui.find_all(".field-error").await.len(),
            1,
            "only the ID number is wrong"
        );
        ui.screenshot("error").await;

        // Everything typed is still there.
        assert_eq!(ui.value("#applicant-name").await, APPLICANT_NAME);
        assert_eq!(ui.value("#applicant-id-number").await, WRONG_CHECK_DIGIT);
        assert_eq!(ui.value("#applicant-phone").await, PHONE);
        assert_eq!(ui.value("#applicant-address").await, ADDRESS);
        let rows = ui.wait_for_count(".member-row", 1).await;
        assert_eq!(
            member_field(&rows[0], "input[name=member-name]").await,
            "李建国"
        );
        assert_eq!(
            member_field(&rows[0], "select[name=member-relation]").await,
            "spouse"
        );
        assert_eq!(
            member_field(&rows[0], "input[name=member-id-number]").await,
            member_id.as_str()
        );

        // Nothing was saved: the list is still empty and nothing waits to be synced.
        ui.click("#back").await;
        ui.wait_for_text("body", "the empty-list hint", |t| t.contains("暂无个案"))
            .await;
        assert!(ui.find_all(".case-row").await.is_empty());
        assert_eq!(ui.text("#unsynced-count").await.trim(), "0");
        ui.screenshot("list-still-empty").await;
    });
}

/// The login page: server address, account, password → the case list of that account.
async fn log_in(ui: &Ui, server_url: &str) {
    ui.type_into("#server-url", server_url).await;
    ui.type_into("#username", "chaoyang-v1").await;
    ui.type_into("#password", PASSWORD).await;
    ui.screenshot("login").await;
    ui.click("#login").await;
    ui.find("#case-list").await;
    ui.wait_for_text("header", "who is working", |t| {
        t.contains("朝阳街道核查员1") && t.contains("朝阳街道")
    })
    .await;
    ui.screenshot("list").await;
}

async fn fill_applicant(ui: &Ui, name: &str, id_number: &str) {
    ui.type_into("#applicant-name", name).await;
    ui.type_into("#applicant-id-number", id_number).await;
    ui.type_into("#applicant-phone", PHONE).await;
    ui.type_into("#applicant-address", ADDRESS).await;
}

/// Fills one `.member-row`: name, relation (a Relation code), ID number (may be empty).
async fn fill_member(row: &Element, name: &str, relation: &str, id_number: &str) {
    let input = find_in(row, "input[name=member-name]").await;
    type_into_element(&input, "member-name", name).await;
    let select = find_in(row, "select[name=member-relation]").await;
    center(&select).await;
    select
        .select_by_value(relation)
        .await
        .unwrap_or_else(|e| panic!("choose relation {relation}: {e}"));
    if !id_number.is_empty() {
        let input = find_in(row, "input[name=member-id-number]").await;
        type_into_element(&input, "member-id-number", id_number).await;
    }
}

/// Scrolls `el` to the middle of the window, as a person would before using it (at the
/// top edge the sticky header would cover it, and WebDriver refuses a covered click).
async fn center(el: &Element) {
    let arg = serde_json::to_value(el).expect("an element reference is JSON");
    el.clone()
        .client()
        .execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
        .await
        .expect("scroll into view");
}

async fn find_in(row: &Element, css: &str) -> Element {
    row.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("`{css}` in a member row: {e}"))
}

async fn member_field(row: &Element, css: &str) -> String {
    element_value(&find_in(row, css).await, css).await
}

async fn text_of(el: &Element) -> String {
    el.text().await.expect("element text")
}
