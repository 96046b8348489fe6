//! The inbox (issue 18): a participant's notifications (`GET /me/notifications`, marking them
//! read), following ideas, the `@name` picker, and [`Tell`], which every route that notifies
//! (comments, ideas, moderation, the shortlist) uses to write the rows in its own transaction and
//! push them on `me:{participant}` after the commit.
//!
//! Announcements are not written per participant: each inbox page merges the jam's announcements
//! in, and they reach connected participants live on `jam:{id}`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use jam_domain::notify::{self, NotificationKind};
use jam_domain::{ItemStatus, Principal};
use jam_protocol::api::{
    FollowView, InboxView, MarkReadRequest, MentionCandidate, NotificationView, Page, UnreadView,
};
use jam_protocol::live::{Event, me_topic};
use jam_store::JamFull;
use jam_store::entity::{comments, ideas, notifications};
use jam_store::inbox::Entry;
use serde::Deserialize;
use uuid::Uuid;

use super::access::{jam_by_slug, load_idea, publish, require_member};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::routes::jams::PageQuery;
use crate::state::AppState;

/// Characters of a post copied into a notification.
const EXCERPT_CHARS: usize = 140;

/// Names the `@name` picker offers at most.
const PICKER_MAX: u64 = 8;

/// The start of a post, for an inbox entry.
pub(crate) fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// The caller's participant id and jam: the inbox is a participant's (staff have none: 403).
fn me(caller: &Caller) -> ApiResult<(Uuid, Uuid)> {
    match caller.principal {
        Principal::Participant { id, jam_id, .. } => Ok((id.0, jam_id.0)),
        Principal::Staff { .. } => Err(ApiError::Forbidden(
            "the inbox, following and mentions are for participants".into(),
        )),
    }
}

fn view(entry: Entry, read_until: Option<Uuid>) -> NotificationView {
    let read = read_until.is_some_and(|r| entry.id() <= r);
    match entry {
        Entry::Notification(n) => NotificationView {
            id: n.id,
            jam_id: n.jam_id,
            kind: n.kind,
            idea_id: n.idea_id,
            idea_title: n.idea_title,
            comment_id: n.comment_id,
            actor: n.actor_name,
            text: n.excerpt,
            created_at: n.created_at,
            read,
        },
        Entry::Announcement(a) => NotificationView {
            id: a.id,
            jam_id: a.jam_id,
            kind: NotificationKind::Announcement,
            idea_id: None,
            idea_title: None,
            comment_id: None,
            actor: None,
            text: Some(a.text),
            created_at: a.created_at,
            read,
        },
    }
}

/// `GET /me/notifications`: the caller's inbox, newest first, with the unread count.
pub async fn notifications(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let (me, jam_id) = me(&caller)?;
    let limit = query.limit(&state, 20)?;
    let before = query.cursor_uuid()?;
    let read_until = jam_store::inbox::read_until(&state.db, me).await?;
    let entries = jam_store::inbox::page(&state.db, me, jam_id, before, limit).await?;
    let unread = jam_store::inbox::unread(&state.db, me, jam_id, read_until).await?;
    let next_cursor = (entries.len() as u64 == limit)
        .then(|| entries.last().map(|e| e.id().to_string()))
        .flatten();
    let items = entries.into_iter().map(|e| view(e, read_until)).collect();
    Ok(HttpResponse::Ok().json(InboxView {
        items,
        next_cursor,
        unread,
    }))
}

/// `POST /me/notifications/read`: everything up to `up_to` (or everything so far) is read.
pub async fn mark_read(
    state: web::Data<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<MarkReadRequest>,
) -> ApiResult<HttpResponse> {
    let (me, jam_id) = me(&caller)?;
    let now = state.clock.now();
    // A v7 id of this moment orders after every entry written so far.
    let up_to = body.up_to.unwrap_or_else(Uuid::now_v7);
    jam_store::inbox::mark_read(&state.db, me, up_to, now).await?;
    let read_until = jam_store::inbox::read_until(&state.db, me).await?;
    let unread = jam_store::inbox::unread(&state.db, me, jam_id, read_until).await?;
    Ok(HttpResponse::Ok().json(UnreadView { unread }))
}

/// The caller (a participant of the idea's jam) and the idea, for following.
async fn followable(state: &AppState, caller: &Caller, raw: &str) -> ApiResult<(Uuid, ideas::Model)> {
    let (me, _) = me(caller)?;
    let (_, idea) = load_idea(state, caller, raw).await?;
    Ok((me, idea))
}

/// `PUT /ideas/{id}/follow`.
pub async fn follow(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (me, idea) = followable(&state, &caller, &id).await?;
    jam_store::inbox::follow(&state.db, idea.id, me, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(FollowView {
        idea_id: idea.id,
        following: true,
    }))
}

/// `DELETE /ideas/{id}/follow`.
pub async fn unfollow(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (me, idea) = followable(&state, &caller, &id).await?;
    jam_store::inbox::unfollow(&state.db, idea.id, me).await?;
    Ok(HttpResponse::Ok().json(FollowView {
        idea_id: idea.id,
        following: false,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MentionQuery {
    pub q: Option<String>,
}

/// `GET /jams/{slug}/mentions?q=`: the jam's participants whose name starts with `q`, for the
/// `@name` picker.
pub async fn mentions(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    query: web::Query<MentionQuery>,
) -> ApiResult<HttpResponse> {
    let jam = jam_by_slug(&state, &slug).await?;
    require_member(&caller, &jam, "jam")?;
    let q = query.q.as_deref().unwrap_or_default().trim();
    if q.chars().count() > state.settings.limits.idea_title_max {
        return Err(ApiError::invalid(
            "q",
            format!("give at most {} characters", state.settings.limits.idea_title_max),
        ));
    }
    let items = if q.is_empty() {
        Vec::new()
    } else {
        jam_store::inbox::names_starting(&state.db, jam.jam.id, &[q.to_owned()], PICKER_MAX)
            .await?
            .into_iter()
            .map(|(id, display_name)| MentionCandidate { id, display_name })
            .collect()
    };
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

/// Notifications to write with a change and push after its commit.
#[derive(Debug, Default)]
pub(crate) struct Tell(pub Vec<notifications::Model>);

impl Tell {
    /// The participants of `jam` that `text` mentions (`limits.mentions_max` at most).
    pub async fn mentioned(state: &AppState, jam: &JamFull, text: &str) -> ApiResult<Vec<Uuid>> {
        let max = state.settings.limits.mentions_max;
        let words = notify::mention_words(text, max);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        // Enough candidates that every mention's name is among them, however many share a prefix.
        let candidates = jam_store::inbox::names_starting(&state.db, jam.jam.id, &words, 1000).await?;
        Ok(notify::mentioned(text, &candidates, max))
    }

    /// Who hears of `comment` on `idea`: the idea's author, the parent's author, those mentioned,
    /// the followers (each once; see `notify::recipients_of_comment`).
    pub async fn of_comment(
        state: &AppState,
        jam: &JamFull,
        idea: &ideas::Model,
        comment: &comments::Model,
        actor: &str,
    ) -> ApiResult<Tell> {
        let parent_author = match comment.parent_id {
            Some(parent) => jam_store::comments::by_id(&state.db, parent)
                .await?
                .map(|p| p.author_id),
            None => None,
        };
        let mentioned = Self::mentioned(state, jam, &comment.body).await?;
        let followers = jam_store::inbox::followers(&state.db, idea.id).await?;
        let who = notify::recipients_of_comment(
            comment.author_id,
            idea.author_id,
            parent_author,
            &mentioned,
            &followers,
        );
        let rows = who
            .into_iter()
            .map(|(person, kind)| notifications::Model {
                comment_id: Some(comment.id),
                actor_name: Some(actor.to_owned()),
                excerpt: Some(excerpt(&comment.body)),
                ..notifications::Model::about(person, kind, idea, comment.created_at)
            })
            .collect();
        Ok(Tell(rows))
    }

    /// Who a new idea mentions (its author never hears of it).
    pub async fn of_idea(
        state: &AppState,
        jam: &JamFull,
        idea: &ideas::Model,
        actor: &str,
    ) -> ApiResult<Tell> {
        let text = format!("{}\n{}", idea.title, idea.body);
        let rows = Self::mentioned(state, jam, &text)
            .await?
            .into_iter()
            .filter(|p| *p != idea.author_id)
            .map(|person| notifications::Model {
                actor_name: Some(actor.to_owned()),
                excerpt: Some(excerpt(&idea.body)),
                ..notifications::Model::about(person, NotificationKind::Mention, idea, idea.created_at)
            })
            .collect();
        Ok(Tell(rows))
    }

    /// The author of `idea` hears of a moderation decision on it.
    pub fn decision(idea: &ideas::Model, status: ItemStatus, now: DateTime<Utc>) -> Tell {
        let kind = match status {
            ItemStatus::Hidden => NotificationKind::IdeaHidden,
            ItemStatus::Merged => NotificationKind::IdeaMerged,
            ItemStatus::Visible => NotificationKind::IdeaRestored,
            ItemStatus::Removed => return Tell::default(),
        };
        Tell(vec![notifications::Model::about(idea.author_id, kind, idea, now)])
    }

    /// Writes the rows, in the caller's transaction.
    pub async fn write(&self, db: &impl sea_orm::ConnectionTrait) -> ApiResult<()> {
        Ok(jam_store::inbox::insert(db, &self.0).await?)
    }

    /// Pushes each row on its recipient's `me:` topic; call after the commit.
    pub async fn push(self, state: &AppState) {
        for row in self.0 {
            let topic = me_topic(row.participant_id);
            let event = Event::Notification {
                notification: Box::new(view(Entry::Notification(row), None)),
            };
            publish(state, &[topic], &event).await;
        }
    }
}
