#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The schema on both backends: migrations go up, down and up again; SQLite's per-connection
//! settings hold on every pooled connection; unique keys, foreign keys and checks hold; and every
//! entity reads back exactly what it wrote.
//!
//! Every check is one function taking a `DatabaseConnection`, run once on a temporary SQLite
//! file and once on a fresh PostgreSQL database (when `JAM_TEST_DATABASE_URL` is set).

use std::time::Duration;

use chrono::{DateTime, Utc};
use jam_migrations::{Migrator, MigratorTrait};
use jam_store::entity::{
    announcements, audiences, audit_log, auth_sessions, comments, flags, ideas, jams, participants, sessions,
    shortlist_curation, shortlist_snapshots, staff, tally_leaves, transitions, votes,
};
use jam_store::{DbSettings, StoreError, is_foreign_key_violation, is_unique_violation, testing};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    IntoActiveModel, ModelTrait, PaginatorTrait, QueryFilter, Statement, TransactionTrait, prelude::*,
};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Databases

/// A migrated database and what to clean up after it.
struct TestDb {
    db: DatabaseConnection,
    url: String,
    /// Keeps the SQLite file's folder alive; None for PostgreSQL.
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    async fn finish(self) {
        let is_postgres = self.db.get_database_backend() == DbBackend::Postgres;
        self.db.close().await.unwrap();
        if is_postgres {
            testing::drop_database(&self.url).await;
        }
    }
}

fn settings(url: &str, max_connections: u32) -> DbSettings {
    DbSettings {
        url: url.to_owned(),
        max_connections,
        min_connections: 1,
        connect_timeout: Duration::from_secs(10),
        sqlite_busy_timeout: Duration::from_millis(5000),
    }
}

/// An empty, unmigrated SQLite database in a temporary folder (the file does not exist yet).
async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("jam.db").display());
    let db = jam_store::connect(&settings(&url, 4)).await.unwrap();
    TestDb {
        db,
        url,
        _dir: Some(dir),
    }
}

/// An empty, unmigrated PostgreSQL database of its own, or None (skipped).
async fn postgres() -> Option<TestDb> {
    let url = testing::fresh_postgres_url_for("PostgreSQL schema tests").await?;
    let db = jam_store::connect(&settings(&url, 4)).await.unwrap();
    Some(TestDb { db, url, _dir: None })
}

async fn migrated(test_db: TestDb) -> TestDb {
    jam_store::migrate(&test_db.db).await.unwrap();
    test_db
}

const TABLES: [&str; 19] = [
    "announcements",
    "audiences",
    "audit_log",
    "auth_sessions",
    "comments",
    "flags",
    "ideas",
    "jams",
    "join_counts",
    "participants",
    "sessions",
    "shortlist_curation",
    "shortlist_snapshots",
    "staff",
    "tally_deployment",
    "tally_dirty",
    "tally_leaves",
    "transitions",
    "votes",
];

/// Names of the application's tables, sorted (sea-orm's own `seaql_migrations` left out).
async fn table_names(db: &DatabaseConnection) -> Vec<String> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        _ => "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'",
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    let mut names: Vec<String> = rows
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .filter(|name| name != "seaql_migrations")
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------------
// Fixture

/// Now, truncated to microseconds (PostgreSQL's precision), so round trips compare equal.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

fn id() -> Uuid {
    Uuid::now_v7()
}

async fn insert<A>(db: &impl ConnectionTrait, active: A) -> Result<(), DbErr>
where
    A: ActiveModelTrait,
{
    <A::Entity as EntityTrait>::insert(active)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// One of each row a jam needs, written through the entities.
struct Fixture {
    staff: staff::Model,
    jam: jams::Model,
    audience: audiences::Model,
    session: sessions::Model,
    participant: participants::Model,
    idea: ideas::Model,
}

fn staff_row(email: &str) -> staff::Model {
    staff::Model {
        id: id(),
        email: email.to_owned(),
        display_name: "Fran Facilitator".into(),
        role: "facilitator".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_at: now(),
    }
}

fn jam_row(slug: &str, created_by: Option<Uuid>) -> jams::Model {
    let t = now();
    jams::Model {
        id: id(),
        slug: slug.to_owned(),
        title: "Future of work".into(),
        description: "Three days of ideas.\nÜnïcødé welcome.".into(),
        guidelines: "Be kind.".into(),
        starts_at: t,
        ends_at: t + chrono::Duration::hours(72),
        scheduled_at: Some(t),
        closed_at: None,
        published_at: None,
        voting_method: jam_domain::ranking::Method::Wilson,
        shortlist_size: 10,
        created_by,
        created_at: t,
        updated_at: t,
        parts_rev: 0,
    }
}

fn audience_row(jam_id: Uuid, name: &str, code: &str) -> audiences::Model {
    audiences::Model {
        id: id(),
        jam_id,
        name: name.into(),
        invite_code: code.into(),
        position: 0,
    }
}

/// Another idea in the fixture's session by its participant.
fn idea_row(f: &Fixture) -> ideas::Model {
    new_idea(f.jam.id, f.session.id, f.participant.id)
}

fn new_idea(jam_id: Uuid, session_id: Uuid, author_id: Uuid) -> ideas::Model {
    let t = now();
    ideas::Model {
        id: id(),
        jam_id,
        session_id,
        author_id,
        title: "Four-day week".into(),
        body: "Try it for a quarter.".into(),
        tags: r#"["time","pilot"]"#.into(),
        search_text: "four-day week try it for a quarter. time pilot".into(),
        status: jam_domain::ItemStatus::Visible,
        merged_into: None,
        up: 0,
        down: 0,
        voters: 0,
        comments: 0,
        flags: 0,
        votes_rev: 0,
        created_at: t,
        updated_at: t,
        edited_at: None,
    }
}

fn vote_row(f: &Fixture, value: i16) -> votes::Model {
    let t = now();
    votes::Model {
        idea_id: f.idea.id,
        participant_id: f.participant.id,
        jam_id: f.jam.id,
        audience_id: f.audience.id,
        value,
        created_at: t,
        updated_at: t,
    }
}

fn flag_row(f: &Fixture) -> flags::Model {
    flags::Model {
        id: id(),
        jam_id: f.jam.id,
        participant_id: f.participant.id,
        target_kind: "idea".into(),
        target_id: f.idea.id,
        reason: "off topic".into(),
        created_at: now(),
    }
}

async fn seed(db: &DatabaseConnection, slug: &str) -> Fixture {
    let staff = staff_row(&format!("fran+{slug}@example.org"));
    insert(db, staff.clone().into_active_model()).await.unwrap();
    let jam = jam_row(slug, Some(staff.id));
    insert(db, jam.clone().into_active_model()).await.unwrap();
    let audience = audience_row(jam.id, "employee", &format!("code-{slug}"));
    insert(db, audience.clone().into_active_model()).await.unwrap();
    let t = now();
    let session = sessions::Model {
        id: id(),
        jam_id: jam.id,
        title: "Time".into(),
        description: "How we spend it.".into(),
        opens_at: t,
        closes_at: t + chrono::Duration::hours(24),
        manual_state: Some("open".into()),
        manual_at: Some(t),
        created_at: t,
        updated_at: t,
    };
    insert(db, session.clone().into_active_model()).await.unwrap();
    let participant = participants::Model {
        id: id(),
        jam_id: jam.id,
        audience_id: audience.id,
        display_name: "Pat".into(),
        locale: Some("fr-CH".into()),
        accepted_guidelines_at: t,
        created_at: t,
    };
    insert(db, participant.clone().into_active_model()).await.unwrap();
    let idea = new_idea(jam.id, session.id, participant.id);
    insert(db, idea.clone().into_active_model()).await.unwrap();
    Fixture {
        staff,
        jam,
        audience,
        session,
        participant,
        idea,
    }
}

// ---------------------------------------------------------------------------------------------
// Checks, each run on both backends

async fn check_migrations_go_up_down_and_up_again(db: &DatabaseConnection) {
    jam_store::migrate(db).await.unwrap();
    assert_eq!(table_names(db).await, TABLES);
    // Running it again is a no-op.
    jam_store::migrate(db).await.unwrap();

    Migrator::down(db, None).await.unwrap();
    assert!(table_names(db).await.is_empty(), "down leaves no table behind");

    Migrator::up(db, None).await.unwrap();
    assert_eq!(table_names(db).await, TABLES);
    // The re-created schema is usable, including with data in it.
    let fixture = seed(db, "again").await;
    assert_eq!(jams::Entity::find().count(db).await.unwrap(), 1);

    // And `down` also works with rows in every table a jam uses.
    insert(db, vote_row(&fixture, 1).into_active_model())
        .await
        .unwrap();
    Migrator::down(db, None).await.unwrap();
    assert!(table_names(db).await.is_empty());
}

async fn check_concurrent_migrations_apply_once(url: &str) {
    // Three "nodes" starting at once against the same empty database.
    let mut tasks = Vec::new();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let node = jam_store::connect(&settings(url, 2)).await.unwrap();
        nodes.push(node.clone());
        tasks.push(tokio::spawn(async move { jam_store::migrate(&node).await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(table_names(&nodes[0]).await, TABLES);
    for node in nodes {
        node.close().await.unwrap();
    }
}

async fn check_every_entity_reads_back_what_it_wrote(db: &DatabaseConnection) {
    let f = seed(db, "roundtrip").await;
    assert_eq!(
        staff::Entity::find_by_id(f.staff.id).one(db).await.unwrap(),
        Some(f.staff.clone())
    );
    assert_eq!(
        jams::Entity::find_by_id(f.jam.id).one(db).await.unwrap(),
        Some(jams::Model {
            parts_rev: 2, // the triggers counted the seed's audience and session
            ..f.jam.clone()
        })
    );
    assert_eq!(
        audiences::Entity::find_by_id(f.audience.id)
            .one(db)
            .await
            .unwrap(),
        Some(f.audience.clone())
    );
    assert_eq!(
        sessions::Entity::find_by_id(f.session.id).one(db).await.unwrap(),
        Some(f.session.clone())
    );
    assert_eq!(
        participants::Entity::find_by_id(f.participant.id)
            .one(db)
            .await
            .unwrap(),
        Some(f.participant.clone())
    );
    assert_eq!(
        ideas::Entity::find_by_id(f.idea.id).one(db).await.unwrap(),
        Some(f.idea.clone())
    );

    let t = now();
    let auth = auth_sessions::Model {
        id: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        staff_id: None,
        participant_id: Some(f.participant.id),
        created_at: t,
        expires_at: t + chrono::Duration::hours(336),
    };
    insert(db, auth.clone().into_active_model()).await.unwrap();
    assert_eq!(
        auth_sessions::Entity::find_by_id(auth.id.clone())
            .one(db)
            .await
            .unwrap(),
        Some(auth)
    );

    let mut merged = idea_row(&f);
    merged.status = jam_domain::ItemStatus::Merged;
    merged.merged_into = Some(f.idea.id);
    merged.up = 3;
    merged.down = 1;
    merged.voters = 4;
    merged.comments = 2;
    merged.flags = 1;
    merged.edited_at = Some(t);
    insert(db, merged.clone().into_active_model()).await.unwrap();
    assert_eq!(
        ideas::Entity::find_by_id(merged.id).one(db).await.unwrap(),
        Some(merged)
    );

    let comment = comments::Model {
        id: id(),
        jam_id: f.jam.id,
        idea_id: f.idea.id,
        parent_id: None,
        author_id: f.participant.id,
        body: "Yes, and measure it.".into(),
        status: jam_domain::ItemStatus::Visible,
        flags: 0,
        created_at: t,
        updated_at: t,
    };
    insert(db, comment.clone().into_active_model()).await.unwrap();
    let reply = comments::Model {
        id: id(),
        parent_id: Some(comment.id),
        ..comment.clone()
    };
    insert(db, reply.clone().into_active_model()).await.unwrap();
    assert_eq!(
        comments::Entity::find_by_id(comment.id).one(db).await.unwrap(),
        Some(comment.clone())
    );
    assert_eq!(
        comments::Entity::find_by_id(reply.id).one(db).await.unwrap(),
        Some(reply)
    );

    let vote = vote_row(&f, -1);
    insert(db, vote.clone().into_active_model()).await.unwrap();
    assert_eq!(
        votes::Entity::find_by_id((vote.idea_id, vote.participant_id))
            .one(db)
            .await
            .unwrap(),
        Some(vote.clone())
    );

    let flag = flag_row(&f);
    insert(db, flag.clone().into_active_model()).await.unwrap();
    assert_eq!(
        flags::Entity::find_by_id(flag.id).one(db).await.unwrap(),
        Some(flag)
    );

    let announcement = announcements::Model {
        id: id(),
        jam_id: f.jam.id,
        author_id: Some(f.staff.id),
        text: "Session 2 opens at noon.".into(),
        created_at: t,
    };
    insert(db, announcement.clone().into_active_model())
        .await
        .unwrap();
    assert_eq!(
        announcements::Entity::find_by_id(announcement.id)
            .one(db)
            .await
            .unwrap(),
        Some(announcement)
    );

    let audit = audit_log::Model {
        id: id(),
        jam_id: Some(f.jam.id),
        actor_kind: "staff".into(),
        actor_id: Some(f.staff.id),
        action: "session.open".into(),
        subject_kind: "session".into(),
        subject_id: Some(f.session.id),
        detail: r#"{"reason":"early start"}"#.into(),
        at: t,
    };
    insert(db, audit.clone().into_active_model()).await.unwrap();
    assert_eq!(
        audit_log::Entity::find_by_id(audit.id).one(db).await.unwrap(),
        Some(audit)
    );

    let transition = transitions::Model {
        id: id(),
        jam_id: f.jam.id,
        subject_kind: "session".into(),
        subject_id: f.session.id,
        seq: 1,
        from_state: "scheduled".into(),
        to_state: "open".into(),
        at: t,
        cause: "schedule".into(),
        recorded_at: t,
        published_at: Some(t),
        claimed_by: Some("node-a".into()),
        claimed_at: Some(t),
    };
    insert(db, transition.clone().into_active_model()).await.unwrap();
    assert_eq!(
        transitions::Entity::find_by_id(transition.id)
            .one(db)
            .await
            .unwrap(),
        Some(transition)
    );

    let curation = shortlist_curation::Model {
        id: id(),
        jam_id: f.jam.id,
        idea_id: f.idea.id,
        action: "pin".into(),
        reason: "board priority".into(),
        staff_id: Some(f.staff.id),
        created_at: t,
    };
    insert(db, curation.clone().into_active_model()).await.unwrap();
    assert_eq!(
        shortlist_curation::Entity::find_by_id(curation.id)
            .one(db)
            .await
            .unwrap(),
        Some(curation)
    );

    let snapshot = shortlist_snapshots::Model {
        id: id(),
        jam_id: f.jam.id,
        method: "wilson".into(),
        params: r#"{"z":1.96}"#.into(),
        computed_at: t,
        published_at: t,
        published_by: Some(f.staff.id),
        digest: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
        items: "[]".into(),
    };
    insert(db, snapshot.clone().into_active_model()).await.unwrap();
    assert_eq!(
        shortlist_snapshots::Entity::find_by_id(snapshot.id)
            .one(db)
            .await
            .unwrap(),
        Some(snapshot)
    );

    // The relations the queries use.
    let (idea, session) = ideas::Entity::find_by_id(f.idea.id)
        .find_also_related(sessions::Entity)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((idea.id, session.map(|s| s.id)), (f.idea.id, Some(f.session.id)));
    let author = f.idea.find_related(participants::Entity).one(db).await.unwrap();
    assert_eq!(author.map(|p| p.id), Some(f.participant.id));
    assert_eq!(f.jam.find_related(sessions::Entity).count(db).await.unwrap(), 1);
    assert_eq!(f.jam.find_related(audiences::Entity).count(db).await.unwrap(), 1);
    assert_eq!(f.idea.find_related(comments::Entity).count(db).await.unwrap(), 2);
    assert_eq!(
        comment
            .find_related(ideas::Entity)
            .one(db)
            .await
            .unwrap()
            .map(|i| i.id),
        Some(f.idea.id)
    );
    assert_eq!(
        vote.find_related(ideas::Entity)
            .one(db)
            .await
            .unwrap()
            .map(|i| i.id),
        Some(f.idea.id)
    );
}

async fn check_column_defaults_apply(db: &DatabaseConnection) {
    let f = seed(db, "defaults").await;
    let t = now();
    let idea_id = id();
    // Status and counters left out: the database fills them in.
    insert(
        db,
        ideas::ActiveModel {
            id: Set(idea_id),
            jam_id: Set(f.jam.id),
            session_id: Set(f.session.id),
            author_id: Set(f.participant.id),
            title: Set("Defaults".into()),
            body: Set(String::new()),
            tags: Set("[]".into()),
            search_text: Set("defaults".into()),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let idea = ideas::Entity::find_by_id(idea_id).one(db).await.unwrap().unwrap();
    assert_eq!(idea.status, jam_domain::ItemStatus::Visible);
    assert_eq!(
        (idea.up, idea.down, idea.voters, idea.comments, idea.flags),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(idea.edited_at, None);
}

async fn check_unique_keys_hold(db: &DatabaseConnection) {
    let f = seed(db, "unique").await;

    // One vote per participant per idea: the second insert is a unique violation...
    insert(db, vote_row(&f, 1).into_active_model()).await.unwrap();
    let err = insert(db, vote_row(&f, -1).into_active_model())
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "second vote: {err}");
    assert!(!is_foreign_key_violation(&err));
    assert!(StoreError::from(err).is_unique_violation());
    // ...also inside a transaction (the vote writer's path).
    let txn = db.begin().await.unwrap();
    let err = insert(&txn, vote_row(&f, 1).into_active_model())
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "second vote in a transaction: {err}");
    txn.rollback().await.unwrap();
    // Changing a vote is an update of the same row.
    let mut change = vote_row(&f, -1).into_active_model();
    change.reset(votes::Column::Value);
    votes::Entity::update(change).exec(db).await.unwrap();
    let stored = votes::Entity::find_by_id((f.idea.id, f.participant.id))
        .one(db)
        .await
        .unwrap();
    assert_eq!(stored.map(|v| v.value), Some(-1));

    let err = insert(db, jam_row("unique", None).into_active_model())
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "duplicate slug: {err}");

    insert(db, flag_row(&f).into_active_model()).await.unwrap();
    let err = insert(db, flag_row(&f).into_active_model()).await.unwrap_err();
    assert!(is_unique_violation(&err), "duplicate flag: {err}");
    // The key includes the kind: the same participant may flag a comment that has the same id.
    let other_kind = flags::Model {
        target_kind: "comment".into(),
        ..flag_row(&f)
    };
    insert(db, other_kind.into_active_model()).await.unwrap();

    let err = insert(db, staff_row(&f.staff.email).into_active_model())
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "duplicate staff email: {err}");

    let err = insert(
        db,
        audience_row(f.jam.id, "employee", "another-code").into_active_model(),
    )
    .await
    .unwrap_err();
    assert!(
        is_unique_violation(&err),
        "duplicate audience name in a jam: {err}"
    );
    let other_jam = jam_row("unique-2", None);
    insert(db, other_jam.clone().into_active_model()).await.unwrap();
    insert(
        db,
        audience_row(other_jam.id, "employee", "code-unique-2").into_active_model(),
    )
    .await
    .unwrap();
    let err = insert(
        db,
        audience_row(other_jam.id, "client", &f.audience.invite_code).into_active_model(),
    )
    .await
    .unwrap_err();
    assert!(
        is_unique_violation(&err),
        "invite codes are unique across jams: {err}"
    );

    let transition = |seq| transitions::Model {
        id: id(),
        jam_id: f.jam.id,
        subject_kind: "jam".into(),
        subject_id: f.jam.id,
        seq,
        from_state: "scheduled".into(),
        to_state: "live".into(),
        at: now(),
        cause: "schedule".into(),
        recorded_at: now(),
        published_at: None,
        claimed_by: None,
        claimed_at: None,
    };
    insert(db, transition(1).into_active_model()).await.unwrap();
    let err = insert(db, transition(1).into_active_model()).await.unwrap_err();
    assert!(is_unique_violation(&err), "a transition is recorded once: {err}");
    insert(db, transition(2).into_active_model()).await.unwrap();

    let snapshot = || shortlist_snapshots::Model {
        id: id(),
        jam_id: f.jam.id,
        method: "wilson".into(),
        params: "{}".into(),
        computed_at: now(),
        published_at: now(),
        published_by: None,
        digest: "00".into(),
        items: "[]".into(),
    };
    insert(db, snapshot().into_active_model()).await.unwrap();
    let err = insert(db, snapshot().into_active_model()).await.unwrap_err();
    assert!(
        is_unique_violation(&err),
        "one published shortlist per jam: {err}"
    );
}

async fn check_foreign_keys_and_checks_hold(db: &DatabaseConnection) {
    let f = seed(db, "fk").await;

    let orphan = ideas::Model {
        id: id(),
        session_id: id(),
        ..idea_row(&f)
    };
    let err = insert(db, orphan.into_active_model()).await.unwrap_err();
    assert!(
        is_foreign_key_violation(&err),
        "idea in an unknown session: {err}"
    );
    assert!(!is_unique_violation(&err));

    let ghost_vote = votes::Model {
        idea_id: id(),
        ..vote_row(&f, 1)
    };
    let err = insert(db, ghost_vote.into_active_model()).await.unwrap_err();
    assert!(is_foreign_key_violation(&err), "vote on an unknown idea: {err}");

    let err = insert(db, vote_row(&f, 2).into_active_model()).await.unwrap_err();
    assert!(
        !is_unique_violation(&err) && !is_foreign_key_violation(&err),
        "value 2: {err}"
    );

    // A session with ideas cannot be deleted on its own.
    let err = sessions::Entity::delete_by_id(f.session.id)
        .exec(db)
        .await
        .unwrap_err();
    assert!(
        is_foreign_key_violation(&err),
        "deleting a session with ideas: {err}"
    );
}

async fn check_deletes_cascade_as_documented(db: &DatabaseConnection) {
    let f = seed(db, "cascade").await;
    let t = now();
    insert(db, vote_row(&f, 1).into_active_model()).await.unwrap();
    insert(db, flag_row(&f).into_active_model()).await.unwrap();
    let comment = comments::Model {
        id: id(),
        jam_id: f.jam.id,
        idea_id: f.idea.id,
        parent_id: None,
        author_id: f.participant.id,
        body: "root".into(),
        status: jam_domain::ItemStatus::Visible,
        flags: 0,
        created_at: t,
        updated_at: t,
    };
    insert(db, comment.clone().into_active_model()).await.unwrap();
    let reply = comments::Model {
        id: id(),
        parent_id: Some(comment.id),
        ..comment.clone()
    };
    insert(db, reply.into_active_model()).await.unwrap();
    let merged = ideas::Model {
        merged_into: Some(f.idea.id),
        status: jam_domain::ItemStatus::Merged,
        ..idea_row(&f)
    };
    insert(db, merged.into_active_model()).await.unwrap();
    let staff_sign_in = auth_sessions::Model {
        id: "staff-token-hash".into(),
        staff_id: Some(f.staff.id),
        participant_id: None,
        created_at: t,
        expires_at: t,
    };
    insert(db, staff_sign_in.into_active_model()).await.unwrap();
    let participant_sign_in = auth_sessions::Model {
        id: "participant-token-hash".into(),
        staff_id: None,
        participant_id: Some(f.participant.id),
        created_at: t,
        expires_at: t,
    };
    insert(db, participant_sign_in.into_active_model()).await.unwrap();
    let audit = audit_log::Model {
        id: id(),
        jam_id: Some(f.jam.id),
        actor_kind: "system".into(),
        actor_id: None,
        action: "jam.live".into(),
        subject_kind: "jam".into(),
        subject_id: Some(f.jam.id),
        detail: "{}".into(),
        at: t,
    };
    insert(db, audit.into_active_model()).await.unwrap();

    // Deleting a staff account ends its sign-ins and keeps the jam it created.
    staff::Entity::delete_by_id(f.staff.id).exec(db).await.unwrap();
    assert!(
        auth_sessions::Entity::find_by_id("staff-token-hash".to_owned())
            .one(db)
            .await
            .unwrap()
            .is_none()
    );
    let jam = jams::Entity::find_by_id(f.jam.id).one(db).await.unwrap().unwrap();
    assert_eq!(jam.created_by, None);

    // Deleting a jam removes everything in it, in one statement, and keeps the audit log.
    jams::Entity::delete_by_id(f.jam.id).exec(db).await.unwrap();
    let left = ideas::Entity::find()
        .filter(ideas::Column::JamId.eq(f.jam.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "ideas of the deleted jam");
    let left = comments::Entity::find()
        .filter(comments::Column::JamId.eq(f.jam.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "comments of the deleted jam");
    let left = votes::Entity::find()
        .filter(votes::Column::JamId.eq(f.jam.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "votes of the deleted jam");
    let left = flags::Entity::find()
        .filter(flags::Column::JamId.eq(f.jam.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "flags of the deleted jam");
    let left = participants::Entity::find()
        .filter(participants::Column::JamId.eq(f.jam.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "participants of the deleted jam");
    let left = sessions::Entity::find()
        .filter(sessions::Column::JamId.eq(f.jam.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "sessions of the deleted jam");
    let left = audiences::Entity::find()
        .filter(audiences::Column::JamId.eq(f.jam.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "audiences of the deleted jam");
    let left = auth_sessions::Entity::find()
        .filter(auth_sessions::Column::ParticipantId.eq(f.participant.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "sign-ins of the deleted jam's participants");
    let kept = audit_log::Entity::find()
        .filter(audit_log::Column::JamId.eq(f.jam.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(kept, 1);
}

/// Runs every check above on one backend, each on a database of its own.
/// The tally reads a jam's ranking rows in keyset pages: every idea once, in id order, with its cached
/// leaf when there is one, and the leaf cache follows its idea when the jam is deleted.
async fn check_ranking_rows_page_through_a_jam_once_in_id_order(db: &DatabaseConnection) {
    let f = seed(db, "ranking-pages").await;
    let mut ids = vec![f.idea.id];
    for _ in 0..6 {
        let idea = idea_row(&f);
        insert(db, idea.clone().into_active_model()).await.unwrap();
        ids.push(idea.id);
    }
    ids.sort();
    let leaf = jam_store::tally::NewLeaf {
        idea_id: ids[3],
        rev: 0,
        votes: 0,
        leaf: vec![7; 32],
    };
    jam_store::tally::save_leaves(db, std::slice::from_ref(&leaf))
        .await
        .unwrap();
    // Saving again replaces it.
    let newer = jam_store::tally::NewLeaf { rev: 2, ..leaf };
    jam_store::tally::save_leaves(db, std::slice::from_ref(&newer))
        .await
        .unwrap();

    let (mut seen, mut after, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = jam_store::tally::ranking_rows(db, f.jam.id, after, 3)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        pages += 1;
        seen.extend(page);
    }
    assert_eq!(pages, 3, "3 + 3 + 1 rows");
    assert_eq!(seen.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
    for row in &seen {
        let cached = (row.leaf_rev, row.leaf_votes, row.leaf.clone());
        if row.id == ids[3] {
            assert_eq!(cached, (Some(2), Some(0), Some(vec![7; 32])));
        } else {
            assert_eq!(cached, (None, None, None));
        }
    }
    jams::Entity::delete_by_id(f.jam.id).exec(db).await.unwrap();
    assert_eq!(tally_leaves::Entity::find().count(db).await.unwrap(), 0);
}

/// `JamCache` reads a jam's sessions and audiences again exactly when a trigger has bumped
/// `parts_rev`: after any insert, update or delete of one, and never because the jam row changed.
async fn check_a_jams_parts_are_reused_until_they_change(db: &DatabaseConnection) {
    let f = seed(db, "cached").await;
    let cache = jam_store::jams::JamCache::default();
    let first = cache.by_id(db, f.jam.id).await.unwrap().unwrap();
    assert_eq!((first.sessions.len(), first.audiences.len()), (1, 1));
    let rev = first.jam.parts_rev;
    assert!(rev >= 2, "the seed's session and audience bumped it: {rev}");
    assert!(cache.by_slug(db, "cached").await.unwrap().is_some());
    let (idea, _) = cache.idea_with_jam(db, f.idea.id).await.unwrap().unwrap();
    assert_eq!(idea.id, f.idea.id);
    assert_eq!(cache.parts_reads(), 1, "read once, reused twice");

    // A session closed by hand: seen at once, in the same lookup.
    let stale_jam = first.jam.clone();
    let mut session = f.session.clone();
    session.manual_state = Some("closed".into());
    jam_store::jams::update_session(db, session).await.unwrap();
    let after = cache.by_id(db, f.jam.id).await.unwrap().unwrap();
    assert_eq!(after.sessions[0].manual_state.as_deref(), Some("closed"));
    assert_eq!(after.jam.parts_rev, rev + 1);
    assert_eq!(cache.parts_reads(), 2);

    // Saving the jam row from a copy read before that change keeps the bump (the triggers own it).
    let mut renamed = stale_jam;
    renamed.title = "Renamed".into();
    jam_store::jams::update(db, renamed).await.unwrap();
    let after = cache.by_id(db, f.jam.id).await.unwrap().unwrap();
    assert_eq!(
        (after.jam.title.as_str(), after.jam.parts_rev),
        ("Renamed", rev + 1)
    );
    assert_eq!(after.sessions[0].manual_state.as_deref(), Some("closed"));
    assert_eq!(cache.parts_reads(), 2, "a changed jam row alone reads no parts");

    // New and deleted sessions and audiences are seen too.
    let mut added = f.session.clone();
    added.id = id();
    insert(db, added.clone().into_active_model()).await.unwrap();
    assert_eq!(
        cache.by_id(db, f.jam.id).await.unwrap().unwrap().sessions.len(),
        2
    );
    sessions::Entity::delete_by_id(added.id).exec(db).await.unwrap();
    assert_eq!(
        cache.by_id(db, f.jam.id).await.unwrap().unwrap().sessions.len(),
        1
    );
    let mut partner = audience_row(f.jam.id, "partner", "code-cached-2");
    partner.position = 1;
    insert(db, partner.into_active_model()).await.unwrap();
    let after = cache.by_id(db, f.jam.id).await.unwrap().unwrap();
    assert_eq!(after.audiences.len(), 2);
    assert_eq!(after.jam.parts_rev, rev + 4);
    assert_eq!(cache.parts_reads(), 5);
    assert!(cache.by_id(db, id()).await.unwrap().is_none());
}

async fn run_all(make: impl AsyncFn() -> Option<TestDb>) {
    let Some(t) = make().await else { return };
    check_migrations_go_up_down_and_up_again(&t.db).await;
    t.finish().await;

    let Some(t) = make().await else { return };
    check_concurrent_migrations_apply_once(&t.url).await;
    t.finish().await;

    let Some(t) = make().await else { return };
    let t = migrated(t).await;
    check_every_entity_reads_back_what_it_wrote(&t.db).await;
    check_column_defaults_apply(&t.db).await;
    check_unique_keys_hold(&t.db).await;
    check_foreign_keys_and_checks_hold(&t.db).await;
    check_deletes_cascade_as_documented(&t.db).await;
    check_ranking_rows_page_through_a_jam_once_in_id_order(&t.db).await;
    check_a_jams_parts_are_reused_until_they_change(&t.db).await;
    t.finish().await;
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_holds_on_sqlite() {
    run_all(async || Some(sqlite().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_holds_on_postgres() {
    run_all(postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pooled_sqlite_connection_has_wal_foreign_keys_and_the_busy_timeout() {
    let t = sqlite().await;
    // Hold four transactions at once: four distinct connections of a pool of four.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(t.db.begin().await.unwrap());
    }
    for txn in &held {
        let pragma = async |name: &str| {
            let sql = format!("PRAGMA {name}");
            let row = txn
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                .await
                .unwrap();
            let row = row.unwrap();
            row.try_get_by_index::<String>(0)
                .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                .unwrap()
        };
        assert_eq!(pragma("journal_mode").await, "wal");
        assert_eq!(pragma("foreign_keys").await, "1");
        assert_eq!(pragma("synchronous").await, "1", "NORMAL");
        assert_eq!(pragma("busy_timeout").await, "5000");
    }
    for txn in held {
        txn.rollback().await.unwrap();
    }
    t.finish().await;
}

#[tokio::test]
async fn connecting_to_sqlite_creates_the_missing_folder_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested").join("deeper").join("openjam.db");
    let url = format!("sqlite://{}", file.display());
    let db = jam_store::connect(&settings(&url, 2)).await.unwrap();
    jam_store::migrate(&db).await.unwrap();
    assert!(file.exists());
    db.close().await.unwrap();
}

#[tokio::test]
async fn an_unknown_database_scheme_is_a_clear_error() {
    let err = jam_store::connect(&settings("mysql://root:secret@localhost/jam", 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("unsupported database url: mysql://"),
        "{message}"
    );
    assert!(!message.contains("secret"), "{message}");
}
