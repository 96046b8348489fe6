//! Writing rows: one at a time ([`insert`]), many in multi-row statements ([`insert_all`]), and
//! [`Seed`], the jam most vote and tally tests and benchmarks start from.

use chrono::Utc;
use jam_domain::{AudienceId, IdeaId, JamId, ParticipantId, VoteValue};
use jam_store::entity::{audiences, ideas, jams, participants, sessions};
use jam_store::votes::VoteInput;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Iterable, ModelTrait};

use crate::rows::{self, With};

/// Bound parameters per multi-row INSERT: well inside SQLite's (32,766) and PostgreSQL's (65,535)
/// limits, and large enough that a statement carries hundreds of rows.
const PARAMETERS_PER_STATEMENT: usize = 10_000;

/// The active model of the row type `M`.
type ActiveOf<M> = <<M as ModelTrait>::Entity as EntityTrait>::ActiveModel;

/// Writes one row as it is (every column set).
pub async fn insert<M>(db: &impl ConnectionTrait, row: &M) -> Result<(), DbErr>
where
    M: ModelTrait + Clone,
    ActiveOf<M>: From<M> + ActiveModelTrait<Entity = M::Entity>,
{
    M::Entity::insert(ActiveOf::<M>::from(row.clone()))
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Writes rows of one table in multi-row INSERTs of as many rows as fit in
/// `PARAMETERS_PER_STATEMENT` bound values. Wrap it in a transaction to make it one commit.
pub async fn insert_all<M>(db: &impl ConnectionTrait, rows: &[M]) -> Result<(), DbErr>
where
    M: ModelTrait + Clone,
    ActiveOf<M>: From<M> + ActiveModelTrait<Entity = M::Entity>,
{
    let columns = <M::Entity as EntityTrait>::Column::iter().count().max(1);
    let per_statement = (PARAMETERS_PER_STATEMENT / columns).max(1);
    for chunk in rows.chunks(per_statement) {
        M::Entity::insert_many(chunk.iter().cloned().map(ActiveOf::<M>::from))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// A live jam with one audience, one open session, participants in that audience and ideas in
/// that session (authored in turn by the participants), built as rows first so a test or a
/// benchmark can change any of them (add audiences, move participants, close the jam) before
/// [`Seed::insert`] writes them.
#[derive(Clone, Debug)]
pub struct Seed {
    pub jam: jams::Model,
    /// The first one is everyone's: see [`Seed::audience`].
    pub audiences: Vec<audiences::Model>,
    pub session: sessions::Model,
    pub participants: Vec<participants::Model>,
    pub ideas: Vec<ideas::Model>,
}

impl Seed {
    /// The rows, not written yet. Ideas need at least one participant to author them.
    pub fn new(participants: usize, ideas: usize) -> Self {
        assert!(
            participants > 0 || ideas == 0,
            "a seed with ideas needs a participant to author them"
        );
        let jam = rows::jam();
        let audience = rows::audience(&jam);
        let session = rows::session(&jam);
        let people: Vec<participants::Model> = (0..participants)
            .map(|i| rows::participant(&audience).with(|p| p.display_name = format!("Voter {i}")))
            .collect();
        let ideas = (0..ideas)
            .map(|i| {
                let title = format!("Idea {i}");
                let author = &people[i % people.len()];
                ideas::Model::posted(&session, author.id, title, String::new(), &[], jam.created_at)
            })
            .collect();
        Seed {
            jam,
            audiences: vec![audience],
            session,
            participants: people,
            ideas,
        }
    }

    /// Builds and writes a seed of `participants` and `ideas`.
    pub async fn inserted(
        db: &impl ConnectionTrait,
        participants: usize,
        ideas: usize,
    ) -> Result<Self, DbErr> {
        let seed = Self::new(participants, ideas);
        seed.insert(db).await?;
        Ok(seed)
    }

    /// Writes every row, parents first, participants and ideas in multi-row statements.
    pub async fn insert(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        insert(db, &self.jam).await?;
        insert_all(db, &self.audiences).await?;
        insert(db, &self.session).await?;
        insert_all(db, &self.participants).await?;
        insert_all(db, &self.ideas).await
    }

    /// The audience every participant starts in.
    pub fn audience(&self) -> &audiences::Model {
        &self.audiences[0]
    }

    /// Participant `participant`'s vote on idea `idea` (indexes into the seed), cast now.
    /// `value` is 1, -1 or 0 (a retraction); anything else is a mistake in the test and panics.
    pub fn vote(&self, participant: usize, idea: usize, value: i16) -> VoteInput {
        let voter = &self.participants[participant];
        VoteInput {
            idea_id: IdeaId(self.ideas[idea].id),
            participant_id: ParticipantId(voter.id),
            jam_id: JamId(self.jam.id),
            audience_id: AudienceId(voter.audience_id),
            value: VoteValue::try_from(value).unwrap_or_else(|e| panic!("vote value {value}: {e}")),
            at: Utc::now(),
        }
    }
}
