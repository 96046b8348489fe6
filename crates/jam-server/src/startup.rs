//! Builds the application from settings: database, broker, clock, schedule runner, HTTP server.
//! `main` stays tiny; tests bind port 0 through the same path.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use jam_broker::{BrokerKind, BrokerSettings as BrokerConfig};
use jam_store::DbSettings;
use sea_orm::DatabaseConnection;

use crate::metrics::Metrics;
use crate::settings::{BrokerKindSetting, Settings};
use crate::state::AppState;
use crate::{clock, routes, web_app};

/// A bound, not yet running server and the background work that goes with it.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

/// Connects to the database named by the settings (creating a SQLite file if needed).
pub async fn connect_db(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let db = &settings.database;
    jam_store::connect(&DbSettings {
        url: db.url.expose().to_owned(),
        max_connections: db.max_connections,
        min_connections: db.min_connections,
        connect_timeout: Duration::from_secs(db.connect_timeout_secs),
        sqlite_busy_timeout: Duration::from_millis(db.sqlite_busy_timeout_ms),
    })
    .await
    .context("cannot open the database (database.url)")
}

/// Connects to the broker named by the settings (memory or Redis).
pub async fn connect_broker(settings: &Settings) -> anyhow::Result<Arc<dyn jam_broker::Broker>> {
    let broker_kind = match settings.broker.kind {
        BrokerKindSetting::Memory => BrokerKind::Memory,
        BrokerKindSetting::Redis => BrokerKind::Redis {
            url: settings.broker.redis_url.expose().to_owned(),
        },
    };
    jam_broker::connect(
        &broker_kind,
        BrokerConfig {
            history_size: settings.broker.history_size,
            history_ttl: Duration::from_secs(settings.broker.history_ttl_hours * 3600),
        },
    )
    .await
    .context("cannot reach the broker (broker.kind / broker.redis_url)")
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = connect_db(&settings).await?;
        if settings.database.migrate_on_start {
            jam_store::migrate(&db).await.context("migrating the database")?;
        }
        let broker = connect_broker(&settings).await?;
        let clock = clock::from_settings(&settings.clock);
        let listener = TcpListener::bind(settings.server.bind)
            .with_context(|| format!("cannot listen on {} (server.bind)", settings.server.bind))?;
        let port = listener.local_addr()?.port();
        let ops_listener = match settings.server.ops_bind.as_str() {
            "" => None,
            addr => Some(
                TcpListener::bind(addr)
                    .with_context(|| format!("cannot listen on {addr} (server.ops_bind)"))?,
            ),
        };
        let ops_port = ops_listener
            .as_ref()
            .map(|l| l.local_addr())
            .transpose()?
            .map(|a| a.port());
        crate::hashing::init(settings.auth.hash_concurrency);

        let votes = jam_store::vote_writer::VoteWriter::start(
            db.clone(),
            jam_store::vote_writer::VoteWriterSettings {
                batch_max: settings.votes.batch_max,
                batch_linger: Duration::from_micros(settings.votes.batch_linger_us),
                queue_capacity: settings.votes.queue_capacity,
                writers: settings.votes.postgres_writers,
                wait_budget: Duration::from_millis(settings.votes.wait_budget_ms),
            },
        );
        let impressions = jam_store::impressions::ImpressionWriter::start(
            db.clone(),
            jam_store::impressions::ImpressionWriterSettings {
                batch_max: settings.impressions.batch_max,
                queue_capacity: settings.impressions.queue_capacity,
            },
        );
        let node_id = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        let hub = jam_hub::Hub::new(
            broker.clone(),
            Arc::new(crate::live::DbAuthorizer::new(db.clone(), clock.clone())),
            crate::live::hub_settings(&settings, &node_id),
        );
        let signins = Arc::new(crate::signins::SignInCache::new(Duration::from_secs(
            settings.auth.cache_secs,
        )));
        crate::signins::listen(signins.clone(), &hub, broker.as_ref()).await?;
        let login_backoff = Arc::new(crate::login_backoff::LoginBackoff::new(
            crate::login_backoff::BackoffPolicy {
                free_failures: settings.auth.login_failures_free,
                base_secs: settings.auth.login_backoff_secs,
                max_secs: settings.auth.login_backoff_max_secs,
            },
        ));
        let oidc = settings.oidc.enabled.then(|| {
            Arc::new(crate::oidc::Oidc::new(
                settings.oidc.clone(),
                &settings.server.public_origin,
                clock.clone(),
            ))
        });
        let state = AppState {
            oidc,
            hub,
            node_id,
            settings: Arc::new(settings),
            db,
            broker,
            clock,
            metrics: Arc::new(Metrics::default()),
            orchestrator: jam_orchestrator::Handle::default(),
            tally: jam_tally::ticker::Handle::default(),
            limiter: Arc::new(crate::rate_limit::RateLimiter::default()),
            login_backoff,
            votes,
            impressions,
            jams: Arc::default(),
            signins,
            readiness: Arc::default(),
        };
        let server = http_server(state.clone(), listener, ops_listener)?;
        if let Some(ops_port) = ops_port {
            tracing::info!(ops_port, "operations endpoints listening");
        }
        Ok(Self { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM (actix handles both: stop accepting, finish in-flight requests
    /// within `server.shutdown_timeout_secs`), then stops the schedule runner and drains the vote
    /// writer.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let runner = self.state.settings.orchestrator.enabled.then(|| {
            let settings = &self.state.settings.orchestrator;
            let orchestrator = jam_orchestrator::Orchestrator::new(
                self.state.db.clone(),
                self.state.broker.clone(),
                self.state.clock.clone(),
                jam_orchestrator::OrchestratorConfig {
                    node_id: self.state.node_id.clone(),
                    tick: Duration::from_millis(settings.tick_ms),
                    claim_timeout: Duration::from_secs(settings.claim_timeout_secs),
                },
                self.state.orchestrator.clone(),
            );
            tokio::spawn(orchestrator.run(async move {
                let _ = stop_rx.await;
            }))
        });
        // Every node runs the sign-in purge; the broker lease lets one of them purge per interval.
        let (purge_stop_tx, purge_stop_rx) = tokio::sync::oneshot::channel::<()>();
        let purge = tokio::spawn(
            crate::purge::Purger {
                db: self.state.db.clone(),
                broker: self.state.broker.clone(),
                clock: self.state.clock.clone(),
                node_id: self.state.node_id.clone(),
                interval: Duration::from_secs(self.state.settings.auth.purge_interval_secs),
            }
            .run(async move {
                let _ = purge_stop_rx.await;
            }),
        );
        // Every node runs the tally ticker; the broker lease lets one of them publish per tick.
        let (tally_stop_tx, tally_stop_rx) = tokio::sync::oneshot::channel::<()>();
        let tally = tokio::spawn(
            jam_tally::ticker::TallyTicker::new(
                self.state.db.clone(),
                self.state.broker.clone(),
                jam_tally::ticker::TallyConfig {
                    node_id: self.state.node_id.clone(),
                    tick: Duration::from_millis(self.state.settings.tally.tick_ms),
                },
                self.state.tally.clone(),
            )
            .run(async move {
                let _ = tally_stop_rx.await;
            }),
        );
        // Every node runs the mood alert; the broker lease lets one of them evaluate per tick.
        let (mood_stop_tx, mood_stop_rx) = tokio::sync::oneshot::channel::<()>();
        let pulse = &self.state.settings.pulse;
        let mood = tokio::spawn(
            crate::mood_alert::MoodAlert::new(
                self.state.db.clone(),
                self.state.broker.clone(),
                self.state.clock.clone(),
                crate::mood_alert::AlertConfig {
                    node_id: self.state.node_id.clone(),
                    tick: Duration::from_millis(pulse.alert_tick_ms),
                    share: pulse.negative_alert_share,
                    window_minutes: pulse.alert_window_minutes,
                    min_posts: pulse.alert_min_posts,
                },
            )
            .run(async move {
                let _ = mood_stop_rx.await;
            }),
        );
        // Every node runs the themes job; the broker lease lets one of them re-cluster per interval.
        let (themes_stop_tx, themes_stop_rx) = tokio::sync::oneshot::channel::<()>();
        let themes = tokio::spawn(
            crate::themes_job::ThemesJob::new(
                self.state.db.clone(),
                self.state.broker.clone(),
                self.state.clock.clone(),
                crate::themes_job::JobConfig {
                    node_id: self.state.node_id.clone(),
                    every: Duration::from_secs(pulse.themes_every_secs),
                    clustering: jam_pulse::themes::Config::default(),
                },
            )
            .run(async move {
                let _ = themes_stop_rx.await;
            }),
        );
        tracing::info!(port = self.port, "jamd listening");
        let handle = self.server.handle();
        let mut server = std::pin::pin!(self.server);
        let served = tokio::select! {
            served = &mut server => served,
            () = shutdown_signal() => {
                tracing::info!("shutting down: closing live connections (1001), then finishing requests");
                self.state.hub.shutdown().await;
                // The server future processes the stop command, so both are polled together.
                let ((), served) = tokio::join!(handle.stop(true), &mut server);
                served
            }
        };
        let _ = stop_tx.send(());
        let _ = tally_stop_tx.send(());
        let _ = purge_stop_tx.send(());
        let _ = purge.await;
        if let Some(runner) = runner {
            let _ = runner.await;
        }
        let _ = tally.await;
        let _ = mood_stop_tx.send(());
        let _ = mood.await;
        let _ = themes_stop_tx.send(());
        let _ = themes.await;
        // Every vote already accepted is written and answered before the pool closes.
        self.state.votes.shutdown().await;
        self.state.db.close_by_ref().await.ok();
        tracing::info!("jamd stopped");
        served.context("HTTP server failed")
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops jamd");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

fn http_server(
    state: AppState,
    listener: TcpListener,
    ops_listener: Option<TcpListener>,
) -> anyhow::Result<Server> {
    let workers = match state.settings.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let shutdown = state.settings.server.shutdown_timeout_secs;
    let connections =
        crate::guard::Connections::new(&state.settings, state.limiter.clone(), state.clock.clone());
    let ops = web::Data::new(crate::guard::OpsListener(
        ops_listener.as_ref().and_then(|l| l.local_addr().ok()),
    ));
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(ops.clone())
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|err, _| crate::error::ApiError::invalid("query", err.to_string()).into()),
            )
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| crate::error::ApiError::not_found("resource").into()),
            )
            .wrap(from_fn(crate::guard::guard))
            .configure(routes::operations)
            .configure(routes::api)
            .configure(web_app::routes)
            .default_service(web::to(crate::methods::not_routed))
    })
    .on_connect(move |io, extensions| {
        if let Some(tcp) = io.downcast_ref::<actix_web::rt::net::TcpStream>()
            && let Ok(peer) = tcp.peer_addr()
        {
            connections.opened(peer.ip(), extensions);
        }
    })
    .workers(workers)
    // actix-http keeps a grown write buffer (up to 128 KiB) on each connection; live connections
    // write many small frames, so a small buffer caps what a slow reader leaves behind (the hub
    // coalesces into frames of at most this size). Larger response chunks are still written whole.
    .h1_write_buffer_size(jam_hub::MAX_BATCH_BYTES)
    // Live frames are small and must not wait for the previous segment's ACK (Nagle's algorithm).
    .tcp_nodelay(true)
    // Signals are handled in `run_until_stopped`, so live connections are told to go elsewhere first.
    .disable_signals()
    .shutdown_timeout(shutdown)
    .listen(listener)?;
    if let Some(ops) = ops_listener {
        server = server.listen(ops)?;
    }
    Ok(server.run())
}
