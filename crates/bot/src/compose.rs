//! Builds outbound messages that always fit the Cloud API limits (whatsapp-cloud-api.md §2), so a
//! long edited text or a customer with many invoices never makes a send fail: long bodies are
//! split at line breaks, titles are cut with "…", lists are chunked into messages of 10 rows.

use balcao_domain::outbound::{ListRow, ListSection, OutboundContent, ReplyButton};

pub const TEXT_BODY_MAX: usize = 4096;
pub const INTERACTIVE_BODY_MAX: usize = 1024;
pub const BUTTONS_MAX: usize = 3;
pub const BUTTON_TITLE_MAX: usize = 20;
pub const BUTTON_ID_MAX: usize = 256;
pub const LIST_ROWS_MAX: usize = 10;
pub const LIST_BUTTON_MAX: usize = 20;
pub const ROW_TITLE_MAX: usize = 24;
pub const ROW_DESCRIPTION_MAX: usize = 72;
pub const ROW_ID_MAX: usize = 200;
pub const CAPTION_MAX: usize = 1024;

/// At most `max` characters; a cut text ends with "…".
pub fn truncate(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// Splits `body` into pieces of at most `max` characters, at line breaks where possible.
pub fn split_body(body: &str, max: usize) -> Vec<String> {
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in body.split('\n') {
        let mut line = line.to_owned();
        // A single line longer than the limit is cut into hard pieces.
        while line.chars().count() > max {
            if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            let head: String = line.chars().take(max).collect();
            line = line.chars().skip(max).collect();
            pieces.push(head);
        }
        let needed = if current.is_empty() {
            line.chars().count()
        } else {
            current.chars().count() + 1 + line.chars().count()
        };
        if needed > max {
            pieces.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.trim().is_empty() {
        pieces.push(current);
    }
    pieces.retain(|piece| !piece.trim().is_empty());
    pieces
}

/// Plain text message(s).
pub fn text(body: &str) -> Vec<OutboundContent> {
    split_body(body, TEXT_BODY_MAX)
        .into_iter()
        .map(|body| OutboundContent::Text {
            body,
            preview_url: false,
        })
        .collect()
}

/// A reply-button message: at most three buttons with unique titles of at most 20 characters.
/// A body over the interactive limit goes first as text, the last piece carries the buttons.
pub fn buttons(body: &str, choices: &[(String, String)]) -> Vec<OutboundContent> {
    let mut pieces = split_body(body, INTERACTIVE_BODY_MAX);
    let last = pieces.pop().unwrap_or_else(|| "…".to_owned());
    let mut out: Vec<OutboundContent> = pieces
        .into_iter()
        .map(|body| OutboundContent::Text {
            body,
            preview_url: false,
        })
        .collect();
    let titles = unique_titles(
        choices
            .iter()
            .take(BUTTONS_MAX)
            .map(|(_, title)| title.as_str()),
        BUTTON_TITLE_MAX,
    );
    let buttons: Vec<ReplyButton> = choices
        .iter()
        .take(BUTTONS_MAX)
        .zip(titles)
        .map(|((id, _), title)| ReplyButton {
            id: truncate_id(id, BUTTON_ID_MAX),
            title,
        })
        .collect();
    if buttons.is_empty() {
        out.push(OutboundContent::Text {
            body: last,
            preview_url: false,
        });
    } else {
        out.push(OutboundContent::Buttons {
            body: last,
            header: None,
            footer: None,
            buttons,
        });
    }
    out
}

/// One option of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

/// List message(s) of at most 10 rows each. `body` heads the first one; the others use
/// `continued(part, parts)`.
pub fn list(
    body: &str,
    button: &str,
    rows: &[Row],
    continued: impl Fn(usize, usize) -> String,
) -> Vec<OutboundContent> {
    if rows.is_empty() {
        return text(body);
    }
    let chunks: Vec<&[Row]> = rows.chunks(LIST_ROWS_MAX).collect();
    let parts = chunks.len();
    let mut out = Vec::new();
    for (index, chunk) in chunks.into_iter().enumerate() {
        let heading = if index == 0 {
            body.to_owned()
        } else {
            continued(index + 1, parts)
        };
        let mut pieces = split_body(&heading, INTERACTIVE_BODY_MAX);
        let last = pieces.pop().unwrap_or_else(|| "…".to_owned());
        out.extend(pieces.into_iter().map(|body| OutboundContent::Text {
            body,
            preview_url: false,
        }));
        let titles = unique_titles(chunk.iter().map(|row| row.title.as_str()), ROW_TITLE_MAX);
        let rows = chunk
            .iter()
            .zip(titles)
            .map(|(row, title)| ListRow {
                id: truncate_id(&row.id, ROW_ID_MAX),
                title,
                description: row
                    .description
                    .as_deref()
                    .map(|d| truncate(d, ROW_DESCRIPTION_MAX))
                    .filter(|d| !d.is_empty()),
            })
            .collect();
        out.push(OutboundContent::List {
            body: last,
            button: non_empty(truncate(button, LIST_BUTTON_MAX)),
            header: None,
            footer: None,
            sections: vec![ListSection { title: None, rows }],
        });
    }
    out
}

/// A document sent by link.
pub fn document(link: &str, filename: &str, caption: &str) -> OutboundContent {
    OutboundContent::Document {
        link: link.to_owned(),
        filename: Some(filename.to_owned()),
        caption: Some(truncate(caption, CAPTION_MAX)).filter(|c| !c.is_empty()),
    }
}

fn non_empty(text: String) -> String {
    if text.is_empty() {
        "…".to_owned()
    } else {
        text
    }
}

fn truncate_id(id: &str, max: usize) -> String {
    id.chars().take(max).collect()
}

/// Truncated titles, made unique (WhatsApp refuses equal button titles) by numbering repeats.
fn unique_titles<'a>(titles: impl Iterator<Item = &'a str>, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for title in titles {
        let mut candidate = non_empty(truncate(title, max));
        let mut n = 2;
        while out.contains(&candidate) {
            let suffix = format!(" {n}");
            let room = max.saturating_sub(suffix.chars().count());
            candidate = format!("{}{suffix}", truncate(title, room));
            n += 1;
        }
        out.push(candidate);
    }
    out
}

/// Whether a message respects every limit this module enforces (used by the tests).
pub fn fits_limits(content: &OutboundContent) -> bool {
    let len = |s: &str| s.chars().count();
    match content {
        OutboundContent::Text { body, .. } => !body.trim().is_empty() && len(body) <= TEXT_BODY_MAX,
        OutboundContent::Buttons { body, buttons, .. } => {
            let mut titles: Vec<&str> = buttons.iter().map(|b| b.title.as_str()).collect();
            titles.sort_unstable();
            titles.dedup();
            !body.trim().is_empty()
                && len(body) <= INTERACTIVE_BODY_MAX
                && (1..=BUTTONS_MAX).contains(&buttons.len())
                && titles.len() == buttons.len()
                && buttons.iter().all(|b| {
                    !b.title.is_empty()
                        && len(&b.title) <= BUTTON_TITLE_MAX
                        && !b.id.is_empty()
                        && len(&b.id) <= BUTTON_ID_MAX
                })
        }
        OutboundContent::List {
            body,
            button,
            sections,
            ..
        } => {
            let rows: Vec<&ListRow> = sections.iter().flat_map(|s| s.rows.iter()).collect();
            !body.trim().is_empty()
                && len(body) <= INTERACTIVE_BODY_MAX
                && !button.is_empty()
                && len(button) <= LIST_BUTTON_MAX
                && (1..=LIST_ROWS_MAX).contains(&rows.len())
                && rows.iter().all(|row| {
                    !row.title.is_empty()
                        && len(&row.title) <= ROW_TITLE_MAX
                        && row
                            .description
                            .as_deref()
                            .is_none_or(|d| len(d) <= ROW_DESCRIPTION_MAX)
                        && !row.id.is_empty()
                        && len(&row.id) <= ROW_ID_MAX
                })
        }
        OutboundContent::Document { caption, link, .. } => {
            !link.is_empty() && caption.as_deref().is_none_or(|c| len(c) <= CAPTION_MAX)
        }
        OutboundContent::Image { .. } | OutboundContent::Template(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(
            truncate("Desbloqueio de confiança", 24),
            "Desbloqueio de confiança"
        );
        assert_eq!(
            truncate("Falar com o financeiro agora", 20),
            "Falar com o finance…"
        );
        assert_eq!(truncate("abc", 0), "…");
    }

    #[test]
    fn long_bodies_are_split_at_line_breaks() {
        let body = format!("{}\n{}", "a".repeat(10), "b".repeat(10));
        assert_eq!(split_body(&body, 15), vec!["a".repeat(10), "b".repeat(10)]);
        assert_eq!(split_body(&body, 30), vec![body.clone()]);
        assert_eq!(split_body(&"x".repeat(7), 3), vec!["xxx", "xxx", "x"]);
    }

    #[test]
    fn lists_are_chunked_into_ten_rows() {
        let rows: Vec<Row> = (1..=23)
            .map(|n| Row {
                id: format!("bot:invoice:{n}"),
                title: format!("Opção número {n} com título comprido"),
                description: Some("d".repeat(100)),
            })
            .collect();
        let messages = list("Escolha", "Ver opções", &rows, |p, n| {
            format!("Parte {p}/{n}")
        });
        assert_eq!(messages.len(), 3);
        assert!(messages.iter().all(fits_limits));
        let OutboundContent::List { sections, body, .. } = &messages[2] else {
            panic!()
        };
        assert_eq!(body, "Parte 3/3");
        assert_eq!(sections[0].rows.len(), 3);
        assert_eq!(sections[0].rows[2].id, "bot:invoice:23");
    }

    #[test]
    fn buttons_are_capped_unique_and_fit() {
        let choices: Vec<(String, String)> = ["Falar com financeiro agora mesmo"; 4]
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("id{i}"), t.to_string()))
            .collect();
        let messages = buttons(&"linha\n".repeat(400), &choices);
        assert!(messages.len() > 1);
        assert!(messages.iter().all(fits_limits), "{messages:?}");
        let Some(OutboundContent::Buttons { buttons, .. }) = messages.last() else {
            panic!()
        };
        assert_eq!(buttons.len(), 3);
    }

    proptest! {
        #[test]
        fn split_keeps_every_character_and_respects_the_limit(body in "[a-z \\n]{0,300}", max in 1usize..50) {
            let pieces = split_body(&body, max);
            prop_assert!(pieces.iter().all(|p| p.chars().count() <= max));
            let kept: String = pieces.concat().chars().filter(|c| !c.is_whitespace()).collect();
            let original: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            prop_assert_eq!(kept, original);
        }
    }
}
