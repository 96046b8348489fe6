//! Notifications (issue 18): what a participant's inbox says happened, who is told, and the
//! `@name` mentions found in a post.
//!
//! - [`NotificationKind`]: the closed set of things an inbox entry can report, stored in
//!   `notifications.kind` and sent on the wire under the same lowercase names. `announcement` is
//!   never stored: announcements are read from the jam's own table and merged into each inbox, so
//!   an announcement to 100,000 participants writes one row, not 100,000.
//! - [`recipients_of_comment`]: who hears of a new comment, each person once, with the kind that
//!   concerns them most (a reply to me before a mention of me before activity on what I follow).
//! - [`mention_words`] and [`mentioned`]: mentions are `@` followed by a participant's display name
//!   (case-insensitive, ending at a non-alphanumeric character), so names with spaces work; the
//!   longest name that matches wins, and every participant bearing it is mentioned.

use std::collections::HashSet;
use std::fmt;

#[cfg(feature = "sea-orm")]
use sea_orm::sea_query::StringLen;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What an inbox entry reports.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(rs_type = "String", db_type = "String(StringLen::None)")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// Someone replied to my idea or to my comment.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "reply"))]
    Reply,
    /// Someone wrote `@my name` in an idea or a comment.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "mention"))]
    Mention,
    /// Someone commented on an idea I follow (not mine: that is a reply).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "follow"))]
    Follow,
    /// A facilitator merged my idea into another.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "idea_merged"))]
    IdeaMerged,
    /// A facilitator hid my idea.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "idea_hidden"))]
    IdeaHidden,
    /// A facilitator restored my idea.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "idea_restored"))]
    IdeaRestored,
    /// My idea is on the published shortlist.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "idea_shortlisted"))]
    IdeaShortlisted,
    /// A facilitator's announcement to the whole jam (derived, never stored per participant).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "announcement"))]
    Announcement,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 8] = [
        NotificationKind::Reply,
        NotificationKind::Mention,
        NotificationKind::Follow,
        NotificationKind::IdeaMerged,
        NotificationKind::IdeaHidden,
        NotificationKind::IdeaRestored,
        NotificationKind::IdeaShortlisted,
        NotificationKind::Announcement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Reply => "reply",
            NotificationKind::Mention => "mention",
            NotificationKind::Follow => "follow",
            NotificationKind::IdeaMerged => "idea_merged",
            NotificationKind::IdeaHidden => "idea_hidden",
            NotificationKind::IdeaRestored => "idea_restored",
            NotificationKind::IdeaShortlisted => "idea_shortlisted",
            NotificationKind::Announcement => "announcement",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is told of a new comment, and as what. Each person appears once, with the kind that
/// concerns them most: the idea's author and the parent comment's author get `reply`, the people
/// mentioned `mention`, the idea's followers `follow`. The comment's author is never told of their
/// own comment. Order: replies, then mentions, then followers, each in the order given.
pub fn recipients_of_comment(
    comment_author: Uuid,
    idea_author: Uuid,
    parent_author: Option<Uuid>,
    mentioned: &[Uuid],
    followers: &[Uuid],
) -> Vec<(Uuid, NotificationKind)> {
    let mut seen = HashSet::from([comment_author]);
    let mut out = Vec::new();
    let replies = std::iter::once(idea_author).chain(parent_author);
    let groups = replies
        .map(|p| (p, NotificationKind::Reply))
        .chain(mentioned.iter().map(|&p| (p, NotificationKind::Mention)))
        .chain(followers.iter().map(|&p| (p, NotificationKind::Follow)));
    for (person, kind) in groups {
        if seen.insert(person) {
            out.push((person, kind));
        }
    }
    out
}

/// Where each mention in `text` starts: the byte offset just after an `@` that begins the text or
/// follows a character that is not alphanumeric (so `ada@example.org` mentions no one), and is
/// followed by a letter or a digit. At most `max` of them, in order.
pub fn mention_starts(text: &str, max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if out.len() >= max {
            break;
        }
        if c == '@' && !prev.is_some_and(char::is_alphanumeric) {
            let start = i + c.len_utf8();
            if text[start..].chars().next().is_some_and(char::is_alphanumeric) {
                out.push(start);
            }
        }
        prev = Some(c);
    }
    out
}

/// The first word of each mention, lower-cased and without repeats: what a store looks names up
/// by (a display name mentioned starts with it). At most `max` mentions are read.
pub fn mention_words(text: &str, max: usize) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for start in mention_starts(text, max) {
        let word: String = text[start..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == '.' || *c == '\'')
            .collect::<String>()
            .trim_end_matches(['.', '-', '\''])
            .to_lowercase();
        if !word.is_empty() && !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

/// How many bytes of `hay` spell `name` (ignoring case), if `hay` starts with it and the name is
/// not followed by a letter or a digit.
fn spelled_at(hay: &str, name: &str) -> Option<usize> {
    let mut rest = hay.char_indices();
    let mut end = 0;
    for n in name.chars() {
        let (i, h) = rest.next()?;
        if !h.to_lowercase().eq(n.to_lowercase()) {
            return None;
        }
        end = i + h.len_utf8();
    }
    if hay[end..].chars().next().is_some_and(char::is_alphanumeric) {
        return None;
    }
    (end > 0).then_some(end)
}

/// The participants `text` mentions among `names` (id, display name): at each mention the longest
/// name spelled there wins, and everyone bearing that name is mentioned. Each id once, in order.
pub fn mentioned(text: &str, names: &[(Uuid, String)], max: usize) -> Vec<Uuid> {
    let mut out: Vec<Uuid> = Vec::new();
    for start in mention_starts(text, max) {
        let hay = &text[start..];
        let best = names
            .iter()
            .filter_map(|(_, name)| spelled_at(hay, name.trim()).map(|len| (len, name.trim().to_lowercase())))
            .max_by_key(|(len, _)| *len);
        let Some((_, best)) = best else { continue };
        for (id, name) in names {
            if name.trim().to_lowercase() == best && !out.contains(id) {
                out.push(*id);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap_or_default(),
                serde_json::Value::String(kind.as_str().into())
            );
        }
        assert_eq!(NotificationKind::parse("poke"), None);
    }

    #[test]
    fn each_person_is_told_once_with_what_concerns_them_most() {
        let (me, author, parent, fan, other) = (id(1), id(2), id(3), id(4), id(5));
        let got = recipients_of_comment(
            me,
            author,
            Some(parent),
            &[parent, fan, me],
            &[author, fan, other, me],
        );
        assert_eq!(
            got,
            vec![
                (author, NotificationKind::Reply),
                (parent, NotificationKind::Reply),
                (fan, NotificationKind::Mention),
                (other, NotificationKind::Follow),
            ]
        );
        // Commenting on my own idea tells no one but my followers.
        assert_eq!(
            recipients_of_comment(me, me, None, &[], &[me, fan]),
            vec![(fan, NotificationKind::Follow)]
        );
    }

    #[test]
    fn mentions_start_after_an_at_sign_that_is_not_inside_a_word() {
        let text = "@Ada and ada@example.org, (@Bob) @ nobody @@x";
        let words = mention_words(text, 10);
        assert_eq!(words, ["ada", "bob", "x"]);
        assert_eq!(mention_words("@Ada @ada @ADA.", 10), ["ada"]);
        assert_eq!(mention_words("@a @b @c", 2), ["a", "b"]);
        assert!(mention_words("no mentions here", 10).is_empty());
    }

    #[test]
    fn the_longest_name_spelled_wins_and_everyone_bearing_it_is_mentioned() {
        let names = vec![
            (id(1), "Ada".to_owned()),
            (id(2), "Ada Lovelace".to_owned()),
            (id(3), "ada lovelace".to_owned()),
            (id(4), "Éloïse".to_owned()),
            (id(5), "Adam".to_owned()),
        ];
        assert_eq!(mentioned("Thanks @ada lovelace!", &names, 10), [id(2), id(3)]);
        assert_eq!(mentioned("Thanks @Ada, and @éLOÏSE.", &names, 10), [id(1), id(4)]);
        // "@Adamant" is neither Ada nor Adam: a name ends where the word does.
        assert!(mentioned("@Adamant", &names, 10).is_empty());
        assert_eq!(mentioned("@Adam @adam", &names, 10), [id(5)]);
        assert!(mentioned("mail ada@x.org", &names, 10).is_empty());
    }
}
