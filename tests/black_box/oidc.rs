//! OpenID Connect sign-in against a real provider: the `oidc-provider` npm package (a certified
//! implementation), started by `tests/oidc/provider.mjs` on a free port. The test is the browser: it
//! holds the cookies of both sites and follows the redirects itself, so it can also tamper with
//! what a browser carries (the state, the nonce) and move jamd's clock past an ID token's expiry.
//!
//! Without `node` or `tests/oidc/node_modules` (`npm ci` in tests/oidc) these tests are skipped
//! loudly; with `JAM_TEST_REQUIRE_SERVICES=1` they fail instead.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::fixtures::*;
use crate::support::*;

/// Where jamd says browsers reach it; the provider redirects there, and the test browser maps it
/// to the node's real address.
const PUBLIC_ORIGIN: &str = "http://jam.test";
const CLIENT_SECRET: &str = "openjam-test-secret";
/// Seconds an ID token lives at the test provider.
const ID_TOKEN_TTL: i64 = 120;

fn harness_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/oidc"))
}

/// The accounts at the provider and their claims.
fn accounts() -> Value {
    json!({
        "alice": { "name": "Alice Martin", "email": "alice@example.org", "groups": ["Staff"] },
        "bob": { "preferred_username": "bob", "groups": "partners" },
        "carol": { "name": "Carol", "groups": [] },
        "dana": { "name": "Dana Admin", "email": "dana@example.org", "roles": ["jam-admins", "jam-readers"] },
        "hugo": { "name": "Hugo Host", "email": "hugo@example.org", "roles": ["jam-hosts"] },
        "rita": { "name": "Rita Reader", "email": "rita@example.org", "roles": "jam-readers" },
        "zed": { "name": "Zed", "email": "zed@example.org", "roles": ["somebody-else"] },
        "mallory": { "name": "Mallory", "email": "taken@example.org", "roles": ["jam-admins"] },
    })
}

/// A running test provider.
struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    /// Starts the provider, or `None` (skipped, or a failure when services are required) when node
    /// or the package is missing.
    fn start(port: u16, key_seed: &str) -> Option<Provider> {
        let dir = harness_dir();
        let node_ok = Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !node_ok || !dir.join("node_modules/oidc-provider").is_dir() {
            jam_testkit::services::skip_or_fail(
                "OpenID Connect tests against oidc-provider",
                "up node and run `npm ci` in tests/oidc",
            );
            return None;
        }
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("OIDC_PORT", port.to_string())
            .env(
                "OIDC_REDIRECT_URIS",
                format!("{PUBLIC_ORIGIN}/api/v1/auth/oidc/callback"),
            )
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_ID_TOKEN_TTL", ID_TOKEN_TTL.to_string())
            .env("OIDC_ACCOUNTS", accounts().to_string())
            .env("OIDC_KEY_SEED", key_seed)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // Keep reading, so the provider never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let started: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("provider said: {line:?}"));
        Some(Provider {
            child,
            issuer: started["issuer"].as_str().unwrap().to_owned(),
        })
    }

    fn port(&self) -> u16 {
        self.issuer.rsplit(':').next().unwrap().parse().unwrap()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A deployment whose clock is the real time (ID tokens carry real times), configured for the
/// provider: audiences from the `groups` claim, staff roles from `roles`, staff password sign-in off.
fn deployment(provider: &Provider) -> Deployment {
    let d = Deployment::sqlite(Utc::now());
    let profile = format!(
        r#"
[server]
public_origin = "{PUBLIC_ORIGIN}"

[oidc]
enabled = true
issuer_url = "{issuer}"
client_id = "openjam"
scopes = "profile email"
audience_claim = "groups"
audience_map = [{{ value = "Staff", audience = "employee" }}, {{ value = "partners", audience = "client" }}]
staff = true
role_claim = "roles"
role_map = [{{ value = "jam-admins", role = "admin" }}, {{ value = "jam-hosts", role = "facilitator" }}, {{ value = "jam-readers", role = "executive" }}]
password_login = false
"#,
        issuer = provider.issuer
    );
    std::fs::write(d.dir.path().join("oidc.toml"), profile).unwrap();
    let mut d = d;
    d.extra_env.extend([
        ("JAM_CONFIG_DIR".into(), d.dir.path().display().to_string()),
        ("JAM_PROFILE".into(), "oidc".into()),
        ("JAM__OIDC__CLIENT_SECRET".into(), CLIENT_SECRET.into()),
    ]);
    d
}

/// What the test does to a sign-in on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    None,
    /// The `state` coming back to jamd is changed.
    State,
    /// The callback comes back to a browser that did not start the sign-in (no state cookie).
    OtherBrowser,
    /// The `nonce` sent to the provider is changed, so the ID token carries another one.
    Nonce,
    /// jamd's clock moves past the ID token's expiry before the callback.
    Expire,
    /// The callback URL is sent a second time after it succeeded.
    Replay,
}

/// The test browser: one cookie jar for both sites (cookies do not tell ports apart).
struct Browser {
    http: awc::Client,
    jar: HashMap<String, String>,
    jam_base: String,
}

struct Answer {
    status: u16,
    location: Option<String>,
    content_type: String,
    body: Value,
}

impl Browser {
    fn new(jam_base: &str) -> Self {
        Self {
            http: awc::Client::builder()
                .timeout(StdDuration::from_secs(30))
                .disable_redirects()
                .finish(),
            jar: HashMap::new(),
            jam_base: jam_base.to_owned(),
        }
    }

    async fn get(&mut self, url: &str) -> Answer {
        let url = url.replace(PUBLIC_ORIGIN, &self.jam_base);
        let mut req = self.http.get(&url);
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.insert_header(("cookie", cookies.join("; ")));
        }
        let mut res = req.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        for set in res.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = value.is_empty() || set.to_ascii_lowercase().contains("max-age=0");
            if removed {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let location = res.headers().get("location").map(|l| {
            let l = l.to_str().unwrap();
            if l.starts_with('/') {
                let origin: String = url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
                format!("{origin}{l}")
            } else {
                l.to_owned()
            }
        });
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = res.body().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer {
            status: res.status().as_u16(),
            location,
            content_type,
            body,
        }
    }

    /// Follows a sign-in from jamd's start route through the provider (signing in as `account`)
    /// and back to jamd's callback; returns jamd's answer to the callback. A refusal at the start
    /// is returned as it is.
    async fn sign_in(&mut self, d: &Deployment, start: &str, account: &str, tamper: Tamper) -> Answer {
        d.set_clock(Utc::now());
        let started = self.get(&format!("{}{start}", self.jam_base)).await;
        if started.status != 303 {
            return started;
        }
        let mut to_provider = started.location.clone().unwrap();
        if tamper == Tamper::Nonce {
            to_provider = replace_param(&to_provider, "nonce", "forged-nonce");
        }
        let at_provider = self.get(&to_provider).await;
        assert_eq!(at_provider.status, 303, "provider /auth: {}", at_provider.body);
        let mut next = at_provider.location.unwrap();
        // A browser already signed in at the provider comes straight back; others pick an account.
        if !next.starts_with(PUBLIC_ORIGIN) {
            let resume = self.get(&format!("{next}/login?account={account}")).await;
            assert_eq!(resume.status, 303, "provider login: {}", resume.body);
            let back = self.get(&resume.location.unwrap()).await;
            assert_eq!(back.status, 303, "provider resume: {}", back.body);
            next = back.location.unwrap();
        }
        let mut callback = next;
        assert!(
            callback.starts_with(&format!("{PUBLIC_ORIGIN}/api/v1/auth/oidc/callback?")),
            "the provider sends the browser back to jamd: {callback}"
        );
        assert!(!callback.contains("error="), "{callback}");
        match tamper {
            Tamper::State => callback = replace_param(&callback, "state", "forged-state"),
            Tamper::OtherBrowser => {
                let mut other = Browser::new(&self.jam_base);
                return other.get(&callback).await;
            }
            Tamper::Expire => d.set_clock(Utc::now() + Duration::seconds(ID_TOKEN_TTL + 60)),
            _ => {}
        }
        let answer = self.get(&callback).await;
        if tamper == Tamper::Replay {
            assert_eq!(answer.status, 303, "the first callback succeeds: {}", answer.body);
            return self.get(&callback).await;
        }
        answer
    }

    /// A support client carrying this browser's jamd sign-in.
    fn client(&self) -> Client {
        let mut c = Client::new(&self.jam_base);
        c.set_cookie(self.jar.get("jam_session").map(|v| format!("jam_session={v}")));
        c
    }

    async fn me(&self) -> Value {
        let r = self.client().get("/api/v1/me").await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }
}

fn replace_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    assert!(pairs.iter().any(|(k, _)| k == name), "{url} has no {name}");
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

#[track_caller]
fn assert_refused(a: &Answer, status: u16, says: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.content_type, "application/problem+json", "{}", a.body);
    let detail = a.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(says), "expected `{says}` in: {detail}");
}

/// A started deployment with a live jam created by an admin who signed in through the provider:
/// audiences `employee` and `client` admit by single sign-on, `family` by code.
struct World {
    node: Node,
    d: Deployment,
    admin: Client,
    slug: String,
    session: String,
    provider: Option<Provider>,
}

async fn world(provider: Provider, slug: &str) -> World {
    let d = deployment(&provider);
    let node = d.start().await;
    let mut admin_browser = Browser::new(&node.base);
    let signed = admin_browser
        .sign_in(&d, "/api/v1/auth/oidc/start", "dana", Tamper::None)
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(
        signed.location.as_deref(),
        Some(format!("{}/console", node.base).as_str())
    );
    let admin = admin_browser.client();
    // A password account whose e-mail a provider account also claims.
    let r = admin
        .post(
            "/api/v1/staff",
            json!({ "email": "taken@example.org", "display_name": "Taken", "role": "facilitator", "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let now = Utc::now();
    let r = admin
        .post(
            "/api/v1/jams",
            json!({
                "slug": slug,
                "title": "Organisation jam",
                "description": "Signed in with the organisation's accounts.",
                "guidelines": "Be kind.",
                "starts_at": now - Duration::hours(1),
                "ends_at": now + Duration::days(3),
                "audiences": [
                    { "name": "employee" },
                    { "name": "client" },
                    { "name": "family", "invite_code": format!("family-{slug}-code") },
                ],
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    admit_by_sso(&d, &id(&r.body), &["employee", "client"]).await;
    let r = admin
        .post(
            &format!("/api/v1/jams/{slug}/sessions"),
            json!({ "title": "Now", "opens_at": now - Duration::hours(1), "closes_at": now + Duration::days(1) }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let session = id(&r.body);
    let r = admin
        .post(&format!("/api/v1/jams/{slug}/schedule"), json!({}))
        .await;
    assert_eq!(r.body["state"], "live", "{}", r.body);
    World {
        node,
        d,
        admin,
        slug: slug.to_owned(),
        session,
        provider: Some(provider),
    }
}

/// Sets these audiences of the jam to admit by single sign-on, in the database.
async fn admit_by_sso(d: &Deployment, jam_id: &str, names: &[&str]) {
    use jam_store::entity::audiences;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let db = open_db(d).await;
    let updated = audiences::Entity::update_many()
        .col_expr(
            audiences::Column::Admission,
            Expr::value(jam_domain::Admission::Sso.as_str()),
        )
        .filter(audiences::Column::JamId.eq(uuid::Uuid::parse_str(jam_id).unwrap()))
        .filter(audiences::Column::Name.is_in(names.iter().copied()))
        .exec(&db)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected, names.len() as u64);
    db.close().await.unwrap();
}

#[actix_rt::test]
async fn signing_in_twice_or_from_two_browsers_gives_one_participant_whose_vote_counts_once() {
    let Some(provider) = Provider::start(0, "a") else {
        return;
    };
    let w = world(provider, "oidc-one-voice").await;
    let start = format!("/api/v1/auth/oidc/start?jam={}&audience=employee", w.slug);

    let mut laptop = Browser::new(&w.node.base);
    let first = laptop.sign_in(&w.d, &start, "alice", Tamper::None).await;
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(
        first.location.as_deref(),
        Some(format!("{}/j/{}", w.node.base, w.slug).as_str()),
        "back to the jam's page"
    );
    assert!(
        !laptop.jar.contains_key("jam_oidc_state"),
        "the state cookie is cleared"
    );
    let me = laptop.me().await;
    assert_eq!(me["kind"], "participant");
    assert_eq!(me["audience"], "employee");
    assert_eq!(me["display_name"], "Alice Martin", "the name claim");
    let alice = id(&me);

    let again = laptop.sign_in(&w.d, &start, "alice", Tamper::None).await;
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(
        id(&laptop.me().await),
        alice,
        "signing in twice: the same participant"
    );

    let mut phone = Browser::new(&w.node.base);
    let other = phone.sign_in(&w.d, &start, "alice", Tamper::None).await;
    assert_eq!(other.status, 303, "{}", other.body);
    assert_eq!(
        id(&phone.me().await),
        alice,
        "another browser: the same participant"
    );

    // Bob posts an idea; Alice votes for it from both browsers: one voice.
    let mut bob = Browser::new(&w.node.base);
    let b = bob
        .sign_in(
            &w.d,
            &format!("/api/v1/auth/oidc/start?jam={}", w.slug),
            "bob",
            Tamper::None,
        )
        .await;
    assert_eq!(b.status, 303, "{}", b.body);
    assert_eq!(
        bob.me().await["display_name"],
        "bob",
        "preferred_username when there is no name"
    );
    let idea = id(&post_idea(&bob.client(), &w.session, "Shared bikes", "Everywhere", json!([])).await);
    for browser in [&laptop, &phone] {
        let r = vote(&browser.client(), &idea, 1).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.body["up"],
            json!(1),
            "the second browser's vote is the same vote: {}",
            r.body
        );
    }
    let r = w.admin.get(&format!("/api/v1/ideas/{idea}")).await;
    assert_eq!(
        (r.body["up"].clone(), r.body["down"].clone()),
        (json!(1), json!(0)),
        "{}",
        r.body
    );
    let stats = w.admin.get(&format!("/api/v1/jams/{}/stats", w.slug)).await;
    assert_eq!(
        stats.body["participants"],
        json!(2),
        "Alice and Bob: {}",
        stats.body
    );
}

#[actix_rt::test]
async fn a_bad_state_a_bad_nonce_and_an_expired_id_token_are_refused_with_a_clear_error() {
    let Some(provider) = Provider::start(0, "a") else {
        return;
    };
    let w = world(provider, "oidc-tamper").await;
    let start = format!("/api/v1/auth/oidc/start?jam={}&audience=employee", w.slug);
    let cases = [
        (Tamper::State, "state does not match"),
        (Tamper::OtherBrowser, "state does not match"),
        // The first callback cleared the browser's state cookie.
        (Tamper::Replay, "state does not match"),
        (Tamper::Nonce, "nonce"),
        (Tamper::Expire, "expired"),
    ];
    for (tamper, says) in cases {
        let mut browser = Browser::new(&w.node.base);
        let answer = browser.sign_in(&w.d, &start, "alice", tamper).await;
        assert_refused(&answer, 403, says);
        if tamper != Tamper::Replay {
            assert!(
                !browser.jar.contains_key("jam_session"),
                "{tamper:?}: nobody is signed in"
            );
        }
    }
    w.d.set_clock(Utc::now());
    // Only the replayed sign-in (whose first callback was good) made a participant.
    let stats = w.admin.get(&format!("/api/v1/jams/{}/stats", w.slug)).await;
    assert_eq!(stats.body["participants"], json!(1), "{}", stats.body);
    // A callback without any state at all.
    let mut browser = Browser::new(&w.node.base);
    let bare = browser
        .get(&format!("{}/api/v1/auth/oidc/callback?code=x", w.node.base))
        .await;
    assert_refused(&bare, 403, "no state");
}

/// (start URL, account) → Ok(audience or role) | Err((status, words of the problem)).
type MappingCase<'a> = (String, &'a str, Result<&'a str, (u16, &'a str)>);
#[actix_rt::test]
async fn the_claim_mapping_table_holds() {
    let Some(provider) = Provider::start(0, "a") else {
        return;
    };
    let w = world(provider, "oidc-mapping").await;
    let jam = |audience: Option<&str>| match audience {
        Some(a) => format!("/api/v1/auth/oidc/start?jam={}&audience={a}", w.slug),
        None => format!("/api/v1/auth/oidc/start?jam={}", w.slug),
    };
    let staff = "/api/v1/auth/oidc/start".to_owned();
    // (start, account) → Ok(audience or role) | Err((status, words of the problem))
    let cases: Vec<MappingCase> = vec![
        (jam(Some("employee")), "alice", Ok("employee")),
        (jam(None), "alice", Ok("employee")),
        // Before Bob is a participant: once he is, any link of the jam gives him back his own
        // participant (one person, one voice), whatever audience it names.
        (
            jam(Some("employee")),
            "bob",
            Err((403, "does not place you in the audience `employee`")),
        ),
        (jam(None), "bob", Ok("client")),
        (jam(Some("client")), "bob", Ok("client")),
        (jam(None), "carol", Err((403, "places you in no audience"))),
        (
            jam(Some("family")),
            "alice",
            Err((403, "not joined by signing in")),
        ),
        (jam(Some("nobody")), "alice", Err((404, "audience"))),
        (staff.clone(), "dana", Ok("admin")),
        (staff.clone(), "hugo", Ok("facilitator")),
        (staff.clone(), "rita", Ok("executive")),
        (staff.clone(), "zed", Err((403, "no staff role"))),
        (staff.clone(), "mallory", Err((409, "exists already"))),
    ];
    for (start, account, want) in cases {
        let mut browser = Browser::new(&w.node.base);
        let answer = browser.sign_in(&w.d, &start, account, Tamper::None).await;
        match want {
            Ok(placed) => {
                assert_eq!(answer.status, 303, "{start} as {account}: {}", answer.body);
                let me = browser.me().await;
                let got = if me["kind"] == "staff" {
                    &me["role"]
                } else {
                    &me["audience"]
                };
                assert_eq!(got, placed, "{start} as {account}: {me}");
            }
            Err((status, says)) => {
                assert_eq!(answer.status, status, "{start} as {account}: {}", answer.body);
                assert_refused(&answer, status, says);
            }
        }
    }
    // The role follows the provider: Dana is still the one admin account, not a second one.
    let staff_list = w.admin.get("/api/v1/me").await;
    assert_eq!(staff_list.body["role"], "admin");
    // Staff password sign-in is off in this deployment: 403 with a clear problem.
    let mut c = Client::new(&w.node.base);
    let r = c.login("dana@example.org", "any password at all").await;
    r.assert_problem(403);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("password sign-in is off"),
        "{}",
        r.body
    );
    // What the web app reads.
    let r = c.get("/api/v1/auth/oidc").await;
    assert_eq!(
        r.body,
        json!({ "organisation_participants": true, "organisation_staff": true, "password": false })
    );
}

#[actix_rt::test]
async fn keys_are_read_again_when_the_provider_rotates_them() {
    let Some(provider) = Provider::start(0, "first") else {
        return;
    };
    let port = provider.port();
    let w = world(provider, "oidc-rotate").await;
    let start = format!("/api/v1/auth/oidc/start?jam={}", w.slug);
    // The provider restarts on its port with a new signing key (another `kid`).
    let mut w = w;
    drop(w.provider.take());
    let Some(rotated) = Provider::start(port, "second") else {
        return;
    };
    let (node, d, admin, slug) = (&w.node, &w.d, &w.admin, &w.slug);
    let mut browser = Browser::new(&node.base);
    // Past the refresh interval by jamd's clock, with the token still fresh.
    let answer = {
        let base = node.base.clone();
        let started = browser.get(&format!("{base}{start}")).await;
        assert_eq!(started.status, 303, "{}", started.body);
        let interaction = browser.get(started.location.as_deref().unwrap()).await;
        let resume = browser
            .get(&format!("{}/login?account=alice", interaction.location.unwrap()))
            .await;
        let back = browser.get(&resume.location.unwrap()).await;
        d.set_clock(Utc::now() + Duration::seconds(40));
        browser.get(&back.location.unwrap()).await
    };
    assert_eq!(
        answer.status, 303,
        "a token signed with the new key is accepted: {}",
        answer.body
    );
    assert_eq!(browser.me().await["audience"], "employee");
    let stats = admin.get(&format!("/api/v1/jams/{slug}/stats")).await;
    assert_eq!(stats.body["participants"], json!(1), "{}", stats.body);
    drop(rotated);
}
