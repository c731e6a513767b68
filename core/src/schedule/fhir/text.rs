//! The checks on ids, references and free text that stand between a server's page and a log,
//! a URL or the screen; shared by the parser and the other resource readers.

use super::{MAX_DISPLAY_CHARS, RawConcept};

/// serde_json's message without any quoted input: the position and what was expected only
/// (the offending value could be a patient's name).
pub(crate) fn describe(e: &serde_json::Error) -> String {
    let at = format!("at line {} column {}", e.line(), e.column());
    if !e.is_data() {
        let msg = e.to_string();
        return match msg.rfind(" at line ") {
            Some(i) => format!("{} {at}", &msg[..i]),
            None => msg,
        };
    }
    let msg = e.to_string();
    let msg = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
    if msg.starts_with("missing field `") || msg.starts_with("duplicate field `") {
        return format!("{msg} {at}");
    }
    let head = msg.split(':').next().unwrap_or("invalid data");
    match msg.rfind(", expected ") {
        Some(i) => format!("{head} (expected {}) {at}", &msg[i + 11..]),
        None => format!("{head} {at}"),
    }
}

/// A FHIR `id`: `[A-Za-z0-9-.]{1,64}`. Anything else is refused: it goes into URLs and logs.
pub(crate) fn valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

pub(super) fn valid_type(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.as_bytes()[0].is_ascii_uppercase()
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `Type/id`, an absolute `…/Type/id`, or `Type/id/_history/n` → (type, id).
pub(crate) fn split_reference(r: &str) -> Option<(&str, &str)> {
    let r = r.split("/_history/").next().unwrap_or(r);
    let mut it = r.rsplit('/');
    let id = it.next()?;
    let ty = it.next()?;
    (valid_type(ty) && valid_id(id)).then_some((ty, id))
}

/// Text for display: control characters (terminal escapes included) become spaces, and at
/// most `max` characters are kept. Newlines and tabs stay when `multiline`.
pub(crate) fn clean(s: &str, max: usize, multiline: bool) -> Option<String> {
    let out: String = s
        .chars()
        .take(max)
        .map(|c| {
            let keep = multiline && (c == '\n' || c == '\t');
            if c.is_control() && !keep { ' ' } else { c }
        })
        .collect();
    let t = out.trim();
    (!t.is_empty()).then(|| t.to_string())
}

const VIDEO_WORDS: [&str; 7] = [
    "video",
    "telehealth",
    "telemedicine",
    "televisit",
    "tele-visit",
    "tele-health",
    "virtual",
];

pub(super) fn mentions_video(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    VIDEO_WORDS.iter().any(|w| l.contains(w))
}

/// A comment that *starts* with a video word ("Video follow-up", "Telehealth check"): free
/// text elsewhere in a comment ("refused video") must not turn a visit into a video visit.
pub(super) fn comment_says_video(c: &str) -> bool {
    let first = c.split_whitespace().next().unwrap_or("");
    let first = first.to_ascii_lowercase();
    VIDEO_WORDS.iter().any(|w| first.starts_with(w))
}

pub(super) fn concept_texts<'b>(c: &'b RawConcept<'_>) -> impl Iterator<Item = &'b str> + 'b {
    let codings = c.coding.iter().flatten();
    codings
        .flat_map(|k| [k.code.as_deref(), k.display.as_deref()])
        .chain(std::iter::once(c.text.as_deref()))
        .flatten()
}

pub(super) fn concept_label(c: &RawConcept<'_>) -> Option<String> {
    let first = c.coding.as_ref().and_then(|v| v.first());
    first
        .and_then(|k| k.display.as_deref())
        .or(c.text.as_deref())
        .and_then(|s| clean(s, MAX_DISPLAY_CHARS, false))
}
