//! Results: the shortlist (a live draft until published, then the frozen snapshot), curation,
//! publishing, and the `results.csv` / `.xlsx` / `.json` downloads (DESIGN.md §5, issue 5).
//!
//! Every tally goes through `jam_tally::count` inside one snapshot transaction (counts and digest see
//! the same votes; the stored counters and cached digest leaves, so only ideas whose votes changed are
//! read again) and ranks on a blocking thread. Downloads read the ranked ideas' texts a chunk at a time
//! inside that snapshot, write them to an unnamed temporary file on a blocking thread, and stream the
//! file back in chunks: neither the ideas nor the response ever sit in memory whole.

use std::io::{Seek as _, SeekFrom};

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use jam_domain::Principal;
use jam_domain::lifecycle::JamState;
use jam_domain::text::Lines;
use jam_protocol::api::{
    AudienceCountsView, CurateRequest, CurationDecisionView, CurationView, MethodFairnessView,
    ShortlistIdeaView, ShortlistItemView, ShortlistState as WireState, ShortlistView,
};
use jam_store::JamFull;
use jam_store::audit::NewAudit;
use jam_store::sea_orm::DatabaseTransaction;
use jam_store::tally::{CurationAction, NewCuration};
use jam_tally::{ExportHeader, Format, LoadError, Ranked, Shortlist, ShortlistState, Source, Tally};
use tokio::io::AsyncReadExt as _;
use uuid::Uuid;

use super::access::{jam_by_slug, require_member};
use super::inbox::Tell;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::validate::Check;

/// Characters of an exclusion's reason.
const REASON_MAX: usize = 500;
/// Decisions per curate request.
const DECISIONS_MAX: usize = 1000;
/// Bytes per chunk of a streamed download.
const CHUNK: usize = 64 * 1024;

fn load_err(e: LoadError) -> ApiError {
    match e {
        LoadError::Store(e) => e.into(),
        other => ApiError::Internal(other.into()),
    }
}

fn blocking_err(e: actix_web::error::BlockingError) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("tally task failed: {e}"))
}

fn staff_id(caller: &Caller) -> Option<Uuid> {
    match caller.principal {
        Principal::Staff { id, .. } => Some(id.0),
        Principal::Participant { .. } => None,
    }
}

/// Reads and ranks the jam inside `txn` with `params`, stamping it `computed_at` (the ranking runs on a
/// blocking thread), and saves the digest leaves it had to recompute.
async fn rank_in(
    state: &AppState,
    txn: &DatabaseTransaction,
    jam: &JamFull,
    params: jam_tally::Params,
    computed_at: DateTime<Utc>,
) -> ApiResult<Ranked> {
    let counted = jam_tally::count(txn, jam.jam.id, params, Source::Stored)
        .await
        .map_err(load_err)?;
    let ranked = web::block(move || counted.rank(computed_at))
        .await
        .map_err(blocking_err)?;
    if !ranked.drifted.is_empty() {
        tracing::warn!(
            jam = %jam.jam.slug,
            ideas = ranked.drifted.len(),
            first = %ranked.drifted[0],
            "stored vote counters disagree with the vote rows; run `jamd tally verify`"
        );
    }
    if !ranked.fresh_leaves.is_empty() {
        // A cache: failing to fill it only makes the next tally read those votes again.
        if let Err(e) = jam_tally::keep_leaves(&state.db, &ranked.fresh_leaves).await {
            tracing::warn!(jam = %jam.jam.slug, error = %e, "could not cache the tally's digest leaves");
        }
    }
    Ok(ranked)
}

/// The jam's tally now, from one snapshot.
async fn tally_now(
    state: &AppState,
    jam: &JamFull,
    params: jam_tally::Params,
    computed_at: DateTime<Utc>,
) -> ApiResult<Tally> {
    let txn = jam_store::tally::begin_snapshot(&state.db).await?;
    let ranked = rank_in(state, &txn, jam, params, computed_at).await?;
    let tally = ranked.into_tally(&txn, jam).await.map_err(load_err)?;
    // Read-only: ending it either way releases the snapshot.
    txn.rollback().await.map_err(jam_store::StoreError::from)?;
    Ok(tally)
}

fn view(shortlist: Shortlist, shortlist_size: usize, published_at: Option<DateTime<Utc>>) -> ShortlistView {
    ShortlistView {
        jam_id: shortlist.jam_id,
        state: match shortlist.state {
            ShortlistState::Draft => WireState::Draft,
            ShortlistState::Published => WireState::Published,
        },
        method: (shortlist.method),
        shortlist_size: u32::try_from(shortlist_size).unwrap_or(u32::MAX),
        computed_at: shortlist.computed_at,
        published_at,
        digest: shortlist.digest.to_string(),
        items: shortlist
            .items
            .into_iter()
            .map(|item| ShortlistItemView {
                rank: u32::try_from(item.rank).unwrap_or(u32::MAX),
                method_rank: u32::try_from(item.method_rank).unwrap_or(u32::MAX),
                idea: ShortlistIdeaView {
                    id: item.idea.id,
                    title: item.idea.title,
                    session_id: item.idea.session_id,
                    author: item.idea.author,
                },
                score: item.score,
                up: item.up,
                down: item.down,
                voters: item.voters,
                by_audience: item
                    .by_audience
                    .into_iter()
                    .map(|(name, c)| {
                        (
                            name,
                            AudienceCountsView {
                                up: c.up,
                                down: c.down,
                            },
                        )
                    })
                    .collect(),
                comments: item.comments,
                pinned: item.pinned,
            })
            .collect(),
        fairness: shortlist
            .fairness
            .iter()
            .map(|line| MethodFairnessView {
                method: line.method,
                rank_post_time: line.rank_post_time,
            })
            .collect(),
    }
}

/// `GET /jams/{slug}/shortlist`: staff always; participants of the jam once it is published (403
/// before, so they know it exists but is not out yet); participants of other jams get 404.
pub async fn shortlist(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let jam = jam_by_slug(&state, &slug).await?;
    require_member(&caller, &jam, "jam")?;
    let snapshot = jam_store::tally::snapshot(&state.db, jam.jam.id).await?;
    if let Some(row) = snapshot {
        let published = jam_tally::read_snapshot(&row).map_err(load_err)?;
        let size = published.params.shortlist_size;
        return Ok(HttpResponse::Ok().json(view(published.shortlist, size, Some(published.published_at))));
    }
    if !caller.principal.is_staff() {
        return Err(ApiError::Forbidden(
            "the shortlist is shown to participants once it is published".into(),
        ));
    }
    let params = jam_tally::params_of(&jam.jam).map_err(load_err)?;
    let tally = tally_now(&state, &jam, params, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(view(
        tally.shortlist(ShortlistState::Draft),
        params.shortlist_size,
        None,
    )))
}

/// `POST /jams/{slug}/shortlist/curate`: records exclusions (with reasons), pins and clears, audited.
pub async fn curate(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    ApiJson(body): ApiJson<CurateRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let jam = jam_by_slug(&state, &slug).await?;
    if jam.jam.published_at.is_some() {
        return Err(ApiError::Conflict(
            "the shortlist is published: its curation is frozen".into(),
        ));
    }
    let mut check = Check::default();
    let total = body.exclude.len() + body.pin.len() + body.clear.len();
    if total == 0 {
        check.fail("exclude", "give at least one of exclude, pin or clear");
    }
    if total > DECISIONS_MAX {
        check.fail(
            "exclude",
            &format!("give at most {DECISIONS_MAX} decisions per request"),
        );
    }
    let mut decisions = Vec::with_capacity(total);
    let mut fields = Vec::with_capacity(total);
    for (i, e) in body.exclude.iter().enumerate() {
        check.text(
            &format!("exclude[{i}].reason"),
            &e.reason,
            1,
            REASON_MAX,
            Lines::Multi,
        );
        fields.push(format!("exclude[{i}].idea_id"));
        decisions.push(NewCuration {
            idea_id: e.idea_id,
            action: CurationAction::Exclude,
            reason: e.reason.clone(),
        });
    }
    for (list, action, ids) in [
        ("pin", CurationAction::Pin, &body.pin),
        ("clear", CurationAction::Clear, &body.clear),
    ] {
        for (i, id) in ids.iter().enumerate() {
            fields.push(format!("{list}[{i}]"));
            decisions.push(NewCuration {
                idea_id: *id,
                action,
                reason: String::new(),
            });
        }
    }
    let ids: Vec<Uuid> = decisions.iter().map(|d| d.idea_id).collect();
    let known: std::collections::HashSet<Uuid> = jam_store::tally::ideas_of_jam(&state.db, jam.jam.id, &ids)
        .await?
        .into_iter()
        .collect();
    let mut seen = std::collections::HashSet::new();
    for (field, id) in fields.iter().zip(&ids) {
        if !known.contains(id) {
            check.fail(field, "is not an idea of this jam");
        } else if !seen.insert(*id) {
            check.fail(field, "names an idea that this request already decides on");
        }
    }
    check.done()?;

    let now = state.clock.now();
    let txn = jam_store::write::begin_write(&state.db).await?;
    if !jam_store::tally::touch_unpublished(&txn, jam.jam.id, now).await? {
        return Err(ApiError::Conflict(
            "the shortlist is published: its curation is frozen".into(),
        ));
    }
    jam_store::tally::record_curation(&txn, jam.jam.id, staff_id(&caller), &decisions, now).await?;
    let detail = serde_json::json!({
        "exclude": body.exclude.iter().map(|e| serde_json::json!({ "idea_id": e.idea_id, "reason": e.reason })).collect::<Vec<_>>(),
        "pin": body.pin,
        "clear": body.clear,
    });
    jam_store::audit::record(
        &txn,
        NewAudit {
            jam_id: Some(jam.jam.id),
            actor: caller.actor(),
            action: "shortlist.curated".into(),
            subject_kind: "jam",
            subject_id: Some(jam.jam.id),
            detail,
            at: now,
        },
    )
    .await?;
    let in_force = jam_store::tally::curation_in_force(&txn, jam.jam.id).await?;
    txn.commit().await.map_err(jam_store::StoreError::from)?;

    let mut out = CurationView {
        excluded: Vec::new(),
        pinned: Vec::new(),
    };
    for d in in_force {
        let decision = CurationDecisionView {
            idea_id: d.idea_id,
            reason: d.reason,
            by: d.by,
            at: d.at,
        };
        match d.action {
            CurationAction::Exclude => out.excluded.push(decision),
            CurationAction::Pin => out.pinned.push(decision),
            CurationAction::Clear => {}
        }
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /jams/{slug}/shortlist/publish`: freezes the shortlist of a closed jam. The snapshot and
/// `jams.published_at` are written in one transaction with the tally's reads; the schedule runner
/// then records and publishes the `jam.state` → `published` event (poked here so it goes out at once).
pub async fn publish(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let jam = jam_by_slug(&state, &slug).await?;
    let now = state.clock.now();
    match jam.state(now) {
        JamState::Closed => {}
        JamState::Published => return Err(ApiError::Conflict("the shortlist is already published".into())),
        other => {
            return Err(ApiError::Conflict(format!(
                "only a closed jam can be published; this one is {}",
                other.as_str()
            )));
        }
    }
    let params = jam_tally::params_of(&jam.jam).map_err(load_err)?;
    let txn = jam_store::tally::begin_publish(&state.db).await?;
    let counted = jam_tally::count(&txn, jam.jam.id, params, Source::Stored)
        .await
        .map_err(load_err)?;
    let ranked = web::block(move || counted.rank(now))
        .await
        .map_err(blocking_err)?;
    let tally = ranked.into_tally(&txn, &jam).await.map_err(load_err)?;
    let row = jam_tally::snapshot_row(&tally, now, staff_id(&caller)).map_err(load_err)?;
    let detail = serde_json::json!({
        "digest": row.digest,
        "method": row.method,
        "shortlist_size": params.shortlist_size,
        "votes": tally.votes,
        "items": tally.shortlist.iter().map(|r| r.idea.id).collect::<Vec<_>>(),
    });
    jam_store::tally::publish(&txn, row).await.map_err(|e| match e {
        jam_store::StoreError::Duplicate => ApiError::Conflict("the shortlist is already published".into()),
        other => other.into(),
    })?;
    jam_store::audit::record(
        &txn,
        NewAudit {
            jam_id: Some(jam.jam.id),
            actor: caller.actor(),
            action: "shortlist.published".into(),
            subject_kind: "jam",
            subject_id: Some(jam.jam.id),
            detail,
            at: now,
        },
    )
    .await?;
    // Each shortlisted idea's author hears of it (at most the shortlist's size of rows).
    let shortlisted = jam_store::ideas::by_ids(&txn, tally.shortlist.iter().map(|r| r.idea.id)).await?;
    let tell = Tell(
        shortlisted
            .iter()
            .map(|idea| {
                jam_store::entity::notifications::Model::about(
                    idea.author_id,
                    jam_domain::NotificationKind::IdeaShortlisted,
                    idea,
                    now,
                )
            })
            .collect(),
    );
    tell.write(&txn).await?;
    txn.commit().await.map_err(jam_store::StoreError::from)?;
    tell.push(&state).await;
    // After the commit: SQLite's publishing transaction holds the write lock until then.
    if let Err(e) = jam_tally::keep_leaves(&state.db, &tally.fresh_leaves).await {
        tracing::warn!(jam = %jam.jam.slug, error = %e, "could not cache the tally's digest leaves");
    }
    // The runner sees published_at as a change point and publishes `jam.state` itself (once per
    // cluster); publishing it here too would send it twice.
    state.orchestrator.poke();
    Ok(HttpResponse::Ok().json(view(
        tally.shortlist(ShortlistState::Published),
        params.shortlist_size,
        Some(now),
    )))
}

fn extension(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Xlsx => "xlsx",
        Format::Json => "json",
    }
}

fn content_type(format: Format) -> &'static str {
    match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Format::Json => "application/json",
    }
}

pub async fn results_csv(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    download(state, caller, slug, Format::Csv).await
}

pub async fn results_xlsx(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    download(state, caller, slug, Format::Xlsx).await
}

pub async fn results_json(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    download(state, caller, slug, Format::Json).await
}

/// Every visible idea ranked, for executives and facilitators. Once published the method, N,
/// computed_at and digest are the snapshot's and the rows are recomputed from the database with them
/// (the jam is closed, so only moderation could have moved them; a mismatch is logged, and
/// `jamd tally verify` names it); before, everything is live.
///
/// Memory: the ranking's fixed-size slots and a few rounds of rows (`jam_tally::export`).
async fn download(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    format: Format,
) -> ApiResult<HttpResponse> {
    caller.require_staff()?;
    let jam = jam_by_slug(&state, &slug).await?;
    let published = match jam_store::tally::snapshot(&state.db, jam.jam.id).await? {
        Some(row) => Some(jam_tally::read_snapshot(&row).map_err(load_err)?),
        None => None,
    };
    let txn = jam_store::tally::begin_snapshot(&state.db).await?;
    let (ranked, shortlist_state, digest) = match &published {
        Some(published) => {
            let ranked = rank_in(
                &state,
                &txn,
                &jam,
                published.params.params(),
                published.shortlist.computed_at,
            )
            .await?;
            if ranked.digest != published.shortlist.digest {
                tracing::warn!(
                    jam = %jam.jam.slug,
                    published = %published.shortlist.digest,
                    now = %ranked.digest,
                    "the votes no longer match the published digest; run `jamd tally verify`"
                );
            }
            (ranked, ShortlistState::Published, published.shortlist.digest)
        }
        None => {
            let params = jam_tally::params_of(&jam.jam).map_err(load_err)?;
            let ranked = rank_in(&state, &txn, &jam, params, state.clock.now()).await?;
            let digest = ranked.digest;
            (ranked, ShortlistState::Draft, digest)
        }
    };
    let mut header = ExportHeader::new(
        &ranked.ranking,
        jam.jam.id,
        jam.jam.title.clone(),
        shortlist_state,
        digest,
        jam.audiences.iter().map(|a| a.name.clone()).collect(),
    );
    if format == Format::Xlsx {
        // The hourly mood series (issue 16): every scored post up to now, in hours on the hour.
        let now = state.clock.now();
        let posts = jam_store::mood::posts(&state.db, jam.jam.id, None, None, now).await?;
        header.mood_hourly = jam_store::mood::buckets(&posts, 60, now)
            .into_iter()
            .map(|(start, [negative, neutral, positive])| jam_tally::MoodHour {
                start,
                negative,
                neutral,
                positive,
            })
            .collect();
    }

    // Unnamed: the file is gone when the last handle closes, even if the process dies.
    let file = tempfile::tempfile().map_err(|e| ApiError::Internal(e.into()))?;
    let (mut file, _rows) = jam_tally::export(txn, jam.clone(), ranked.ranking, header, format, file)
        .await
        .map_err(load_err)?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| ApiError::Internal(e.into()))?;
    let len = file.metadata().map_err(|e| ApiError::Internal(e.into()))?.len();
    let file = tokio::fs::File::from_std(file);
    let body = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(format!(
            "{}-results.{}",
            jam.jam.slug,
            extension(format)
        ))],
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type(format)))
        .insert_header(disposition)
        .no_chunking(len)
        .streaming(body))
}
