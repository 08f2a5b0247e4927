//! Customer satisfaction: a 1–5 rating asked after the close. WhatsApp allows at most three reply
//! buttons, so the question goes as a list of five rows; typed answers are accepted too.

use balcao_domain::outbound::{ListRow, ListSection, OutboundContent};

use crate::text::fold;

/// Prefix of the list-reply ids of the rating rows: `csat:{rating}`.
pub const RATING_REPLY_PREFIX: &str = "csat:";
/// The list's button (WhatsApp: at most 20 characters).
pub const RATING_BUTTON: &str = "Avaliar";

/// The word shown next to each rating.
pub fn rating_label(rating: u8) -> Option<&'static str> {
    Some(match rating {
        5 => "Excelente",
        4 => "Bom",
        3 => "Regular",
        2 => "Ruim",
        1 => "Muito ruim",
        _ => return None,
    })
}

/// The list-reply id of a rating's row.
pub fn rating_reply_id(rating: u8) -> String {
    format!("{RATING_REPLY_PREFIX}{rating}")
}

/// The rating question as a list: rows "5 - Excelente" … "1 - Muito ruim", ids `csat:5` …
/// `csat:1`. `body` is the rendered csat_request message.
pub fn rating_list(body: &str) -> OutboundContent {
    let rows = (1..=5u8)
        .rev()
        .map(|r| ListRow {
            id: rating_reply_id(r),
            title: format!("{r} - {}", rating_label(r).unwrap_or_default()),
            description: None,
        })
        .collect();
    let body = body.trim();
    OutboundContent::List {
        body: if body.is_empty() {
            "Como você avalia este atendimento?".to_owned()
        } else {
            body.to_owned()
        },
        button: RATING_BUTTON.to_owned(),
        header: None,
        footer: None,
        sections: vec![ListSection { title: None, rows }],
    }
}

/// Words around a typed rating: "nota 4", "dou 5", "minha nota é 3".
const FILLERS: [&str; 8] = ["nota", "dou", "minha", "e", "a", "o", "de", "um"];

/// Reads a rating from the list reply (`csat:4`) or a typed answer: "5", "nota 4", "4 - Bom",
/// "4/5", "⭐⭐⭐", "cinco", "excelente". Anything else (including numbers outside 1–5 and
/// sentences with several numbers) is `None`: the answer is then not a rating.
pub fn parse_rating(text: Option<&str>, reply_id: Option<&str>) -> Option<u8> {
    if let Some(id) = reply_id.and_then(|r| r.trim().strip_prefix(RATING_REPLY_PREFIX)) {
        return id.parse::<u8>().ok().filter(|r| (1..=5).contains(r));
    }
    let raw = text?.trim();
    if let Some(stars) = count_stars(raw) {
        return Some(stars);
    }
    // "4/5": the scale written after the rating.
    let raw = raw
        .strip_suffix("/5")
        .or_else(|| raw.strip_suffix("/ 5"))
        .unwrap_or(raw);
    let folded = fold(raw);
    let mut words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    while words.len() > 1 && FILLERS.contains(&words[0]) {
        words.remove(0);
    }
    let first = words.first()?;
    let rating = match first.parse::<u8>().ok().or_else(|| cardinal(first)) {
        Some(n) => {
            // "4 - Bom" is the row title; a number followed by anything else is not a rating.
            let rest = words[1..].join(" ");
            let label_ok = rest.is_empty() || rating_label(n).is_some_and(|l| fold(l) == rest);
            if !label_ok {
                return None;
            }
            n
        }
        None => from_label(&words.join(" "))?,
    };
    (1..=5).contains(&rating).then_some(rating)
}

fn cardinal(word: &str) -> Option<u8> {
    Some(match word {
        "um" | "uma" => 1,
        "dois" | "duas" => 2,
        "tres" => 3,
        "quatro" => 4,
        "cinco" => 5,
        _ => return None,
    })
}

fn from_label(folded: &str) -> Option<u8> {
    Some(match folded {
        "excelente" | "otimo" | "otima" => 5,
        "bom" | "boa" => 4,
        "regular" | "razoavel" => 3,
        "ruim" => 2,
        "muito ruim" | "pessimo" | "pessima" | "horrivel" => 1,
        _ => return None,
    })
}

/// 1–5 star characters and nothing else.
fn count_stars(raw: &str) -> Option<u8> {
    let mut stars = 0u8;
    for c in raw.chars() {
        match c {
            '⭐' | '★' | '🌟' => stars = stars.saturating_add(1),
            // Emoji variation selector and spaces between the stars.
            '\u{FE0F}' => {}
            c if c.is_whitespace() => {}
            _ => return None,
        }
    }
    (1..=5).contains(&stars).then_some(stars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_typed_ratings() {
        let cases = [
            ("5", 5),
            (" 1 ", 1),
            ("nota 4", 4),
            ("Nota: 3", 3),
            ("dou 5", 5),
            ("4 - Bom", 4),
            ("1 - Muito ruim", 1),
            ("4/5", 4),
            ("⭐⭐⭐", 3),
            ("⭐️⭐️⭐️⭐️⭐️", 5),
            ("★", 1),
            ("cinco", 5),
            ("Excelente!", 5),
            ("péssimo", 1),
            ("muito ruim", 1),
            ("regular", 3),
        ];
        for (text, rating) in cases {
            assert_eq!(parse_rating(Some(text), None), Some(rating), "{text:?}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_rating() {
        for text in [
            "",
            "0",
            "6",
            "10",
            "nota 10",
            "obrigado",
            "⭐⭐⭐⭐⭐⭐",
            "5 - Ruim",
            "2 boletos",
            "quero falar com alguém",
            "⭐ ok",
        ] {
            assert_eq!(parse_rating(Some(text), None), None, "{text:?}");
        }
        assert_eq!(parse_rating(None, None), None);
    }

    #[test]
    fn reads_list_replies() {
        assert_eq!(parse_rating(None, Some("csat:4")), Some(4));
        assert_eq!(parse_rating(Some("5 - Excelente"), Some("csat:2")), Some(2));
        assert_eq!(parse_rating(None, Some("csat:9")), None);
        assert_eq!(parse_rating(None, Some("csat:")), None);
        assert_eq!(parse_rating(Some("3"), Some("queue:1")), Some(3));
    }

    #[test]
    fn list_has_five_rows_best_first() {
        let OutboundContent::List {
            button, sections, ..
        } = rating_list("Avalie")
        else {
            panic!("expected a list");
        };
        assert_eq!(button, "Avaliar");
        let titles: Vec<&str> = sections[0].rows.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "5 - Excelente",
                "4 - Bom",
                "3 - Regular",
                "2 - Ruim",
                "1 - Muito ruim"
            ]
        );
        for row in &sections[0].rows {
            assert!(row.title.chars().count() <= 24);
            assert_eq!(
                parse_rating(Some(&row.title), None),
                parse_rating(None, Some(&row.id))
            );
        }
    }

    proptest! {
        #[test]
        fn a_rating_is_always_between_1_and_5(text in proptest::option::of(any::<String>()), id in proptest::option::of("csat:[0-9]{0,3}|.{0,8}")) {
            if let Some(r) = parse_rating(text.as_deref(), id.as_deref()) {
                prop_assert!((1..=5).contains(&r));
            }
        }

        #[test]
        fn every_row_id_is_read_back(r in 1u8..=5) {
            prop_assert_eq!(parse_rating(None, Some(&rating_reply_id(r))), Some(r));
            prop_assert_eq!(parse_rating(Some(&r.to_string()), None), Some(r));
        }
    }
}
