//! The test harness: spawn `jamd`, talk to it as staff, move its clock.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use awc::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::Value;

pub const ADMIN_EMAIL: &str = "admin@example.org";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A test deployment: a data folder, a clock file, a database URL; nodes run against it.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub clock_file: PathBuf,
    pub extra_env: Vec<(String, String)>,
}

impl Deployment {
    /// SQLite in a fresh folder, the file clock set to `now`.
    pub fn sqlite(now: DateTime<Utc>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = format!("sqlite://{}", dir.path().join("jam.db").display());
        Self::with_url(dir, database_url, now)
    }

    /// A brand-new PostgreSQL database, or `None` when PostgreSQL tests are skipped.
    pub async fn postgres(now: DateTime<Utc>) -> Option<Self> {
        let url = jam_testkit::services::fresh_postgres_url().await?;
        Some(Self::with_url(tempfile::tempdir().unwrap(), url, now))
    }

    fn with_url(dir: tempfile::TempDir, database_url: String, now: DateTime<Utc>) -> Self {
        let clock_file = dir.path().join("clock");
        let d = Self {
            dir,
            database_url,
            clock_file,
            extra_env: Vec::new(),
        };
        d.set_clock(now);
        d
    }

    /// Moves every node's clock (write then rename, so no node reads half a file).
    pub fn set_clock(&self, to: DateTime<Utc>) {
        let tmp = self.clock_file.with_extension("tmp");
        std::fs::write(&tmp, to.to_rfc3339()).unwrap();
        std::fs::rename(&tmp, &self.clock_file).unwrap();
    }

    fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("JAM__SERVER__BIND".into(), "127.0.0.1:0".into()),
            ("JAM__SERVER__WORKERS".into(), "2".into()),
            ("JAM__SERVER__SHUTDOWN_TIMEOUT_SECS".into(), "2".into()),
            ("JAM__DATABASE__URL".into(), self.database_url.clone()),
            ("JAM__DATABASE__MAX_CONNECTIONS".into(), "8".into()),
            ("JAM__CLOCK__KIND".into(), "file".into()),
            ("JAM__CLOCK__FILE".into(), self.clock_file.display().to_string()),
            ("JAM__LOG__FORMAT".into(), "json".into()),
            ("JAM__LOG__FILTER".into(), "info".into()),
            ("JAM__ORCHESTRATOR__TICK_MS".into(), "50".into()),
            // Every test client comes from 127.0.0.1; tests of the limits themselves lower these.
            ("JAM__RATE_LIMITS__LOGIN__COUNT".into(), "100000".into()),
            ("JAM__RATE_LIMITS__JOIN__COUNT".into(), "100000".into()),
            ("JAM__RATE_LIMITS__WELCOME__COUNT".into(), "100000".into()),
            ("JAM__LIMITS__JOINS_PER_ADDRESS_PER_DAY".into(), "100000".into()),
            // Participants flag the moment they join; tests of the minimum age raise it.
            ("JAM__MODERATION__FLAG_MIN_AGE_MINUTES".into(), "0".into()),
            ("JAM__SERVER__MAX_CONNECTIONS_PER_ADDRESS".into(), "0".into()),
            ("JAM__RATE_LIMITS__CONNECTIONS__COUNT".into(), "1000000".into()),
        ];
        env.extend(self.extra_env.iter().cloned());
        env
    }

    /// Runs a `jamd` subcommand to completion; returns (success, stdout+stderr).
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> (bool, String) {
        use std::io::Write;
        let mut cmd = jamd(self.dir.path());
        cmd.args(args)
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Creates the first admin through the CLI, as an operator would.
    pub fn create_admin(&self) {
        let (ok, out) = self.run(
            &["admin", "create", "--email", ADMIN_EMAIL, "--role", "admin"],
            Some(&format!("{ADMIN_PASSWORD}\n")),
        );
        assert!(ok, "admin create failed: {out}");
    }

    pub async fn start(&self) -> Node {
        Node::start(self.dir.path(), self.env()).await
    }
}

impl Drop for Deployment {
    /// Drops a PostgreSQL test database (its nodes are stopped first: they are declared later).
    fn drop(&mut self) {
        if self.database_url.starts_with("postgres") {
            let url = self.database_url.clone();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(jam_testkit::services::drop_database(&url));
                Some(())
            })
            .join();
        }
    }
}

fn jamd(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jamd"));
    cmd.current_dir(cwd)
        .env_remove("RUST_LOG")
        .env_remove("JAM_PROFILE")
        .env_remove("JAM_ADMIN_PASSWORD");
    for (k, _) in std::env::vars() {
        if k.starts_with("JAM__") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// One running `jamd`.
pub struct Node {
    child: Child,
    pub base: String,
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Node {
    async fn start(cwd: &Path, env: Vec<(String, String)>) -> Node {
        let mut child = jamd(cwd)
            .arg("serve")
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["fields"]["message"] == "jamd listening"
                    && let Some(port) = v["fields"]["port"].as_u64()
                {
                    let _ = port_tx.send(port);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let port = tokio::task::spawn_blocking(move || port_rx.recv_timeout(Duration::from_secs(60)))
            .await
            .unwrap()
            .unwrap_or_else(|_| panic!("jamd did not start: {:?}", logs.lock().unwrap()));
        Node {
            child,
            base: format!("http://127.0.0.1:{port}"),
            logs,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "jamd did not stop on SIGTERM: {:?}",
                self.logs.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A counter from `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let (status, text) = self.client().get_text("/metrics").await;
        assert_eq!(status, 200);
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
            .unwrap_or_else(|| panic!("{name} not in /metrics"))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client with one cookie (one browser).
pub struct Client {
    base: String,
    http: awc::Client,
    cookie: Option<String>,
    pub origin: Option<String>,
    /// Sent as `X-Forwarded-For` (a client behind a proxy).
    pub forwarded_for: Option<String>,
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts a problem+json answer with this status.
    #[track_caller]
    pub fn assert_problem(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "body: {}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["title"].is_string()
                && self.body["detail"].is_string()
                && self.body["type"].is_string()
        );
    }
}

impl Client {
    pub fn new(base: &str) -> Self {
        Self::build(base, None)
    }

    /// A client whose connections leave from `local` (any 127.0.0.0/8 address on loopback): another
    /// machine, as far as a balancer in front of jamd can tell.
    pub fn from_address(base: &str, local: std::net::IpAddr) -> Self {
        Self::build(base, Some(local))
    }

    fn build(base: &str, local: Option<std::net::IpAddr>) -> Self {
        // jamd closes an idle keep-alive connection after 5 s (actix's default). A client that kept
        // it longer (awc's default: 15 s) could reuse it just as the server closes it, and the
        // request would fail with `Disconnected` (seen in the cluster test on a loaded machine):
        // drop idle connections well before the server does.
        let connector = awc::Connector::new().conn_keep_alive(Duration::from_secs(2));
        let mut http = awc::Client::builder()
            .connector(connector)
            .timeout(Duration::from_secs(30));
        if let Some(local) = local {
            http = http.local_address(local);
        }
        let http = http.finish();
        Self {
            base: base.to_owned(),
            http,
            cookie: None,
            origin: None,
            forwarded_for: None,
        }
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Reply {
        self.post_keep(
            "/api/v1/auth/login",
            serde_json::json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn as_admin(base: &str) -> Self {
        let mut c = Self::new(base);
        let r = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.body);
        c
    }

    /// Creates a staff account with `role` (as admin) and signs in as it.
    pub async fn as_new_staff(base: &str, role: &str) -> Self {
        let admin = Self::as_admin(base).await;
        let email = format!("{role}-{}@example.org", uuid::Uuid::new_v4().simple());
        let r = admin
            .post("/api/v1/staff", serde_json::json!({ "email": email, "display_name": role, "role": role, "password": ADMIN_PASSWORD }))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let mut c = Self::new(base);
        let r = c.login(&email, ADMIN_PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.body);
        c
    }

    fn request(&self, method: awc::http::Method, path: &str) -> awc::ClientRequest {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            req = req.insert_header(("cookie", cookie.clone()));
        }
        match &self.origin {
            Some(origin) => req = req.insert_header(("origin", origin.clone())),
            // What a browser's own fetch says; `origin` set tests the cross-site refusal.
            None => req = req.insert_header(("sec-fetch-site", "same-origin")),
        }
        if let Some(hops) = &self.forwarded_for {
            req = req.insert_header(("x-forwarded-for", hops.clone()));
        }
        req
    }

    async fn finish(
        &mut self,
        res: Result<
            awc::ClientResponse<
                impl futures_util::Stream<Item = Result<bytes::Bytes, awc::error::PayloadError>> + Unpin,
            >,
            awc::error::SendRequestError,
        >,
    ) -> Reply {
        let mut res = res.unwrap();
        if let Some(set) = res.headers().get("set-cookie").and_then(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap_or_default().to_owned();
            self.cookie = if pair.ends_with('=') { None } else { Some(pair) };
        }
        let status = res.status();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let headers = res.headers().clone();
        let bytes = res.body().limit(64 * 1024 * 1024).await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply {
            status,
            content_type,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        let res = self.request(awc::http::Method::GET, path).send().await;
        let mut me = self.shadow();
        me.finish(res).await
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let mut res = self.request(awc::http::Method::GET, path).send().await.unwrap();
        let bytes = res.body().await.unwrap();
        (
            res.status().as_u16(),
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send_json(awc::http::Method::POST, path, body).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send_json(awc::http::Method::PATCH, path, body).await
    }

    pub async fn send_json(&self, method: awc::http::Method, path: &str, body: Value) -> Reply {
        let res = self.request(method, path).send_json(&body).await;
        let mut me = self.shadow();
        me.finish(res).await
    }

    /// Sends raw bytes with a content type (for malformed bodies).
    pub async fn send_raw(
        &self,
        method: awc::http::Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let res = self
            .request(method, path)
            .insert_header(("content-type", content_type.to_owned()))
            .send_body(body)
            .await;
        let mut me = self.shadow();
        me.finish(res).await
    }

    /// `post` that keeps a cookie the server sets (sign-in).
    pub async fn post_keep(&mut self, path: &str, body: Value) -> Reply {
        let res = self.request(awc::http::Method::POST, path).send_json(&body).await;
        self.finish(res).await
    }

    fn shadow(&self) -> Client {
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            cookie: self.cookie.clone(),
            origin: self.origin.clone(),
            forwarded_for: self.forwarded_for.clone(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    pub fn set_cookie(&mut self, cookie: Option<String>) {
        self.cookie = cookie;
    }
}

/// Polls `check` until it returns `Some` or `timeout` passes: waiting on an observable condition.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A jam body for `POST /jams`.
pub fn jam_body(slug: &str, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> Value {
    serde_json::json!({
        "slug": slug,
        "title": "Innovation Jam",
        "description": "Three days of ideas.",
        "guidelines": "Be kind. Build on others' ideas.",
        "starts_at": starts_at,
        "ends_at": ends_at,
        "audiences": [{ "name": "employee" }, { "name": "client", "invite_code": "client-code-2026" }, { "name": "family" }],
    })
}
