//! The load generator against a real jamd at a tiny scale: every event reaches every connection,
//! in order, and the summary says so. No timing is asserted.

use chrono::Utc;
use jam_loadgen::net::Sources;

use crate::support::*;
use crate::ws::ORIGIN;

#[actix_rt::test]
async fn a_small_load_run_delivers_every_event_to_every_connection_without_gaps() {
    // The file clock stands still at the real "now", so the jam the load generator schedules around
    // its own clock is live on the server.
    let mut d = Deployment::sqlite(Utc::now());
    d.extra_env
        .push(("JAM__RATE_LIMITS__IDEAS__COUNT".into(), "100000".into()));
    d.create_admin();
    let node = d.start().await;
    let addr = node.base.trim_start_matches("http://").parse().unwrap();

    let opts = jam_loadgen::Options {
        label: "smoke".into(),
        nodes: vec![addr],
        drive_nodes: vec![],
        origin: ORIGIN.into(),
        staff_email: ADMIN_EMAIL.into(),
        staff_password: ADMIN_PASSWORD.into(),
        fixture: None,
        vote_ideas: 0,
        connections: 50,
        participants: 5,
        sources: Sources { first: 2, count: 4 },
        connect_concurrency: 16,
        read_buffer: 4096,
        start_at_unix_ms: None,
        start_file: None,
        idle_secs: 0.2,
        event_rates: vec![10.0],
        phase_secs: 2.0,
        // Generous: the phase's deliveries only have to arrive before the report is taken.
        drain_secs: 5.0,
        drain_max_secs: 30.0,
        vote_rate: 0.0,
        abuse_rate: 0.0,
        abuse_secs: 2.0,
        drive: true,
        http_clients: 4,
        server_pids: vec![],
        cpu_of: vec![],
        max_secs: 120.0,
        probe_every: 1,
        progress: false,
    };
    // Its own runtime on its own thread, as the binary runs it.
    let report = std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(jam_loadgen::run(opts))
    })
    .join()
    .unwrap()
    .unwrap();

    assert_eq!(report.connected, 50, "{:?}", report.connect_errors);
    let broadcast = report.phases.iter().find(|p| p.kind == "broadcast").unwrap();
    assert_eq!(broadcast.subscribers, 50);
    assert_eq!(broadcast.sent, 20);
    assert_eq!(broadcast.sent_ok, 20, "{:?}", broadcast.send_failed);
    assert_eq!(broadcast.expected, 20 * 50);
    assert_eq!(
        broadcast.delivered, broadcast.expected,
        "every event reaches every connection"
    );
    assert_eq!(broadcast.gaps, 0);
    assert_eq!(broadcast.missing, 0);
    assert_eq!(broadcast.duplicates, 0);
    assert_eq!(broadcast.resyncs, 0);
    assert_eq!(broadcast.latency.count, broadcast.delivered);
    assert!(broadcast.closes.is_empty(), "{:?}", broadcast.closes);

    let summary = jam_loadgen::report::summary(&report);
    assert!(summary.contains("broadcast 10/s"), "{summary}");
    assert!(summary.contains("50 of 50 connections"), "{summary}");
}
