//! The queue menu: the numbered text ("1 - Financeiro"), the same options as a WhatsApp list, and
//! reading the subscriber's answer however it is typed. Locked (inactive) queues are never
//! offered and never chosen.

use balcao_domain::outbound::{ListRow, ListSection, OutboundContent};
use serde::{Deserialize, Serialize};

use crate::text::{fold, number_word, truncate_chars};

/// Prefix of the list-reply ids of the menu rows: `queue:{id}`.
pub const QUEUE_REPLY_PREFIX: &str = "queue:";
/// The list's button (WhatsApp: at most 20 characters).
pub const MENU_BUTTON: &str = "Ver opções";
/// WhatsApp limits of a list message.
const ROW_TITLE_MAX: usize = 24;
const ROW_DESCRIPTION_MAX: usize = 72;
const LIST_ROWS_MAX: usize = 10;

/// A queue as the menu sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueOption {
    pub id: i64,
    /// Unique per workspace; the number the subscriber types.
    pub option_number: u16,
    pub name: String,
    /// `false`: locked, not offered.
    pub active: bool,
}

/// What the subscriber chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Queue(i64),
    Invalid,
}

/// The list-reply id of a queue's row.
pub fn queue_reply_id(queue_id: i64) -> String {
    format!("{QUEUE_REPLY_PREFIX}{queue_id}")
}

/// The queues offered, by option number.
pub fn offered(queues: &[QueueOption]) -> Vec<&QueueOption> {
    let mut out: Vec<&QueueOption> = queues.iter().filter(|q| q.active).collect();
    out.sort_by_key(|q| (q.option_number, q.id));
    out
}

fn option_line(q: &QueueOption) -> String {
    format!("{} - {}", q.option_number, q.name.trim())
}

/// `intro`, a blank line, then one "1 - Financeiro" line per offered queue.
pub fn menu_text(intro: &str, queues: &[QueueOption]) -> String {
    let lines: Vec<String> = offered(queues).into_iter().map(option_line).collect();
    let intro = intro.trim();
    match (intro.is_empty(), lines.is_empty()) {
        (_, true) => intro.to_owned(),
        (true, false) => lines.join("\n"),
        (false, false) => format!("{intro}\n\n{}", lines.join("\n")),
    }
}

/// The same options as a WhatsApp list (rows `queue:{id}`, titles "1 - Financeiro" cut to 24
/// characters with the full name in the description when cut). `None` when there is nothing to
/// offer or more than a list holds (10 rows): the text menu alone is then sent.
pub fn menu_list(body: &str, queues: &[QueueOption]) -> Option<OutboundContent> {
    let offered = offered(queues);
    if offered.is_empty() || offered.len() > LIST_ROWS_MAX {
        return None;
    }
    let rows = offered
        .into_iter()
        .map(|q| {
            let full = option_line(q);
            let title = truncate_chars(&full, ROW_TITLE_MAX);
            let description =
                (title != full).then(|| truncate_chars(q.name.trim(), ROW_DESCRIPTION_MAX));
            ListRow {
                id: queue_reply_id(q.id),
                title,
                description,
            }
        })
        .collect();
    let body = body.trim();
    Some(OutboundContent::List {
        body: if body.is_empty() {
            "Escolha uma opção:".to_owned()
        } else {
            body.to_owned()
        },
        button: MENU_BUTTON.to_owned(),
        header: None,
        footer: None,
        sections: vec![ListSection { title: None, rows }],
    })
}

/// Words people put around the number or the name: "opção 2", "nº 2", "quero o financeiro".
const FILLERS: [&str; 16] = [
    "opcao", "opc", "op", "numero", "num", "nº", "n", "no", "a", "o", "e", "quero", "escolho",
    "setor", "digito", "falar",
];

/// The active queue whose folded name is `name` (accents and case ignored), e.g. the bot's
/// handoff sector.
pub fn match_queue_name(name: &str, queues: &[QueueOption]) -> Option<i64> {
    let wanted = fold(name);
    if wanted.is_empty() {
        return None;
    }
    offered(queues)
        .into_iter()
        .find(|q| fold(&q.name) == wanted)
        .map(|q| q.id)
}

/// Reads the subscriber's answer to the menu: the list reply id (`queue:{id}`), the option number
/// ("1", " 2 ", "opção 2", "2 - suporte", "dois"), or the queue's name without accents or case
/// ("financeiro", "quero falar com o suporte técnico"). A locked queue, an unknown number, a
/// number that contradicts the name typed with it, or a name that fits several queues is
/// [`Choice::Invalid`].
pub fn parse_choice(text: Option<&str>, reply_id: Option<&str>, queues: &[QueueOption]) -> Choice {
    let offered = offered(queues);
    if let Some(id) = reply_id.and_then(|r| r.trim().strip_prefix(QUEUE_REPLY_PREFIX)) {
        return match id.parse::<i64>() {
            Ok(id) if offered.iter().any(|q| q.id == id) => Choice::Queue(id),
            _ => Choice::Invalid,
        };
    }
    let Some(text) = text else {
        return Choice::Invalid;
    };
    let folded = fold(text);
    let mut words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    while words.len() > 1 && FILLERS.contains(&words[0]) {
        words.remove(0);
    }
    let Some(first) = words.first() else {
        return Choice::Invalid;
    };
    let number = first
        .parse::<u32>()
        .ok()
        .or_else(|| number_word(first).filter(|_| words.len() == 1));
    if let Some(number) = number {
        let Some(queue) = offered
            .iter()
            .find(|q| u32::from(q.option_number) == number)
        else {
            return Choice::Invalid;
        };
        let rest = words[1..].join(" ");
        let names_other = offered
            .iter()
            .any(|q| q.id != queue.id && names_queue(&rest, q) && !names_queue(&rest, queue));
        return if names_other {
            Choice::Invalid
        } else {
            Choice::Queue(queue.id)
        };
    }
    let rest = words.join(" ");
    if let Some(q) = offered.iter().find(|q| fold(&q.name) == rest) {
        return Choice::Queue(q.id);
    }
    // A queue named inside a sentence, or the start of a name ("suporte" for "Suporte Técnico"),
    // only when it fits one queue.
    let padded = format!(" {folded} ");
    let fits: Vec<i64> = offered
        .iter()
        .filter(|q| {
            let name = fold(&q.name);
            !name.is_empty()
                && (padded.contains(&format!(" {name} "))
                    || (rest.chars().count() >= 3
                        && format!("{name} ").starts_with(&format!("{rest} "))))
        })
        .map(|q| q.id)
        .collect();
    match fits.as_slice() {
        [id] => Choice::Queue(*id),
        _ => Choice::Invalid,
    }
}

/// `text` (folded) names queue `q`: its whole name or the start of it.
fn names_queue(text: &str, q: &QueueOption) -> bool {
    let name = fold(&q.name);
    !text.is_empty()
        && !name.is_empty()
        && (format!(" {text} ").contains(&format!(" {name} "))
            || format!("{name} ").starts_with(&format!("{text} ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn queue(id: i64, option_number: u16, name: &str, active: bool) -> QueueOption {
        QueueOption {
            id,
            option_number,
            name: name.into(),
            active,
        }
    }

    fn sample() -> Vec<QueueOption> {
        vec![
            queue(30, 3, "Comercial", true),
            queue(10, 1, "Financeiro", true),
            queue(20, 2, "Suporte Técnico", true),
            queue(40, 4, "Cobrança", false),
        ]
    }

    #[test]
    fn text_menu_lists_active_queues_by_number() {
        assert_eq!(
            menu_text("Com qual setor você quer falar?", &sample()),
            "Com qual setor você quer falar?\n\n1 - Financeiro\n2 - Suporte Técnico\n3 - Comercial"
        );
        assert_eq!(
            menu_text("", &sample()),
            "1 - Financeiro\n2 - Suporte Técnico\n3 - Comercial"
        );
        assert_eq!(menu_text("Olá", &[]), "Olá");
    }

    #[test]
    fn list_menu_rows_and_limits() {
        let mut queues = sample();
        queues.push(queue(50, 5, "Ouvidoria e Reclamações Gerais", true));
        let Some(OutboundContent::List {
            body,
            button,
            sections,
            ..
        }) = menu_list("Escolha o setor", &queues)
        else {
            panic!("expected a list");
        };
        assert_eq!(body, "Escolha o setor");
        assert!(button.chars().count() <= 20);
        let rows = &sections[0].rows;
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].id, "queue:10");
        assert_eq!(rows[0].title, "1 - Financeiro");
        assert_eq!(rows[0].description, None);
        let long = &rows[3];
        assert_eq!(long.title.chars().count(), 24);
        assert!(long.title.ends_with('…'));
        assert_eq!(
            long.description.as_deref(),
            Some("Ouvidoria e Reclamações Gerais")
        );
        assert_eq!(menu_list("x", &[queue(1, 1, "A", false)]), None);
        let many: Vec<QueueOption> = (1..=11).map(|i| queue(i, i as u16, "Fila", true)).collect();
        assert_eq!(menu_list("x", &many), None);
        assert!(menu_list("x", &many[..10]).is_some());
    }

    #[test]
    fn accepts_the_ways_people_answer() {
        let q = sample();
        let cases = [
            ("1", 10),
            (" 2 ", 20),
            ("opção 2", 20),
            ("Opcao: 3", 30),
            ("nº 1", 10),
            ("2 - suporte", 20),
            ("2 - Suporte Técnico", 20),
            ("2)", 20),
            ("1️⃣", 10),
            ("dois", 20),
            ("financeiro", 10),
            ("FINANCEIRO", 10),
            ("Financeiro.", 10),
            ("suporte técnico", 20),
            ("suporte tecnico", 20),
            ("suporte", 20),
            ("quero falar com o financeiro", 10),
            ("o comercial por favor", 30),
            ("1 por favor", 10),
        ];
        for (text, id) in cases {
            assert_eq!(
                parse_choice(Some(text), None, &q),
                Choice::Queue(id),
                "{text:?}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_valid_choice() {
        let q = sample();
        for text in [
            "",
            "  ",
            "4",
            "cobrança",
            "9",
            "0",
            "oi",
            "1 - comercial",
            "quero pagar",
            "fi",
            "?",
        ] {
            assert_eq!(
                parse_choice(Some(text), None, &q),
                Choice::Invalid,
                "{text:?}"
            );
        }
        assert_eq!(parse_choice(None, None, &q), Choice::Invalid);
        // Two queues starting with the same word: ambiguous.
        let two = vec![
            queue(1, 1, "Suporte Técnico", true),
            queue(2, 2, "Suporte Comercial", true),
        ];
        assert_eq!(parse_choice(Some("suporte"), None, &two), Choice::Invalid);
        assert_eq!(
            parse_choice(Some("suporte comercial"), None, &two),
            Choice::Queue(2)
        );
    }

    #[test]
    fn list_reply_ids() {
        let q = sample();
        assert_eq!(parse_choice(None, Some("queue:20"), &q), Choice::Queue(20));
        assert_eq!(
            parse_choice(Some("1 - Financeiro"), Some("queue:30"), &q),
            Choice::Queue(30),
            "the id wins over the title"
        );
        assert_eq!(
            parse_choice(None, Some("queue:40"), &q),
            Choice::Invalid,
            "locked"
        );
        assert_eq!(parse_choice(None, Some("queue:99"), &q), Choice::Invalid);
        assert_eq!(parse_choice(None, Some("queue:x"), &q), Choice::Invalid);
        // Some other button's id: the text decides.
        assert_eq!(
            parse_choice(Some("1"), Some("bot:menu"), &q),
            Choice::Queue(10)
        );
    }

    #[test]
    fn matches_sector_names_from_the_bot() {
        let q = sample();
        assert_eq!(match_queue_name("suporte tecnico", &q), Some(20));
        assert_eq!(match_queue_name("FINANCEIRO", &q), Some(10));
        assert_eq!(match_queue_name("Cobrança", &q), None, "locked");
        assert_eq!(match_queue_name("", &q), None);
    }

    fn arb_queues() -> impl Strategy<Value = Vec<QueueOption>> {
        proptest::collection::vec(("[A-Za-zçãé ]{0,12}", any::<bool>()), 0..8).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (name, active))| queue(100 + i as i64, i as u16 + 1, &name, active))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn never_chooses_a_locked_or_unknown_queue(
            queues in arb_queues(), text in proptest::option::of(any::<String>()),
            reply in proptest::option::of("queue:[0-9]{1,4}|[a-z:0-9]{0,8}"),
        ) {
            if let Choice::Queue(id) = parse_choice(text.as_deref(), reply.as_deref(), &queues) {
                prop_assert!(queues.iter().any(|q| q.id == id && q.active));
            }
        }

        #[test]
        fn every_offered_number_and_row_id_is_understood(queues in arb_queues()) {
            for q in offered(&queues) {
                let number = q.option_number.to_string();
                prop_assert_eq!(parse_choice(Some(&number), None, &queues), Choice::Queue(q.id));
                prop_assert_eq!(
                    parse_choice(None, Some(&queue_reply_id(q.id)), &queues),
                    Choice::Queue(q.id)
                );
                // The row title a list reply carries as its text, too.
                let line = option_line(q);
                prop_assert_eq!(parse_choice(Some(&line), None, &queues), Choice::Queue(q.id));
            }
        }

        #[test]
        fn the_list_respects_whatsapp_limits(queues in arb_queues(), body in ".{0,40}") {
            if let Some(content) = menu_list(&body, &queues) {
                let OutboundContent::List { body, button, sections, .. } = content else {
                    unreachable!()
                };
                prop_assert!(!body.trim().is_empty());
                prop_assert!(button.chars().count() <= 20);
                let rows = &sections[0].rows;
                prop_assert!(!rows.is_empty() && rows.len() <= 10);
                for row in rows {
                    prop_assert!(row.title.chars().count() <= 24);
                    prop_assert!(row.description.as_ref().is_none_or(|d| d.chars().count() <= 72));
                }
            }
        }
    }
}
