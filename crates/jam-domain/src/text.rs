//! Validated text. Each type has private contents and one `parse` that checks it, so no unchecked
//! string reaches storage. Text is stored exactly as typed (it round-trips byte for byte): parsing
//! rejects what is invalid, it never rewrites it, except where a type says so (display names and
//! e-mail addresses are trimmed; e-mail addresses are lower-cased).

use std::fmt;

use serde::Serialize;

/// One invalid field, as reported in problem+json `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Length bounds in characters (Unicode scalar values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub min: usize,
    pub max: usize,
}

impl Bounds {
    pub const fn new(min: usize, max: usize) -> Self {
        Self { min, max }
    }
}

/// Whether line breaks and tabs are allowed (multi-line text) or not (a single line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    Single,
    Multi,
}

/// Checks free text: length in bounds, not blank when required, no control characters
/// (NUL included) except newlines and tabs in multi-line text.
pub fn check_text(field: &str, value: &str, bounds: Bounds, lines: Lines) -> Result<(), FieldError> {
    let len = value.chars().count();
    if bounds.min > 0 && value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be blank"));
    }
    if len < bounds.min {
        return Err(FieldError::new(
            field,
            format!("must be at least {} characters", bounds.min),
        ));
    }
    if len > bounds.max {
        return Err(FieldError::new(
            field,
            format!("must be at most {} characters", bounds.max),
        ));
    }
    let allowed = |c: char| lines == Lines::Multi && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    if lines == Lines::Single && value.chars().any(is_invisible_control) {
        return Err(FieldError::new(
            field,
            "must not contain direction overrides or invisible characters",
        ));
    }
    Ok(())
}

/// Bidirectional controls (which can make a name or a title read backwards, `\u{202E}`) and
/// invisible characters that make two lines look alike (zero-width space, word joiner, byte order
/// mark). Zero-width joiners (U+200C, U+200D) stay: emoji sequences and Persian need them.
fn is_invisible_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// A jam's URL name: 3–64 characters of `a-z`, `0-9` and inner `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let ok_chars = value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(3..=64).contains(&value.len()) {
            return Err(FieldError::new(field, "must be 3 to 64 characters"));
        }
        if !ok_chars || value.starts_with('-') || value.ends_with('-') || value.contains("--") {
            return Err(FieldError::new(
                field,
                "may contain only a-z, 0-9 and single inner hyphens (e.g. `innovation-2026`)",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as others see it: trimmed, 1–60 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub const BOUNDS: Bounds = Bounds::new(1, 60);

    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let trimmed = value.trim();
        check_text(field, trimmed, Self::BOUNDS, Lines::Single)?;
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A staff e-mail address: trimmed, lower-cased, one `@` with text on both sides, at most 254 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let v = value.trim().to_lowercase();
        let valid = v.len() <= 254
            && !v.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(v.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@') && !domain.starts_with('.') && !domain.ends_with('.'));
        if !valid {
            return Err(FieldError::new(field, "must be an e-mail address"));
        }
        Ok(Self(v))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shortest invite code: a shared code is the only key to a jam's welcome page and join, so it must
/// be long enough not to be guessed (rate limits then make guessing 10 characters hopeless).
pub const INVITE_CODE_MIN: usize = 10;

/// An invite code: 10–64 characters of letters, digits, `-` and `_`.
pub fn check_invite_code(field: &str, value: &str) -> Result<(), FieldError> {
    let ok = (INVITE_CODE_MIN..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be 10 to 64 characters of letters, digits, '-' or '_'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn invite_codes_need_ten_to_64_safe_characters() {
        assert!(check_invite_code("c", "abcdef-12_").is_ok());
        assert!(check_invite_code("c", &"x".repeat(64)).is_ok());
        for bad in [
            "short-12",
            "abcdefghi",
            "",
            "has space-1",
            "ünïcode-123",
            &"x".repeat(65),
        ] {
            assert!(check_invite_code("c", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn slugs_accept_lowercase_words_joined_by_single_hyphens() {
        assert!(Slug::parse("slug", "innovation-jam-2026").is_ok());
        for bad in [
            "ab",
            "Upper",
            "-lead",
            "trail-",
            "double--dash",
            "spa ce",
            "ünï",
            "a_b",
            &"x".repeat(65),
        ] {
            assert!(Slug::parse("slug", bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn text_rejects_control_characters_but_multi_line_text_keeps_newlines() {
        let b = Bounds::new(1, 100);
        assert!(check_text("t", "a\0b", b, Lines::Multi).is_err());
        assert!(check_text("t", "a\u{7}b", b, Lines::Multi).is_err());
        assert!(check_text("t", "line\nline", b, Lines::Single).is_err());
        assert!(check_text("t", "line\r\n\tline", b, Lines::Multi).is_ok());
        assert!(check_text("t", "   ", b, Lines::Single).is_err());
        assert!(check_text("t", "", Bounds::new(0, 5), Lines::Multi).is_ok());
    }

    #[test]
    fn single_line_text_refuses_direction_overrides_and_zero_width_spaces() {
        let one = Bounds::new(1, 50);
        for bad in ["evil\u{202E}gnp.exe", "a\u{200B}b", "\u{2067}x", "\u{FEFF}name"] {
            assert!(check_text("t", bad, one, Lines::Single).is_err(), "{bad:?}");
            assert!(
                check_text("t", bad, one, Lines::Multi).is_ok(),
                "{bad:?} in a body"
            );
        }
        // Joiners stay: emoji sequences and Persian need them.
        assert!(check_text("t", "family \u{1F468}\u{200D}\u{1F469}", one, Lines::Single).is_ok());
        assert!(check_text("t", "\u{0645}\u{06CC}\u{200C}\u{062E}", one, Lines::Single).is_ok());
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        let b = Bounds::new(1, 3);
        assert!(check_text("t", "ééé", b, Lines::Single).is_ok());
        assert!(check_text("t", "éééé", b, Lines::Single).is_err());
    }

    #[test]
    fn display_names_are_trimmed_and_emails_lower_cased() {
        assert_eq!(
            DisplayName::parse("n", "  Ada  ").map(|n| n.into_string()),
            Ok("Ada".to_owned())
        );
        assert_eq!(
            Email::parse("e", " Ada@Example.ORG ").map(|e| e.as_str().to_owned()),
            Ok("ada@example.org".into())
        );
        for bad in ["ada", "@x.org", "ada@", "ada@org", "a b@x.org", "a@b@c.org"] {
            assert!(Email::parse("e", bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn accepted_text_is_stored_unchanged(s in "\\PC{1,50}") {
            if check_text("t", &s, Bounds::new(1, 50), Lines::Multi).is_ok() {
                prop_assert!(!s.chars().any(|c| c == '\0'));
                prop_assert!(!s.trim().is_empty());
            }
        }

        #[test]
        fn any_valid_slug_round_trips(s in "[a-z0-9]{1,20}(-[a-z0-9]{1,20}){0,2}") {
            if s.len() >= 3 {
                prop_assert_eq!(Slug::parse("slug", &s).map(|x| x.as_str().to_owned()), Ok(s.clone()));
            }
        }
    }
}
