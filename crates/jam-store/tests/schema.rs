#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The schema on both backends: migrations go up, down and up again; SQLite's per-connection
//! settings hold on every pooled connection; unique keys, foreign keys and checks hold; and every
//! entity reads back exactly what it wrote.
//!
//! Every check is one function taking a `DatabaseConnection`, run once on a temporary SQLite
//! file and once on a fresh PostgreSQL database (when `JAM_TEST_DATABASE_URL` is set).

use jam_domain::VoteValue;
use jam_migrations::{Migrator, MigratorTrait};
use jam_store::entity::{
    announcements, audiences, audit_log, auth_sessions, comments, flags, follows, idea_themes, ideas,
    inboxes, jams, notifications, participants, poll_answers, polls, sessions, shortlist_curation,
    shortlist_snapshots, staff, tally_leaves, theme_runs, themes, transitions, votes,
};
use jam_store::{StoreError, is_foreign_key_violation, is_unique_violation};
use jam_testkit::db::settings;
use jam_testkit::rows::{self, now};
use jam_testkit::{TestDb, With, insert};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel,
    ModelTrait, PaginatorTrait, QueryFilter, Statement, TransactionTrait, prelude::*,
};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Databases

/// An empty, unmigrated PostgreSQL database of its own, or None (skipped).
async fn postgres() -> Option<TestDb> {
    TestDb::postgres("PostgreSQL schema tests").await
}

const TABLES: [&str; 33] = [
    "announcements",
    "audiences",
    "audit_log",
    "auth_sessions",
    "comments",
    "flags",
    "follows",
    "idea_themes",
    "ideas",
    "impressions",
    "inboxes",
    "invites",
    "jams",
    "join_counts",
    "mood_alerts",
    "notifications",
    "oidc_logins",
    "participant_identities",
    "participants",
    "poll_answers",
    "polls",
    "sessions",
    "shortlist_curation",
    "shortlist_snapshots",
    "staff",
    "staff_identities",
    "tally_deployment",
    "tally_dirty",
    "tally_leaves",
    "theme_runs",
    "themes",
    "transitions",
    "votes",
];

/// Names of the application's tables, sorted (sea-orm's own `seaql_migrations` left out, and SQLite's
/// full-text index `ideas_fts*` with its row map `idea_fts_rows`, which PostgreSQL has no twin of: a
/// column and an index there; `tests/search_backfill.rs` covers both).
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
        .filter(|name| !name.starts_with("ideas_fts") && name != "idea_fts_rows")
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------------
// Fixture

fn id() -> Uuid {
    Uuid::now_v7()
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

/// The rows with every optional column filled in, so the round trip covers them.
async fn seed(db: &DatabaseConnection, slug: &str) -> Fixture {
    let staff = rows::staff();
    insert(db, &staff).await.unwrap();
    let jam = rows::jam().with(|j| {
        j.slug = slug.to_owned();
        j.description = "Three days of ideas.\nÜnïcødé welcome.".into();
        j.created_by = Some(staff.id);
    });
    insert(db, &jam).await.unwrap();
    let audience = rows::audience(&jam).with(|a| a.invite_code = format!("code-{slug}"));
    insert(db, &audience).await.unwrap();
    let session = rows::session(&jam).with(|s| {
        s.manual_state = Some("open".into());
        s.manual_at = Some(s.created_at);
    });
    insert(db, &session).await.unwrap();
    let participant = rows::participant(&audience).with(|p| p.locale = Some("fr-CH".into()));
    insert(db, &participant).await.unwrap();
    let idea = rows::idea(&session, &participant);
    insert(db, &idea).await.unwrap();
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
    insert(
        db,
        &rows::vote(&fixture.idea, &fixture.participant, VoteValue::Up),
    )
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
        // The triggers counted the seed's audience and session.
        Some(f.jam.clone().with(|j| j.parts_rev = 2))
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
    let auth = rows::participant_sign_in(&f.participant);
    insert(db, &auth).await.unwrap();
    assert_eq!(
        auth_sessions::Entity::find_by_id(auth.id.clone())
            .one(db)
            .await
            .unwrap(),
        Some(auth)
    );

    let mut merged = rows::idea(&f.session, &f.participant);
    merged.status = jam_domain::ItemStatus::Merged;
    merged.merged_into = Some(f.idea.id);
    merged.up = 3;
    merged.down = 1;
    merged.voters = 4;
    merged.comments = 2;
    merged.flags = 1;
    merged.edited_at = Some(t);
    insert(db, &merged).await.unwrap();
    assert_eq!(
        ideas::Entity::find_by_id(merged.id).one(db).await.unwrap(),
        Some(merged)
    );

    let comment = rows::comment(&f.idea, &f.participant);
    insert(db, &comment).await.unwrap();
    let reply = rows::comment(&f.idea, &f.participant).with(|r| r.parent_id = Some(comment.id));
    insert(db, &reply).await.unwrap();
    assert_eq!(
        comments::Entity::find_by_id(comment.id).one(db).await.unwrap(),
        Some(comment.clone())
    );
    assert_eq!(
        comments::Entity::find_by_id(reply.id).one(db).await.unwrap(),
        Some(reply)
    );

    let vote = rows::vote(&f.idea, &f.participant, VoteValue::Down);
    insert(db, &vote).await.unwrap();
    assert_eq!(
        votes::Entity::find_by_id((vote.idea_id, vote.participant_id))
            .one(db)
            .await
            .unwrap(),
        Some(vote.clone())
    );

    let flag = rows::flag(&f.idea, &f.participant);
    insert(db, &flag).await.unwrap();
    assert_eq!(
        flags::Entity::find_by_id(flag.id).one(db).await.unwrap(),
        Some(flag)
    );

    let announcement = rows::announcement(&f.jam).with(|a| a.author_id = Some(f.staff.id));
    insert(db, &announcement).await.unwrap();
    assert_eq!(
        announcements::Entity::find_by_id(announcement.id)
            .one(db)
            .await
            .unwrap(),
        Some(announcement)
    );

    let audit = rows::audit(&f.jam).with(|a| {
        a.actor_kind = "staff".into();
        a.actor_id = Some(f.staff.id);
        a.action = "session.open".into();
        a.subject_kind = "session".into();
        a.subject_id = Some(f.session.id);
        a.detail = r#"{"reason":"early start"}"#.into();
    });
    insert(db, &audit).await.unwrap();
    assert_eq!(
        audit_log::Entity::find_by_id(audit.id).one(db).await.unwrap(),
        Some(audit)
    );

    let transition = rows::transition(&f.jam).with(|tr| {
        tr.subject_kind = "session".into();
        tr.subject_id = f.session.id;
        tr.to_state = "open".into();
        tr.published_at = Some(t);
        tr.claimed_by = Some("node-a".into());
        tr.claimed_at = Some(t);
    });
    insert(db, &transition).await.unwrap();
    assert_eq!(
        transitions::Entity::find_by_id(transition.id)
            .one(db)
            .await
            .unwrap(),
        Some(transition)
    );

    let curation = rows::curation(&f.idea).with(|c| {
        c.reason = "board priority".into();
        c.staff_id = Some(f.staff.id);
    });
    insert(db, &curation).await.unwrap();
    assert_eq!(
        shortlist_curation::Entity::find_by_id(curation.id)
            .one(db)
            .await
            .unwrap(),
        Some(curation)
    );

    let snapshot = rows::snapshot(&f.jam).with(|s| {
        s.params = r#"{"z":1.96}"#.into();
        s.published_by = Some(f.staff.id);
        s.digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into();
    });
    insert(db, &snapshot).await.unwrap();
    assert_eq!(
        shortlist_snapshots::Entity::find_by_id(snapshot.id)
            .one(db)
            .await
            .unwrap(),
        Some(snapshot)
    );

    let notification = rows::notification(&f.idea, &f.participant).with(|n| {
        n.kind = jam_domain::NotificationKind::Mention;
        n.comment_id = Some(comment.id);
        n.actor_name = Some("Bob".into());
        n.excerpt = Some("Ask @Ada, ünïcødé.".into());
    });
    insert(db, &notification).await.unwrap();
    assert_eq!(
        notifications::Entity::find_by_id(notification.id)
            .one(db)
            .await
            .unwrap(),
        Some(notification)
    );
    let follow = rows::follow(&f.idea, &f.participant);
    insert(db, &follow).await.unwrap();
    assert_eq!(
        follows::Entity::find_by_id((f.idea.id, f.participant.id))
            .one(db)
            .await
            .unwrap(),
        Some(follow)
    );
    let inbox = rows::inbox(&f.participant).with(|i| i.read_until = Some(id()));
    insert(db, &inbox).await.unwrap();
    assert_eq!(
        inboxes::Entity::find_by_id(f.participant.id)
            .one(db)
            .await
            .unwrap(),
        Some(inbox)
    );

    let poll = rows::poll(&f.session).with(|p| p.created_by = Some(f.staff.id));
    insert(db, &poll).await.unwrap();
    assert_eq!(
        polls::Entity::find_by_id(poll.id).one(db).await.unwrap(),
        Some(poll.clone())
    );
    assert_eq!(poll.option_list(), ["Yes", "No"]);
    let answer = rows::poll_answer(&poll, &f.participant);
    insert(db, &answer).await.unwrap();
    assert_eq!(
        poll_answers::Entity::find_by_id((poll.id, f.participant.id))
            .one(db)
            .await
            .unwrap(),
        Some(answer.clone())
    );
    assert!(
        insert(db, &answer).await.is_err(),
        "one answer per participant and poll"
    );

    let theme = rows::theme(&f.jam).with(|t| t.size = 1);
    insert(db, &theme).await.unwrap();
    assert_eq!(
        themes::Entity::find_by_id(theme.id).one(db).await.unwrap(),
        Some(theme.clone())
    );
    assert_eq!(theme.terms(), ["canteen", "menu", "lunch"]);
    let assigned = rows::idea_theme(&f.idea, &theme);
    insert(db, &assigned).await.unwrap();
    assert_eq!(
        idea_themes::Entity::find_by_id(f.idea.id).one(db).await.unwrap(),
        Some(assigned)
    );
    let run = rows::theme_run(&f.jam).with(|r| {
        r.ideas = 2;
        r.ideas_updated_at = Some(t);
    });
    insert(db, &run).await.unwrap();
    assert_eq!(
        theme_runs::Entity::find_by_id(f.jam.id).one(db).await.unwrap(),
        Some(run)
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
    ideas::Entity::insert(ideas::ActiveModel {
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
    })
    .exec_without_returning(db)
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
    insert(db, &rows::vote(&f.idea, &f.participant, VoteValue::Up))
        .await
        .unwrap();
    let err = insert(db, &rows::vote(&f.idea, &f.participant, VoteValue::Down))
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "second vote: {err}");
    assert!(!is_foreign_key_violation(&err));
    assert!(StoreError::from(err).is_unique_violation());
    // ...also inside a transaction (the vote writer's path).
    let txn = db.begin().await.unwrap();
    let err = insert(&txn, &rows::vote(&f.idea, &f.participant, VoteValue::Up))
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "second vote in a transaction: {err}");
    txn.rollback().await.unwrap();
    // Changing a vote is an update of the same row.
    let mut change = rows::vote(&f.idea, &f.participant, VoteValue::Down).into_active_model();
    change.reset(votes::Column::Value);
    votes::Entity::update(change).exec(db).await.unwrap();
    let stored = votes::Entity::find_by_id((f.idea.id, f.participant.id))
        .one(db)
        .await
        .unwrap();
    assert_eq!(stored.map(|v| v.value), Some(-1));

    let err = insert(db, &rows::jam().with(|j| j.slug = "unique".into()))
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "duplicate slug: {err}");

    insert(db, &rows::flag(&f.idea, &f.participant)).await.unwrap();
    let err = insert(db, &rows::flag(&f.idea, &f.participant))
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "duplicate flag: {err}");
    // The key includes the kind: the same participant may flag a comment that has the same id.
    let other_kind = rows::flag(&f.idea, &f.participant).with(|x| x.target_kind = "comment".into());
    insert(db, &other_kind).await.unwrap();

    let err = insert(db, &rows::staff().with(|s| s.email = f.staff.email.clone()))
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "duplicate staff email: {err}");

    let same_name = rows::audience(&f.jam).with(|a| a.name = f.audience.name.clone());
    let err = insert(db, &same_name).await.unwrap_err();
    assert!(
        is_unique_violation(&err),
        "duplicate audience name in a jam: {err}"
    );
    let other_jam = rows::jam().with(|j| j.slug = "unique-2".into());
    insert(db, &other_jam).await.unwrap();
    insert(db, &rows::audience(&other_jam)).await.unwrap();
    let err = insert(
        db,
        &rows::audience(&other_jam).with(|a| {
            a.name = "client".into();
            a.invite_code = f.audience.invite_code.clone();
        }),
    )
    .await
    .unwrap_err();
    assert!(
        is_unique_violation(&err),
        "invite codes are unique across jams: {err}"
    );

    let transition = |seq| rows::transition(&f.jam).with(|t| t.seq = seq);
    insert(db, &transition(1)).await.unwrap();
    let err = insert(db, &transition(1)).await.unwrap_err();
    assert!(is_unique_violation(&err), "a transition is recorded once: {err}");
    insert(db, &transition(2)).await.unwrap();

    let snapshot = || rows::snapshot(&f.jam);
    insert(db, &snapshot()).await.unwrap();
    let err = insert(db, &snapshot()).await.unwrap_err();
    assert!(
        is_unique_violation(&err),
        "one published shortlist per jam: {err}"
    );
}

async fn check_foreign_keys_and_checks_hold(db: &DatabaseConnection) {
    let f = seed(db, "fk").await;

    let orphan = rows::idea(&f.session, &f.participant).with(|i| i.session_id = id());
    let err = insert(db, &orphan).await.unwrap_err();
    assert!(
        is_foreign_key_violation(&err),
        "idea in an unknown session: {err}"
    );
    assert!(!is_unique_violation(&err));

    let ghost_vote = rows::vote(&f.idea, &f.participant, VoteValue::Up).with(|v| v.idea_id = id());
    let err = insert(db, &ghost_vote).await.unwrap_err();
    assert!(is_foreign_key_violation(&err), "vote on an unknown idea: {err}");

    let err = insert(
        db,
        &rows::vote(&f.idea, &f.participant, VoteValue::Up).with(|v| v.value = 2),
    )
    .await
    .unwrap_err();
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
    insert(db, &rows::vote(&f.idea, &f.participant, VoteValue::Up))
        .await
        .unwrap();
    insert(db, &rows::flag(&f.idea, &f.participant)).await.unwrap();
    let comment = rows::comment(&f.idea, &f.participant).with(|c| c.body = "root".into());
    insert(db, &comment).await.unwrap();
    let reply = rows::comment(&f.idea, &f.participant).with(|r| r.parent_id = Some(comment.id));
    insert(db, &reply).await.unwrap();
    let merged = rows::idea(&f.session, &f.participant).with(|i| {
        i.merged_into = Some(f.idea.id);
        i.status = jam_domain::ItemStatus::Merged;
    });
    insert(db, &merged).await.unwrap();
    let staff_sign_in = rows::staff_sign_in(&f.staff);
    insert(db, &staff_sign_in).await.unwrap();
    let participant_sign_in = rows::participant_sign_in(&f.participant);
    insert(db, &participant_sign_in).await.unwrap();
    let audit = rows::audit(&f.jam);
    insert(db, &audit).await.unwrap();
    insert(db, &rows::notification(&f.idea, &f.participant))
        .await
        .unwrap();
    insert(db, &rows::follow(&f.idea, &f.participant)).await.unwrap();
    insert(db, &rows::inbox(&f.participant)).await.unwrap();
    let theme = rows::theme(&f.jam);
    insert(db, &theme).await.unwrap();
    insert(db, &rows::idea_theme(&f.idea, &theme)).await.unwrap();
    insert(db, &rows::idea_theme(&merged, &theme)).await.unwrap();
    insert(db, &rows::theme_run(&f.jam)).await.unwrap();

    // Deleting an idea takes its theme assignment and keeps the theme.
    ideas::Entity::delete_by_id(merged.id).exec(db).await.unwrap();
    assert!(
        idea_themes::Entity::find_by_id(merged.id)
            .one(db)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        idea_themes::Entity::find_by_id(f.idea.id)
            .one(db)
            .await
            .unwrap()
            .is_some()
    );

    // Deleting a staff account ends its sign-ins and keeps the jam it created.
    staff::Entity::delete_by_id(f.staff.id).exec(db).await.unwrap();
    assert!(
        auth_sessions::Entity::find_by_id(staff_sign_in.id)
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
    let left = themes::Entity::find()
        .filter(themes::Column::JamId.eq(f.jam.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "themes of the deleted jam");
    let left = idea_themes::Entity::find()
        .filter(idea_themes::Column::JamId.eq(f.jam.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "theme assignments of the deleted jam");
    assert!(
        theme_runs::Entity::find_by_id(f.jam.id)
            .one(db)
            .await
            .unwrap()
            .is_none()
    );
    let left = auth_sessions::Entity::find()
        .filter(auth_sessions::Column::ParticipantId.eq(f.participant.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "sign-ins of the deleted jam's participants");
    let left = notifications::Entity::find()
        .filter(notifications::Column::JamId.eq(f.jam.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "notifications of the deleted jam");
    let left = follows::Entity::find()
        .filter(follows::Column::ParticipantId.eq(f.participant.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "follows of the deleted jam's participants");
    let left = inboxes::Entity::find_by_id(f.participant.id)
        .count(db)
        .await
        .unwrap();
    assert_eq!(left, 0, "inboxes of the deleted jam's participants");
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
        let idea = rows::idea(&f.session, &f.participant);
        insert(db, &idea).await.unwrap();
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
    insert(db, &added).await.unwrap();
    assert_eq!(
        cache.by_id(db, f.jam.id).await.unwrap().unwrap().sessions.len(),
        2
    );
    sessions::Entity::delete_by_id(added.id).exec(db).await.unwrap();
    assert_eq!(
        cache.by_id(db, f.jam.id).await.unwrap().unwrap().sessions.len(),
        1
    );
    let mut partner = rows::audience(&f.jam).with(|a| a.name = "partner".into());
    partner.position = 1;
    insert(db, &partner).await.unwrap();
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
    let t = t.migrated().await;
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
    run_all(async || Some(TestDb::sqlite().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_holds_on_postgres() {
    run_all(postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pooled_sqlite_connection_has_wal_foreign_keys_and_the_busy_timeout() {
    let t = TestDb::sqlite().await;
    // Hold four transactions at once: four distinct connections of the pool.
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
        let configured = settings(&t.url, 1).sqlite_busy_timeout.as_millis();
        assert_eq!(pragma("busy_timeout").await, configured.to_string());
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
