//! The verifier's complete household visit in the real webview, with the network off: the
//! investigation form with two members and every required section, two photos picked from
//! files, three signatures drawn on the pad with pointer actions; then the server comes back,
//! 立即同步, and the server holds the document and every photo blob with matching hashes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::elements::Element;
use hecha_e2e::TestServer;
use hecha_shared::id_number::with_check_digit;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::driver::{self, type_into_element, Ui};
use crate::{center, fill_member, find_in, log_in, ADDRESS, APPLICANT_ID, APPLICANT_NAME, PHONE};

/// A small JPEG of a gradient, `w`×`h`, tinted by `seed` so the two photos differ.
fn write_jpeg(dir: &Path, name: &str, w: u32, h: u32, seed: u8) -> PathBuf {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x * 255 / w) as u8 ^ seed,
            (y * 255 / h) as u8,
            seed.wrapping_mul(3),
        ])
    });
    let path = dir.join(name);
    img.save_with_format(&path, image::ImageFormat::Jpeg)
        .expect("write a test JPEG");
    path
}

/// Chooses a value in the select matching `css` inside `row`.
async fn select_in(row: &Element, css: &str, value: &str) {
    let select = find_in(row, css).await;
    center(&select).await;
    select
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("choose {value} in `{css}`: {e}"));
}

async fn select(ui: &Ui, css: &str, value: &str) {
    let select = ui.find(css).await;
    center(&select).await;
    select
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("choose {value} in `{css}`: {e}"));
}

async fn scroll_to(ui: &Ui, el: &Element) {
    let arg = serde_json::to_value(el).expect("an element reference is JSON");
    ui.client()
        .execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
        .await
        .expect("scroll into view");
}

/// Draws a signature-like scribble across the pad: two strokes of pointer moves, as a
/// finger or pen would (WebDriver's mouse pointer; the pad listens to pointer events).
async fn draw_signature(ui: &Ui, seed: f64) {
    let canvas = ui.find("#signature-canvas").await;
    scroll_to(ui, &canvas).await;
    let at = |x: f64, y: f64| PointerAction::MoveToElement {
        element: canvas.clone(),
        duration: Some(Duration::from_millis(15)),
        x,
        y,
    };
    let mut pen = MouseActions::new("signature-pen".to_string());
    for stroke in 0..2 {
        let y0 = -20.0 + 40.0 * f64::from(stroke);
        pen = pen.then(at(-120.0, y0)).then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        });
        for k in 1..=16 {
            let x = -120.0 + 15.0 * f64::from(k);
            let y = y0 + 18.0 * ((f64::from(k) + seed) * 0.9).sin();
            pen = pen.then(at(x, y));
        }
        pen = pen.then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    }
    ui.client()
        .perform_actions(pen)
        .await
        .expect("draw on the signature pad");
    ui.client()
        .release_actions()
        .await
        .expect("release the pointer");
}

/// Opens the pad for `role`, names the signer (when given), draws, confirms, and waits for
/// the signature to be listed.
async fn sign(ui: &Ui, role: &str, name: Option<&str>, expected_count: usize, seed: f64) {
    ui.click(&format!("#sign-{role}")).await;
    ui.find(&format!("#signature-panel[data-role={role}]"))
        .await;
    if let Some(name) = name {
        ui.type_into("#signer-name", name).await;
    }
    draw_signature(ui, seed).await;
    ui.click("#signature-confirm").await;
    ui.wait_for_count(".signature", expected_count).await;
}

/// GET `path` on the server as `username`, JSON.
async fn get_json(server: &TestServer, username: &str, path: &str) -> Value {
    let token = server.login(username).await.token;
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    response.json().await.expect("JSON")
}

async fn get_bytes(server: &TestServer, username: &str, path: &str) -> Vec<u8> {
    let token = server.login(username).await.token;
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    response.bytes().await.expect("bytes").to_vec()
}

/// The entries of a map in the document JSON that are not flagged `removed`.
fn active(map: &Value) -> Vec<&Value> {
    map.as_object()
        .map(|m| {
            m.values()
                .filter(|v| v.get("removed") != Some(&Value::Bool(true)))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_complete_visit_recorded_offline_reaches_the_server_with_photos_and_signatures() {
    let mut server = TestServer::start();
    let files = tempfile::tempdir().expect("a temp dir for the photo files");
    let house = write_jpeg(files.path(), "house.jpg", 640, 480, 17);
    let family = write_jpeg(files.path(), "family.jpg", 480, 640, 99);
    let spouse_id = with_check_digit("11010519480315001").expect("a valid ID number");
    driver::run("full-visit", |ui: Ui| async move {
        log_in(&ui, &server.url()).await;
        // In the household there is no signal.
        server.stop();

        ui.click("#new-case").await;
        ui.click("#visit-start").await;
        ui.wait_for_text("#visit-gps", "unavailable on a desktop", |t| {
            t.contains("定位不可用")
        })
        .await;
        assert!(
            !ui.text("#visit-started").await.contains("未记录"),
            "开始入户 records the start time"
        );

        ui.type_into("#applicant-name", APPLICANT_NAME).await;
        ui.type_into("#applicant-id-number", APPLICANT_ID).await;
        ui.type_into("#applicant-phone", PHONE).await;
        ui.type_into("#applicant-registered-address", ADDRESS).await;
        ui.type_into("#applicant-address", ADDRESS).await;
        ui.type_into("#applicant-community", "幸福里社区").await;
        select(&ui, "#applicant-area", "urban").await;
        // Derived from the ID number, not typed.
        assert_eq!(ui.text("#applicant-birth-date").await.trim(), "1949-12-31");
        assert_eq!(ui.text("#applicant-sex").await.trim(), "女");

        ui.click("#add-member").await;
        ui.click("#add-member").await;
        let rows = ui.wait_for_count(".member-row", 2).await;
        fill_member(&rows[0], "李建国", "spouse", spouse_id.as_str()).await;
        fill_member(&rows[1], "李小红", "child", "").await;
        for (row, schooling, marital, labour) in [
            (&rows[0], "graduated", "married", "partial"),
            (&rows[1], "senior", "single", "none"),
        ] {
            select_in(row, "select[name=member-health]", "healthy").await;
            select_in(row, "select[name=member-labour]", labour).await;
            select_in(row, "select[name=member-schooling]", schooling).await;
            select_in(row, "select[name=member-marital]", marital).await;
        }
        ui.wait_for_text("#household-size", "3 people", |t| t.contains('3'))
            .await;

        ui.click("#add-income").await;
        let income = ui.wait_for_count(".income-row", 1).await;
        select_in(&income[0], "select[name=income-category]", "wages").await;
        select_in(&income[0], "select[name=income-period]", "monthly").await;
        let amount = find_in(&income[0], "input[name=income-amount]").await;
        center(&amount).await;
        type_into_element(&amount, "income-amount", "1500.50").await;

        ui.type_into("#assets-deposits", "3000").await;
        select(&ui, "#housing-kind", "owned").await;
        ui.type_into("#housing-area", "62.5").await;
        select(&ui, "#housing-condition", "fair").await;
        ui.click("#hardship input[value=illness]").await;
        ui.click("#assistance input[value=dibao]").await;
        ui.type_into(
            "#narrative",
            "申请人丈夫患慢性病，家庭收入主要依靠女儿打零工。",
        )
        .await;
        select(&ui, "#conclusion-opinion", "eligible").await;
        ui.type_into(
            "#conclusion-text",
            "经入户核实，家庭人均收入低于当地低保标准。",
        )
        .await;
        ui.click("#visit-end").await;
        ui.screenshot("form").await;

        ui.click("#save-case").await;
        ui.wait_for_text("#form-message", "已保存", |t| t.contains("已保存"))
            .await;
        assert!(
            ui.find_all(".field-error").await.is_empty(),
            "a complete record shows no field errors"
        );
        ui.wait_for_text("#dibao-hint", "the hint's label", |t| {
            t.contains("参考提示")
        })
        .await;

        // Two photos picked from files.
        select(&ui, "#photo-kind", "house_outside").await;
        ui.find("#photo-file")
            .await
            .send_keys(&house.to_string_lossy())
            .await
            .expect("pick the first photo file");
        ui.wait_for_count(".photo-thumb", 1).await;
        select(&ui, "#photo-kind", "family").await;
        ui.find("#photo-file")
            .await
            .send_keys(&family.to_string_lossy())
            .await
            .expect("pick the second photo file");
        ui.wait_for_count(".photo-thumb", 2).await;
        ui.screenshot("photos").await;

        // Three signatures drawn on the pad.
        sign(&ui, "investigator1", None, 1, 0.0).await;
        sign(&ui, "investigator2", Some("张伟"), 2, 1.3).await;
        sign(&ui, "applicant", None, 3, 2.1).await;
        for s in ui.find_all(".signature").await {
            assert_eq!(
                s.attr("data-status").await.expect("status").as_deref(),
                Some("valid"),
                "nothing changed after signing"
            );
        }
        ui.screenshot("signed").await;

        ui.click("#back").await;
        let rows = ui.wait_for_count(".case-row", 1).await;
        let case_id = rows[0]
            .attr("data-case-id")
            .await
            .expect("data-case-id")
            .expect("the row names its case");
        ui.wait_for_text("#unsynced-count", "1", |t| t.trim() == "1")
            .await;
        ui.wait_for_text("#photos-pending", "2 photos to send", |t| t.trim() == "2")
            .await;
        ui.screenshot("list-offline").await;

        // Back within reach of the server.
        server.restart();
        ui.click("#sync-now").await;
        ui.wait_for_text("#sync-indicator", "已同步", |t| t.contains("已同步"))
            .await;
        ui.wait_for_text("#unsynced-count", "0", |t| t.trim() == "0")
            .await;
        ui.wait_for_text("#photos-pending", "no photo left to send", |t| {
            t.trim() == "0"
        })
        .await;
        ui.screenshot("list-synced").await;

        // What the street's supervisor finds on the server.
        let doc = get_json(
            &server,
            "chaoyang-sup",
            &format!("/api/v1/cases/{case_id}/document"),
        )
        .await;
        let d = &doc["document"];
        assert_eq!(d["applicant"]["name"], APPLICANT_NAME);
        assert_eq!(d["applicant"]["id_number"], APPLICANT_ID);
        let members = active(&d["members"]);
        assert_eq!(members.len(), 2, "two members: {}", d["members"]);
        assert!(members.iter().any(|m| m["name"] == "李建国"));
        assert_eq!(d["hardship"]["illness"], true);
        let signatures = d["signatures"].as_object().map(|m| m.len()).unwrap_or(0);
        assert_eq!(signatures, 3, "three signatures: {}", d["signatures"]);
        let photos = active(&d["photos"]);
        assert_eq!(photos.len(), 2, "two photos: {}", d["photos"]);
        for photo in photos {
            for key in ["sha256", "thumb_sha256"] {
                let sha = photo[key].as_str().expect("a photo hash");
                let bytes =
                    get_bytes(&server, "chaoyang-sup", &format!("/api/v1/blobs/{sha}")).await;
                assert_eq!(
                    hex::encode(Sha256::digest(&bytes)),
                    sha,
                    "the server's {key} blob matches its hash"
                );
                assert!(bytes.starts_with(&[0xff, 0xd8]), "the blob is a JPEG");
            }
        }
    });
}

/// A form closed mid-entry comes back as it was left: the app is closed while the verifier
/// is typing a new case (never saved), reopened on the same data, and 新建个案 restores the
/// draft with a notice.
#[test]
fn a_form_closed_mid_entry_comes_back_as_it_was_left() {
    let server = TestServer::start();
    let data = tempfile::Builder::new()
        .prefix("hecha-webview-draft-")
        .tempdir()
        .expect("a data dir kept across the two launches");
    driver::run_with_data_dir("draft-before", Some(data.path()), |ui: Ui| async move {
        log_in(&ui, &server.url()).await;
        ui.click("#new-case").await;
        ui.type_into("#applicant-name", APPLICANT_NAME).await;
        ui.type_into("#applicant-id-number", APPLICANT_ID).await;
        ui.click("#add-member").await;
        let rows = ui.wait_for_count(".member-row", 1).await;
        fill_member(&rows[0], "李小红", "child", "").await;
        ui.click("#add-income").await;
        let income = ui.wait_for_count(".income-row", 1).await;
        let amount = find_in(&income[0], "input[name=income-amount]").await;
        type_into_element(&amount, "income-amount", "820.5").await;
        // The draft is written once typing pauses (~0.5 s); then the app goes away
        // without 保存.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        ui.screenshot("typed").await;
    });
    driver::run_with_data_dir("draft-after", Some(data.path()), |ui: Ui| async move {
        // Still enrolled: straight to the list, which has no saved case.
        ui.find("#case-list").await;
        assert!(
            ui.find_all(".case-row").await.is_empty(),
            "nothing was saved"
        );
        ui.click("#new-case").await;
        ui.wait_for_text("#draft-restored", "the restore notice", |t| {
            t.contains("已恢复未保存的草稿")
        })
        .await;
        assert_eq!(ui.value("#applicant-name").await, APPLICANT_NAME);
        assert_eq!(ui.value("#applicant-id-number").await, APPLICANT_ID);
        let rows = ui.wait_for_count(".member-row", 1).await;
        assert_eq!(
            crate::member_field(&rows[0], "input[name=member-name]").await,
            "李小红"
        );
        let income = ui.wait_for_count(".income-row", 1).await;
        let amount = find_in(&income[0], "input[name=income-amount]").await;
        assert_eq!(
            crate::driver::element_value(&amount, "income-amount").await,
            "820.50"
        );
        ui.screenshot("restored").await;
    });
}
