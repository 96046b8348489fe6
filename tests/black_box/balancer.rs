//! A real load balancer in front of the cluster: HAProxy (Debian's package) with `deploy/haproxy.cfg`
//! before two `jamd` nodes on PostgreSQL and Redis. Through it, the per-address limits key on each
//! client's own address (never on the balancer's, never on a header the client forged), and a client
//! whose node is killed reconnects through the same address, lands on the other node and resumes its
//! topic with nothing missed.
//!
//! Runs when PostgreSQL, Redis and `haproxy` are there (skipped with a `SKIPPED:` line otherwise;
//! mandatory with `JAM_TEST_REQUIRE_SERVICES=1`). `JAM_TEST_HAPROXY` names another binary.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

use serde_json::{Value, json};

use crate::cluster::{comment, redis_url};
use crate::fixtures::*;
use crate::support::*;
use crate::ws::*;

/// The `haproxy` binary, or `None` after the skip line (a panic when services are required).
fn haproxy() -> Option<PathBuf> {
    let named = std::env::var_os("JAM_TEST_HAPROXY").map(PathBuf::from);
    let found = named.or_else(|| {
        ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    });
    if found.is_none() {
        jam_testkit::services::skip_or_fail(
            "the HAProxy scenario (apt-get install haproxy)",
            "JAM_TEST_HAPROXY",
        );
    }
    found
}

/// HAProxy with the shipped configuration in front of `nodes`; killed when dropped.
struct Balancer {
    child: Child,
    base: String,
}

impl Balancer {
    async fn start(bin: &Path, dir: &Path, nodes: &[&Node]) -> Balancer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let servers = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("    server node{i} {}\n", n.base.trim_start_matches("http://")))
            .collect::<String>();
        let nodes_cfg = dir.join("haproxy-nodes.cfg");
        std::fs::write(&nodes_cfg, format!("backend jamd\n{servers}")).unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/haproxy.cfg");
        let child = Command::new(bin)
            .arg("-db")
            .arg("-f")
            .arg(&shipped)
            .arg("-f")
            .arg(&nodes_cfg)
            .env("JAM_LB_BIND", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lb = Balancer {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        // Up once it listens, then once it routes a readiness check to a node.
        let listening = eventually(StdDuration::from_secs(20), || async {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok().map(drop)
        })
        .await;
        assert!(listening.is_some(), "HAProxy never listened on port {port}");
        let probe = Client::new(&lb.base);
        let ready = eventually(StdDuration::from_secs(20), || async {
            (probe.get("/readyz").await.status == 200).then_some(())
        })
        .await;
        assert!(ready.is_some(), "HAProxy never answered /readyz on {}", lb.base);
        lb
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn from(address: &str) -> IpAddr {
    address.parse().unwrap()
}

/// A join through the balancer from `address`, as a fresh browser.
async fn join_from(lb: &str, address: &str, slug: &str, code: &str, name: &str) -> (Reply, Client) {
    let mut c = Client::from_address(lb, from(address));
    let r = c
        .post_keep(
            &format!("/api/v1/jams/{slug}/join"),
            json!({ "invite_code": code, "display_name": name, "accept_guidelines": true }),
        )
        .await;
    (r, c)
}

/// Posts a comment, again while the balancer answers 502/503 (it has not yet seen a node die); any
/// other answer ends the attempts.
async fn comment_through(c: &Client, idea: &str, n: u32) -> String {
    let body = json!({ "body": format!("Comment {n}") });
    for _ in 0..100 {
        let r = c
            .post(&format!("/api/v1/ideas/{idea}/comments"), body.clone())
            .await;
        match r.status.as_u16() {
            201 => return id(&r.body),
            502 | 503 => tokio::time::sleep(StdDuration::from_millis(50)).await,
            other => panic!("comment {n}: {other} {}", r.body),
        }
    }
    panic!("comment {n}: the balancer never found a live node")
}

fn offsets(events: &[Value]) -> Vec<(u64, String)> {
    events
        .iter()
        .map(|m| {
            assert_eq!(event_kind(m), "comment.created", "{m}");
            (
                m["offset"].as_u64().unwrap(),
                m["event"]["comment"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[actix_rt::test]
async fn through_haproxy_limits_key_on_each_client_and_a_killed_nodes_client_resumes_on_another() {
    let Some(bin) = haproxy() else { return };
    let Some(redis) = redis_url() else { return };
    let Some(mut d) = Deployment::postgres(t0()).await else {
        return;
    };
    for (k, v) in [
        ("JAM__BROKER__KIND", "redis"),
        ("JAM__BROKER__REDIS_URL", redis.as_str()),
        ("JAM__SERVER__TRUSTED_PROXIES", "127.0.0.1/32"),
        ("JAM__LIMITS__JOINS_PER_ADDRESS_PER_DAY", "2"),
    ] {
        d.extra_env.push((k.into(), v.into()));
    }
    d.create_admin();
    let mut nodes = [Some(d.start().await), Some(d.start().await)];
    let lb = {
        let live: Vec<&Node> = nodes.iter().flatten().collect();
        Balancer::start(&bin, d.dir.path(), &live).await
    };

    let fac = Client::as_new_staff(&lb.base, "facilitator").await;
    let (slug, _jam_id, codes) = create_jam(&fac, "balanced").await;
    let session = add_session(&fac, &slug, "Cities", 0, 24).await;
    let r = fac
        .post(&format!("/api/v1/jams/{slug}/schedule"), json!({}))
        .await;
    assert_eq!(r.body["state"], "live", "{}", r.body);
    let code = &codes[0].1;

    // 1. Every client reaches the nodes from the balancer's address; the cap still counts per client.
    for name in ["Office 1", "Office 2"] {
        let (r, _) = join_from(&lb.base, "127.0.0.2", &slug, code, name).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    join_from(&lb.base, "127.0.0.2", &slug, code, "Office 3")
        .await
        .0
        .assert_problem(429);
    // The balancer appends the address it saw: a hop the client forged on the left changes nothing.
    let mut forged = Client::from_address(&lb.base, from("127.0.0.2"));
    forged.forwarded_for = Some("198.51.100.77".into());
    forged
        .post_keep(
            &format!("/api/v1/jams/{slug}/join"),
            json!({ "invite_code": code, "display_name": "Forger", "accept_guidelines": true }),
        )
        .await
        .assert_problem(429);
    // Another client behind the same balancer is not held up.
    let (r, ada) = join_from(&lb.base, "127.0.0.3", &slug, code, "Ada").await;
    assert_eq!(r.status, 201, "{}", r.body);

    // 2. Ada's live socket goes through the balancer to one node; that node is killed.
    let idea = id(&post_idea(&ada, &session, "Balanced", "Seen through HAProxy", json!([])).await);
    let topic = format!("idea:{idea}");
    let mut live = LiveClient::connect(&ada).await;
    let sub = live.subscribe(&topic, None).await;
    assert_eq!(sub["type"], "subscribed", "{sub}");
    let epoch = sub["epoch"].as_str().unwrap().to_owned();
    let start = sub["offset"].as_u64().unwrap();
    let first = comment(&ada, &idea, 1).await;
    let m = live
        .recv_until(|m| m["topic"] == topic && m["type"] == "event")
        .await;
    assert_eq!(offsets(&[m]), [(start + 1, first)]);
    let mut holder = None;
    for (i, node) in nodes.iter().enumerate() {
        if node.as_ref().unwrap().metric("jam_live_connections").await == 1 {
            holder = Some(i);
        }
    }
    let holder = holder.expect("one node holds Ada's socket");
    nodes[holder].take().unwrap().kill();
    let survivor = nodes.iter().flatten().next().unwrap();

    // 3. Meanwhile the thread goes on, through the balancer (now on the survivor).
    let missed = [
        comment_through(&ada, &idea, 2).await,
        comment_through(&ada, &idea, 3).await,
    ];

    // 4. Ada reconnects to the same address and resumes: exactly what she missed.
    let mut again = None;
    for _ in 0..100 {
        match LiveClient::try_connect(&ada, Some(ORIGIN)).await {
            Ok(c) => {
                again = Some(c);
                break;
            }
            Err(502 | 503) => tokio::time::sleep(StdDuration::from_millis(50)).await,
            Err(status) => panic!("reconnect refused: {status}"),
        }
    }
    let mut again = again.expect("the balancer never routed the reconnect to a live node");
    let (replay, subscribed) = again.resume(&topic, start + 1, &epoch).await;
    assert_eq!(
        offsets(&replay),
        [(start + 2, missed[0].clone()), (start + 3, missed[1].clone())]
    );
    assert_eq!(subscribed["offset"], start + 3, "{subscribed}");
    assert_eq!(survivor.metric("jam_live_connections").await, 1);
}
