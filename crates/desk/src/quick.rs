//! Quick replies: texts an agent inserts by typing `/shortcut` in the reply box. A reply is
//! global (`queue_id: None`) or belongs to one queue; in a conversation of that queue a queue's
//! reply hides a global one with the same shortcut.

use serde::{Deserialize, Serialize};

use crate::messages::{Vars, render};

/// The longest shortcut accepted.
pub const SHORTCUT_MAX: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReply {
    pub id: i64,
    /// Normalised (see [`normalise_shortcut`]), without the leading `/`.
    pub shortcut: String,
    /// May use the `{{variables}}` of [`crate::messages::render`].
    pub body: String,
    /// `None`: offered in every queue.
    pub queue_id: Option<i64>,
    /// Sent by link together with the text.
    pub attachment_url: Option<String>,
}

impl QuickReply {
    /// The body with the conversation's variables filled in.
    pub fn render(&self, vars: &Vars) -> String {
        render(&self.body, vars)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShortcutError {
    #[error("o atalho não pode ficar vazio")]
    Empty,
    #[error("o atalho pode ter no máximo {SHORTCUT_MAX} caracteres")]
    TooLong,
    #[error("o atalho só pode ter letras, números, - e _ (caractere {0:?} não permitido)")]
    InvalidChar(char),
}

/// Lowercase, without accents, without the leading `/`, spaces turned into `-`: "/Segunda Via"
/// → "segunda-via". Only letters a–z, digits, `-` and `_` remain valid.
pub fn normalise_shortcut(text: &str) -> Result<String, ShortcutError> {
    let folded = loose(text);
    if folded.is_empty() {
        return Err(ShortcutError::Empty);
    }
    if let Some(c) = folded
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(ShortcutError::InvalidChar(c));
    }
    if folded.chars().count() > SHORTCUT_MAX {
        return Err(ShortcutError::TooLong);
    }
    Ok(folded)
}

/// The shortcut form of what the agent typed so far, without refusing anything.
fn loose(text: &str) -> String {
    let trimmed = text.trim().trim_start_matches('/').trim();
    let words: Vec<String> = trimmed
        .split_whitespace()
        .map(|w| {
            w.chars()
                .flat_map(char::to_lowercase)
                .map(crate::text::strip_accent)
                .collect()
        })
        .collect();
    words.join("-")
}

/// The replies offered for `prefix` (what follows `/`; may be empty) in a conversation of
/// `queue`: global ones and that queue's, a queue's reply hiding a global one with the same
/// shortcut. Shortcuts that start with the prefix come first, then those that contain it, each
/// group in alphabetical order.
pub fn matching<'a>(
    prefix: &str,
    queue: Option<i64>,
    all: &'a [QuickReply],
) -> Vec<&'a QuickReply> {
    let wanted = loose(prefix);
    let in_scope: Vec<&QuickReply> = all
        .iter()
        .filter(|r| r.queue_id.is_none() || r.queue_id == queue)
        .collect();
    let visible = in_scope.iter().copied().filter(|r| {
        r.queue_id.is_some()
            || !in_scope
                .iter()
                .any(|o| o.queue_id.is_some() && o.shortcut == r.shortcut)
    });
    let mut starts: Vec<&QuickReply> = Vec::new();
    let mut contains: Vec<&QuickReply> = Vec::new();
    for r in visible {
        if r.shortcut.starts_with(&wanted) {
            starts.push(r);
        } else if r.shortcut.contains(&wanted) {
            contains.push(r);
        }
    }
    starts.sort_by(|a, b| (&a.shortcut, a.id).cmp(&(&b.shortcut, b.id)));
    contains.sort_by(|a, b| (&a.shortcut, a.id).cmp(&(&b.shortcut, b.id)));
    starts.extend(contains);
    starts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reply(id: i64, shortcut: &str, queue_id: Option<i64>) -> QuickReply {
        QuickReply {
            id,
            shortcut: shortcut.into(),
            body: format!("texto {id}"),
            queue_id,
            attachment_url: None,
        }
    }

    fn ids(replies: Vec<&QuickReply>) -> Vec<i64> {
        replies.into_iter().map(|r| r.id).collect()
    }

    #[test]
    fn normalises_shortcuts() {
        assert_eq!(normalise_shortcut("/Segunda Via").unwrap(), "segunda-via");
        assert_eq!(normalise_shortcut("  boleto_pix ").unwrap(), "boleto_pix");
        assert_eq!(normalise_shortcut("Promoção").unwrap(), "promocao");
        assert_eq!(normalise_shortcut("/"), Err(ShortcutError::Empty));
        assert_eq!(
            normalise_shortcut("a!b"),
            Err(ShortcutError::InvalidChar('!'))
        );
        assert_eq!(
            normalise_shortcut(&"a".repeat(SHORTCUT_MAX + 1)),
            Err(ShortcutError::TooLong)
        );
        assert!(normalise_shortcut(&"a".repeat(SHORTCUT_MAX)).is_ok());
    }

    #[test]
    fn picker_scope_order_and_shadowing() {
        let all = vec![
            reply(1, "boleto", None),
            reply(2, "bom-dia", None),
            reply(3, "boleto", Some(7)),
            reply(4, "segunda-via-boleto", None),
            reply(5, "suporte", Some(8)),
            reply(6, "bloqueio", Some(7)),
        ];
        // Queue 7: its "boleto" hides the global one.
        assert_eq!(ids(matching("bo", Some(7), &all)), vec![3, 2, 4]);
        assert_eq!(ids(matching("/Bo", None, &all)), vec![1, 2, 4]);
        assert_eq!(ids(matching("", Some(8), &all)), vec![1, 2, 4, 5]);
        assert_eq!(ids(matching("", Some(7), &all)), vec![6, 3, 2, 4]);
        assert!(matching("xyz", Some(7), &all).is_empty());
    }

    #[test]
    fn renders_with_variables() {
        let mut r = reply(1, "ola", None);
        r.body = "Olá, {{primeiro_nome}}! Sou {{agente}}.".into();
        let vars = Vars {
            nome: Some("Ana Souza".into()),
            agente: Some("Carlos".into()),
            ..Vars::default()
        };
        assert_eq!(r.render(&vars), "Olá, Ana! Sou Carlos.");
    }

    proptest! {
        #[test]
        fn normalised_shortcuts_are_stable(text in any::<String>()) {
            if let Ok(s) = normalise_shortcut(&text) {
                prop_assert_eq!(normalise_shortcut(&s), Ok(s.clone()));
                prop_assert!(!s.is_empty() && s.len() <= SHORTCUT_MAX);
            }
        }

        #[test]
        fn picker_offers_only_replies_in_scope(
            specs in proptest::collection::vec(("[a-c]{1,3}", proptest::option::of(1i64..4)), 0..12),
            queue in proptest::option::of(1i64..4),
            prefix in "[a-c]{0,2}",
        ) {
            let all: Vec<QuickReply> = specs.iter().enumerate()
                .map(|(i, (s, q))| reply(i as i64, s, *q)).collect();
            let found = matching(&prefix, queue, &all);
            for r in &found {
                prop_assert!(r.queue_id.is_none() || r.queue_id == queue);
                prop_assert!(r.shortcut.contains(&prefix));
            }
            // Every reply in scope whose shortcut has the prefix is offered, unless shadowed.
            for r in &all {
                let in_scope = r.queue_id.is_none() || r.queue_id == queue;
                let shadowed = r.queue_id.is_none()
                    && all.iter().any(|o| o.queue_id.is_some() && o.queue_id == queue && o.shortcut == r.shortcut);
                if in_scope && !shadowed && r.shortcut.contains(&prefix) {
                    prop_assert!(found.iter().any(|f| f.id == r.id));
                }
            }
        }
    }
}
