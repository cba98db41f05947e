//! The harness of the webview tests: starts tauri-driver (which starts WebKitWebDriver, which
//! launches the built app in its real WebKitGTK window), drives the page with fantoccini,
//! writes screenshots and logs to `HECHA_ARTIFACTS`, and always stops what it started.

use std::fs::File;
use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// How long a person would wait for something to show before calling it broken.
pub const UI_TIMEOUT: Duration = Duration::from_secs(30);

/// The app and WebKitWebDriver are heavy on a small machine: one scenario at a time, even
/// when the test binary is run without `--test-threads=1`.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Where things are, from the environment `cargo xtask test` sets.
struct Setup {
    app_bin: PathBuf,
    artifacts: PathBuf,
    tauri_driver: PathBuf,
}

impl Setup {
    fn from_env() -> Setup {
        let app_bin = std::env::var_os("HECHA_APP_BIN").map(PathBuf::from).expect(
            "HECHA_APP_BIN is not set: run these tests with `cargo xtask test`, which builds \
             the app (target/debug/hecha) and sets it",
        );
        assert!(
            app_bin.is_file(),
            "HECHA_APP_BIN={} is not a file: run `cargo xtask build-app`",
            app_bin.display()
        );
        let artifacts = std::env::var_os("HECHA_ARTIFACTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("hecha-e2e-artifacts"));
        std::fs::create_dir_all(&artifacts).expect("create the artifacts directory");
        let tauri_driver = std::env::var_os("HECHA_TAURI_DRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("tauri-driver"));
        Setup {
            app_bin,
            artifacts,
            tauri_driver,
        }
    }
}

/// Runs one scenario against a freshly launched app with an empty data directory.
///
/// Whatever happens in the scenario (an assertion failing, a timeout), the harness still
/// saves a `failure` screenshot and the page source, closes the WebDriver session (which
/// closes the app) and stops tauri-driver, before the failure is passed on.
pub fn run<F, Fut>(scenario: &str, body: F)
where
    F: FnOnce(Ui) -> Fut,
    Fut: Future<Output = ()>,
{
    run_with_data_dir(scenario, None, body)
}

/// Like [`run`], on the data directory `data_dir` when given (kept afterwards: a later
/// launch on it finds what this one left, as after closing and reopening the app).
pub fn run_with_data_dir<F, Fut>(scenario: &str, data_dir: Option<&Path>, body: F)
where
    F: FnOnce(Ui) -> Fut,
    Fut: Future<Output = ()>,
{
    let _serial = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let app = runtime.block_on(App::launch(scenario, data_dir));
    let ui = app.ui.clone();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(body(ui))));
    if outcome.is_err() {
        runtime.block_on(app.ui.save_failure_evidence());
    }
    runtime.block_on(app.close());
    if let Err(panic) = outcome {
        panic::resume_unwind(panic);
    }
}

/// The launched app: the session, the driver process, the app's own data directory.
struct App {
    ui: Ui,
    // Dropped after the session is closed: stops tauri-driver, then removes the data dir
    // (when it is the launch's own).
    driver: Driver,
    _data_dir: Option<tempfile::TempDir>,
}

impl App {
    async fn launch(scenario: &str, given: Option<&Path>) -> App {
        let setup = Setup::from_env();
        let own = match given {
            Some(_) => None,
            None => Some(
                tempfile::Builder::new()
                    .prefix("hecha-webview-")
                    .tempdir()
                    .expect("temp data dir"),
            ),
        };
        let data_path: PathBuf = match (&own, given) {
            (Some(dir), _) => dir.path().to_path_buf(),
            (None, Some(path)) => path.to_path_buf(),
            (None, None) => unreachable!("one of the two is set"),
        };
        let driver = Driver::start(&setup, scenario, &data_path);

        let capabilities = json!({
            "browserName": "wry",
            "tauri:options": { "application": setup.app_bin },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let started = Instant::now();
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no WebDriver session with the app {} (see {}): {e}",
                    setup.app_bin.display(),
                    driver.log.display()
                )
            });
        let session = client.session_id().await.ok().flatten().unwrap_or_default();
        // What WebKitWebDriver answered: browserName "wry" and wry's version: the session is
        // the app's own webview, not a browser.
        let answered = client
            .capabilities()
            .map(|c| Value::Object(c.clone()).to_string())
            .unwrap_or_default();
        eprintln!(
            "[{scenario}] WebDriver session {session} started in {:.1}s, app data dir {}\n\
             [{scenario}] capabilities: {answered}\n[{scenario}] driver log: {}",
            started.elapsed().as_secs_f64(),
            data_path.display(),
            driver.log.display()
        );
        App {
            ui: Ui {
                client,
                scenario: scenario.to_string(),
                artifacts: setup.artifacts,
                data_dir: data_path,
            },
            driver,
            _data_dir: own,
        }
    }

    async fn close(self) {
        // Ends the session: WebKitWebDriver closes the app's window and the app exits.
        if let Err(e) = self.ui.client.close().await {
            eprintln!(
                "[{}] closing the WebDriver session failed: {e}",
                self.ui.scenario
            );
        }
        drop(self.driver);
    }
}

/// The tauri-driver process (it runs WebKitWebDriver, which runs the app).
struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    fn start(setup: &Setup, scenario: &str, data_dir: &Path) -> Driver {
        let (port, native_port) = two_free_ports();
        // tauri-driver, WebKitWebDriver and the app all write here; not into cargo's pipes,
        // which a straggling process would otherwise hold open.
        let log = setup.artifacts.join(format!("{scenario}-driver.log"));
        let out = File::create(&log).expect("create the driver log");
        let err = out.try_clone().expect("clone the driver log handle");
        let child = Command::new(&setup.tauri_driver)
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            // Inherited by WebKitWebDriver and from it by the app: a fresh, empty store.
            .env("HECHA_DATA_DIR", data_dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not start {} (run `cargo xtask setup`): {e}",
                    setup.tauri_driver.display()
                )
            });
        let mut driver = Driver { child, port, log };
        // tauri-driver forwards to WebKitWebDriver: both must accept connections.
        for p in [port, native_port] {
            driver.wait_listening(p, Duration::from_secs(30));
        }
        driver
    }

    fn wait_listening(&mut self, port: u16, timeout: Duration) {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + timeout;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "tauri-driver exited ({status}) before listening on {port}; see {}",
                    self.log.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "nothing listens on port {port} after {timeout:?}; see {}",
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Driver {
    /// SIGTERM by pid: tauri-driver then stops WebKitWebDriver itself. (SIGKILL would orphan
    /// WebKitWebDriver.) Never a process group.
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let pid = self.child.id() as i32;
        if pid > 1 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("tauri-driver (pid {pid}) ignored SIGTERM for 10s; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two distinct ports free right now on 127.0.0.1.
fn two_free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let ports = (
        a.local_addr().expect("port").port(),
        b.local_addr().expect("port").port(),
    );
    drop((a, b));
    ports
}

/// What a scenario uses to look at and act on the app's window: find by the CSS hooks of
/// app/ui/DOM-HOOKS.md, wait as a person would, and take screenshots.
#[derive(Clone)]
pub struct Ui {
    client: Client,
    scenario: String,
    artifacts: PathBuf,
    data_dir: PathBuf,
}

impl Ui {
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The app's data directory (HECHA_DATA_DIR) for this scenario.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Writes `<artifacts>/<scenario>-<step>.png` and returns its path.
    pub async fn screenshot(&self, step: &str) -> PathBuf {
        // Let the page paint what the DOM now holds before the picture is taken.
        let painted = "const done = arguments[arguments.length - 1]; \
                       requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";
        if let Err(e) = self.client.execute_async(painted, vec![]).await {
            eprintln!("[{}] waiting for a paint before {step}: {e}", self.scenario);
        }
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {step}: {e}"));
        assert!(
            png.starts_with(b"\x89PNG"),
            "the screenshot {step} is not a PNG"
        );
        let path = self.artifact(&format!("{step}.png"));
        std::fs::write(&path, &png).expect("write the screenshot");
        eprintln!(
            "[{}] screenshot {} ({} bytes)",
            self.scenario,
            path.display(),
            png.len()
        );
        path
    }

    /// After a failure: a screenshot and the page's HTML, as far as the window still answers.
    async fn save_failure_evidence(&self) {
        if let Ok(png) = self.client.screenshot().await {
            let path = self.artifact("failure.png");
            let _ = std::fs::write(&path, png);
            eprintln!("[{}] failure screenshot {}", self.scenario, path.display());
        }
        if let Ok(html) = self.client.source().await {
            let path = self.artifact("failure.html");
            let _ = std::fs::write(&path, html);
            eprintln!("[{}] failure page source {}", self.scenario, path.display());
        }
    }

    fn artifact(&self, name: &str) -> PathBuf {
        self.artifacts.join(format!("{}-{name}", self.scenario))
    }

    /// The element matching `css`, waiting until it is there.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(UI_TIMEOUT)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("`{css}` did not appear within {UI_TIMEOUT:?}: {e}"))
    }

    /// Every element matching `css` now (possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find_all `{css}`: {e}"))
    }

    /// Clicks the element matching `css`, first scrolling it to the middle of the window as
    /// a person would (at the top edge the sticky header would cover it).
    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        let arg = serde_json::to_value(&el).expect("an element reference is JSON");
        self.client
            .execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
            .await
            .unwrap_or_else(|e| panic!("scroll to `{css}`: {e:?}"));
        el.click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e:?}"));
    }

    /// Types `text` into the (emptied) input or textarea matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        type_into_element(&input, css, text).await;
    }

    /// The current value of the input matching `css`, as the page holds it.
    pub async fn value(&self, css: &str) -> String {
        element_value(&self.find(css).await, css).await
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of `{css}`: {e}"))
    }

    /// Waits until the text of `css` satisfies `ok`; returns that text.
    pub async fn wait_for_text(&self, css: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + UI_TIMEOUT;
        let mut last = String::new();
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = el.text().await {
                    if ok(&text) {
                        return text;
                    }
                    last = text;
                }
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` never showed {what} within {UI_TIMEOUT:?}; last text: {last:?}"
            );
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits until `css` matches exactly `n` elements; returns them.
    pub async fn wait_for_count(&self, css: &str, n: usize) -> Vec<Element> {
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            let found = self.find_all(css).await;
            if found.len() == n {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} `{css}`, found {} after {UI_TIMEOUT:?}",
                found.len()
            );
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Runs JavaScript in the page and returns its result.
    pub async fn script(&self, js: &str) -> Value {
        self.client
            .execute(js, vec![])
            .await
            .unwrap_or_else(|e| panic!("script `{js}`: {e}"))
    }
}

/// Types into a given element (e.g. an input inside one `.member-row`).
pub async fn type_into_element(input: &Element, what: &str, text: &str) {
    input
        .clear()
        .await
        .unwrap_or_else(|e| panic!("clear `{what}`: {e}"));
    input
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into `{what}`: {e}"));
}

/// The `value` property of an input, select or textarea element.
pub async fn element_value(el: &Element, what: &str) -> String {
    el.prop("value")
        .await
        .unwrap_or_else(|e| panic!("value of `{what}`: {e}"))
        .unwrap_or_default()
}
