//! Fixtures for the end-to-end tests: a real `hecha-server` on 127.0.0.1 port 0
//! ([`TestServer`]), a real app core on its own temp dir ([`TestDevice`]), and a TCP
//! proxy between them that can cut responses or refuse connections ([`FlakyProxy`]).
//!
//! Server and proxy each run on their own thread with their own tokio runtime, so a test
//! may use any runtime (or none) and dropping a fixture stops it cleanly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use hecha_core::{Clock, Core};
use hecha_server::{AppState, ServerConfig};
use hecha_shared::api::{CaseList, LoginRequest, LoginResponse};
use hecha_shared::app_api::{EnrolRequest, SessionInfo};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// The password of every demo account on a [`TestServer`].
pub const PASSWORD: &str = "e2e-口令-2024";

/// The Automerge actor id (hex) of the "e2e checker" devices that [`TestServer::login`]
/// enrols: one per account, since the server refuses an actor already used by another user.
fn checker_actor(username: &str) -> String {
    let mut bytes = [0u8; 16];
    for (i, b) in username.bytes().enumerate() {
        bytes[i % 16] = bytes[i % 16].wrapping_mul(31).wrapping_add(b);
    }
    bytes[15] ^= 0xe2;
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A thread running a current-thread tokio runtime until told to stop.
struct Background {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Runs `task(stop_signal)` on a new thread; the task must return soon after the
    /// signal completes.
    fn spawn<F, Fut>(name: &str, task: F) -> Background
    where
        F: FnOnce(oneshot::Receiver<()>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for a test fixture");
                runtime.block_on(task(stopped));
                // Abandon whatever is still running (e.g. a request held by a dropped
                // client) instead of waiting for it.
                runtime.shutdown_timeout(Duration::from_secs(2));
            })
            .expect("a thread for a test fixture");
        Background {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Binds 127.0.0.1 at `port` (0: any free port).
fn bind(port: u16) -> std::net::TcpListener {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    listener
}

/// A real sync server with the demo district seeded (every account's password is
/// [`PASSWORD`]), serving HTTP on 127.0.0.1. It can be stopped and started again on the
/// same address and data, as a server that goes down and comes back.
pub struct TestServer {
    dir: TempDir,
    state: AppState,
    addr: SocketAddr,
    running: Option<Background>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = AppState::open(ServerConfig::new(dir.path().join("server")))
            .expect("open the server state");
        hecha_server::demo::seed_demo(&state, PASSWORD).expect("seed the demo district");
        let listener = bind(0);
        let addr = listener.local_addr().expect("local address");
        let mut server = TestServer {
            dir,
            state,
            addr,
            running: None,
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: std::net::TcpListener) {
        let state = self.state.clone();
        self.running = Some(Background::spawn("test-server", move |stop| async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let shutdown = async move {
                let _ = stop.await;
            };
            if let Err(e) = hecha_server::serve(listener, state, shutdown).await {
                eprintln!("test server stopped with an error: {e}");
            }
        }));
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("server")
    }

    /// Stops serving (connections are refused) until [`TestServer::restart`].
    pub fn stop(&mut self) {
        self.running = None;
    }

    /// Serves again on the same address.
    pub fn restart(&mut self) {
        assert!(self.running.is_none(), "the server is already running");
        let mut tries = 0;
        let listener = loop {
            match std::net::TcpListener::bind(self.addr) {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    eprintln!("rebinding {}: {e}", self.addr);
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("cannot serve again on {}: {e}", self.addr),
            }
        };
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        self.serve(listener);
    }

    /// Logs in over HTTP as a demo account (a new device enrolment, as a browser would).
    pub async fn login(&self, username: &str) -> LoginResponse {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/login", self.url()))
            .json(&LoginRequest {
                username: username.into(),
                password: PASSWORD.into(),
                device_name: "e2e checker".into(),
                actor_id: checker_actor(username),
            })
            .send()
            .await
            .expect("login request");
        assert!(
            response.status().is_success(),
            "login {username}: {}",
            response.status()
        );
        response.json().await.expect("login answer")
    }

    /// `GET /api/v1/cases` as `username`, with a query string such as `name=王`.
    pub async fn cases(&self, username: &str, query: &str) -> CaseList {
        let token = self.login(username).await.token;
        let response = reqwest::Client::new()
            .get(format!("{}/api/v1/cases?{query}", self.url()))
            .bearer_auth(token)
            .send()
            .await
            .expect("cases request");
        assert!(
            response.status().is_success(),
            "cases: {}",
            response.status()
        );
        response.json().await.expect("case list")
    }
}

/// A clock that returns a set time, optionally moving on by `step_ms` at each reading.
pub struct TestClock {
    now: AtomicI64,
    step_ms: i64,
}

impl TestClock {
    /// Always the same time.
    pub fn fixed(now_ms: i64) -> Arc<TestClock> {
        Self::stepping(now_ms, 0)
    }

    /// Starts at `start_ms`, `step_ms` later at each reading (distinct, ordered times).
    pub fn stepping(start_ms: i64, step_ms: i64) -> Arc<TestClock> {
        Arc::new(TestClock {
            now: AtomicI64::new(start_ms),
            step_ms,
        })
    }

    pub fn set(&self, now_ms: i64) {
        self.now.store(now_ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.now.fetch_add(self.step_ms, Ordering::SeqCst)
    }
}

/// 2023-11-14 22:13:20 UTC: where test clocks start.
pub const T0: i64 = 1_700_000_000_000;

/// One device: a real [`Core`] over its own data directory.
pub struct TestDevice {
    pub core: Core,
    pub clock: Arc<TestClock>,
    dir: TempDir,
}

impl TestDevice {
    /// A fresh device whose clock starts at [`T0`] and moves one second per reading.
    pub fn new() -> TestDevice {
        Self::with_clock(TestClock::stepping(T0, 1_000))
    }

    pub fn with_clock(clock: Arc<TestClock>) -> TestDevice {
        let dir = tempfile::tempdir().expect("temp dir");
        let core = Core::open(dir.path(), clock.clone()).expect("open the core");
        TestDevice { core, clock, dir }
    }

    /// Enrols the device on `server_url` as demo account `username`.
    pub async fn enrol(&self, server_url: &str, username: &str) -> SessionInfo {
        self.core
            .enrol(EnrolRequest {
                server_url: server_url.into(),
                username: username.into(),
                password: PASSWORD.into(),
                code: None,
            })
            .await
            .unwrap_or_else(|e| panic!("enrol {username}: {e:?}"))
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Opens the same data directory again, as the app does after a restart.
    pub fn reopen(&mut self) {
        self.core = Core::open(self.dir.path(), self.clock.clone()).expect("reopen the core");
    }
}

impl Default for TestDevice {
    fn default() -> Self {
        Self::new()
    }
}

/// What a [`FlakyProxy`] does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Passes everything through.
    Forward,
    /// Closes each connection once it has carried `n` bytes of responses.
    CutResponsesAfter(usize),
    /// Lets `n` more bytes of requests through (all connections together, counted from
    /// when the mode is set), then cuts the connection carrying them and refuses new
    /// ones: an upload cut off mid-way.
    CutRequestsAfter(usize),
    /// Closes every connection at once (new ones too): the server seems down.
    Refuse,
}

/// Counters of a [`FlakyProxy`].
#[derive(Debug, Default)]
pub struct ProxyStats {
    pub connections: AtomicUsize,
    /// Connections closed by the proxy in the middle of a response.
    pub cuts: AtomicUsize,
    pub bytes_up: AtomicU64,
    pub bytes_down: AtomicU64,
    /// Request bytes carried since the mode was last set (for `CutRequestsAfter`).
    pub up_in_mode: AtomicU64,
}

/// A TCP proxy on 127.0.0.1 in front of a server, for testing interruptions.
pub struct FlakyProxy {
    addr: SocketAddr,
    mode: Arc<Mutex<ProxyMode>>,
    stats: Arc<ProxyStats>,
    _running: Background,
}

impl FlakyProxy {
    pub fn start(upstream: SocketAddr) -> FlakyProxy {
        let listener = bind(0);
        let addr = listener.local_addr().expect("local address");
        let mode = Arc::new(Mutex::new(ProxyMode::Forward));
        let stats = Arc::new(ProxyStats::default());
        let (m, s) = (mode.clone(), stats.clone());
        let running = Background::spawn("flaky-proxy", move |stop| async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            tokio::select! {
                _ = stop => {}
                _ = accept_loop(listener, upstream, m, s) => {}
            }
        });
        FlakyProxy {
            addr,
            mode,
            stats,
            _running: running,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: ProxyMode) {
        let mut current = self.mode.lock().expect("proxy mode");
        self.stats.up_in_mode.store(0, Ordering::SeqCst);
        *current = mode;
    }

    pub fn stats(&self) -> &ProxyStats {
        &self.stats
    }
}

fn mode_of(mode: &Mutex<ProxyMode>) -> ProxyMode {
    *mode.lock().expect("proxy mode")
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    upstream: SocketAddr,
    mode: Arc<Mutex<ProxyMode>>,
    stats: Arc<ProxyStats>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        stats.connections.fetch_add(1, Ordering::SeqCst);
        let refuse = match mode_of(&mode) {
            ProxyMode::Refuse => true,
            ProxyMode::CutRequestsAfter(limit) => {
                stats.up_in_mode.load(Ordering::SeqCst) >= limit as u64
            }
            _ => false,
        };
        if refuse {
            drop(client);
            continue;
        }
        tokio::spawn(relay(client, upstream, mode.clone(), stats.clone()));
    }
}

/// Carries one connection both ways; the response direction obeys the mode.
async fn relay(
    client: tokio::net::TcpStream,
    upstream: SocketAddr,
    mode: Arc<Mutex<ProxyMode>>,
    stats: Arc<ProxyStats>,
) {
    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up_stats = stats.clone();
    let up_mode = mode.clone();
    let up = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let allowed = match mode_of(&up_mode) {
                ProxyMode::Refuse => break,
                ProxyMode::CutRequestsAfter(limit) => {
                    let before = up_stats.up_in_mode.fetch_add(n as u64, Ordering::SeqCst);
                    (limit as u64).saturating_sub(before).min(n as u64) as usize
                }
                _ => n,
            };
            up_stats
                .bytes_up
                .fetch_add(allowed as u64, Ordering::SeqCst);
            if server_write.write_all(&buf[..allowed]).await.is_err() {
                break;
            }
            if allowed < n {
                up_stats.cuts.fetch_add(1, Ordering::SeqCst);
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut carried = 0usize;
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let allowed = match mode_of(&mode) {
                ProxyMode::Forward | ProxyMode::CutRequestsAfter(_) => n,
                ProxyMode::CutResponsesAfter(limit) => limit.saturating_sub(carried).min(n),
                ProxyMode::Refuse => 0,
            };
            if allowed > 0 {
                if client_write.write_all(&buf[..allowed]).await.is_err() {
                    break;
                }
                carried += allowed;
                stats.bytes_down.fetch_add(allowed as u64, Ordering::SeqCst);
            }
            if allowed < n {
                stats.cuts.fetch_add(1, Ordering::SeqCst);
                break;
            }
        }
        // Dropping both halves closes the client's connection mid-response.
    };
    // Whichever direction ends first ends the connection: a cut response must not leave
    // the client waiting on a half-open socket.
    tokio::select! {
        _ = down => {}
        _ = up => {}
    }
}
