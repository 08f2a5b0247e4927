//! Property tests: robustness of classification and normalisation.

use std::sync::OnceLock;

use balcao_intent::corpus::builtin_corpus;
use balcao_intent::{LabelledMessage, Matcher, normalize};
use proptest::prelude::*;

fn matcher() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(Matcher::default)
}

fn corpus() -> &'static [LabelledMessage] {
    static CORPUS: OnceLock<Vec<LabelledMessage>> = OnceLock::new();
    CORPUS.get_or_init(builtin_corpus)
}

fn accented(c: char, choice: u8) -> char {
    let options: &[char] = match c {
        'a' => &['á', 'ã', 'â', 'à'],
        'e' => &['é', 'ê'],
        'i' => &['í'],
        'o' => &['ó', 'õ', 'ô'],
        'u' => &['ú', 'ü'],
        'c' => &['ç'],
        _ => return c.to_ascii_uppercase(),
    };
    options[usize::from(choice) % options.len()]
}

const PUNCTUATION: &[&str] = &[",", "!", "?", "...", ".", "!!!", "?!", ";", ":)", " -", "…"];

/// Changes case, adds accents and punctuation the way people type, without touching words that
/// carry digits (documents, amounts, menu choices).
fn perturb(text: &str, choices: &[u8]) -> String {
    let mut choice = choices.iter().copied().cycle();
    let mut out = String::new();
    for (index, word) in text.split(' ').enumerate() {
        if index > 0 {
            out.push(' ');
        }
        let has_digit = word.chars().any(|c| c.is_ascii_digit());
        for c in word.chars() {
            let pick = choice.next().unwrap_or(0);
            out.push(match (has_digit, pick % 4) {
                (_, 0) => c,
                (_, 1) => c.to_ascii_uppercase(),
                (_, 2) => c.to_ascii_lowercase(),
                (false, _) if c.is_ascii_lowercase() => accented(c, pick / 4),
                (_, _) => c,
            });
        }
        let pick = choice.next().unwrap_or(0);
        if !has_digit && pick % 3 == 0 {
            out.push_str(PUNCTUATION[usize::from(pick / 3) % PUNCTUATION.len()]);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn classify_never_panics_and_stays_in_range(text in any::<String>()) {
        let result = matcher().classify(&text);
        prop_assert!(result.confidence.is_finite());
        prop_assert!((0.0..=1.0).contains(&result.confidence));
        prop_assert!(result.alternatives.windows(2).all(|w| w[0].1 >= w[1].1));
        prop_assert_eq!(&result, &matcher().classify(&text));
    }

    #[test]
    fn classify_never_panics_on_chat_like_text(
        text in "[a-zA-Z0-9áãâéêíóõôúçÁÃÉÍÓÚÇ .,!?:/()ªº°\\-😂👍🙏🔟\u{20E3}\u{FE0F}\u{0301}\u{200D}]{0,120}"
    ) {
        let result = matcher().classify(&text);
        prop_assert!((0.0..=1.0).contains(&result.confidence));
        let explanation = matcher().explain(&text);
        prop_assert_eq!(explanation.classification, result);
    }

    #[test]
    fn normalisation_is_idempotent(text in any::<String>()) {
        let once = normalize(&text);
        prop_assert_eq!(normalize(&once), once.clone());
        prop_assert!(once.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '));
        prop_assert!(!once.contains("  ") && !once.starts_with(' ') && !once.ends_with(' '));
    }

    #[test]
    fn normalisation_is_idempotent_on_chat_like_text(
        text in "[a-zA-Z0-9áãéíóõúçª° .,!?\\-👍🙏\u{20E3}\u{FE0F}\u{0303}]{0,80}"
    ) {
        let once = normalize(&text);
        prop_assert_eq!(normalize(&once), once);
    }

    #[test]
    fn case_accents_and_punctuation_never_change_the_intent(
        index in 0usize..10_000,
        choices in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let message = &corpus()[index % corpus().len()];
        let changed = perturb(&message.text, &choices);
        prop_assert_eq!(
            matcher().classify(&changed).intent,
            matcher().classify(&message.text).intent,
            "{:?} became {:?}", message.text, changed
        );
    }
}

#[test]
fn surface_changes_keep_the_intent_of_every_corpus_message() {
    // Exhaustive companion of the property above: one fixed perturbation per message.
    for (index, message) in corpus().iter().enumerate() {
        let choices: Vec<u8> = (0..16).map(|i| (index * 7 + i * 13) as u8).collect();
        let changed = perturb(&message.text, &choices);
        assert_eq!(
            matcher().classify(&changed).intent,
            matcher().classify(&message.text).intent,
            "{:?} became {:?}",
            message.text,
            changed
        );
    }
}
