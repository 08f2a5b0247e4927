//! Text folding shared by the parsers: what a subscriber types is compared without case, accents,
//! punctuation or repeated spaces ("Suporte Técnico!" and "suporte tecnico" are the same answer).

/// Lowercase, accents removed, every run of non-alphanumeric characters turned into one space,
/// trimmed.
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        for lower in c.to_lowercase() {
            let base = strip_accent(lower);
            if base.is_alphanumeric() {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(base);
            } else {
                pending_space = true;
            }
        }
    }
    out
}

/// The base letter of the accented lowercase letters Portuguese (and its neighbours) use.
pub(crate) fn strip_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// At most `max` characters; a cut text ends with "…" so the reader sees it was shortened.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out = out.trim_end().to_owned();
    out.push('…');
    out
}

/// Number words a subscriber may type instead of the digit ("dois", "opção três").
pub(crate) fn number_word(word: &str) -> Option<u32> {
    Some(match word {
        "um" | "uma" | "primeira" | "primeiro" => 1,
        "dois" | "duas" | "segunda" | "segundo" => 2,
        "tres" | "terceira" | "terceiro" => 3,
        "quatro" | "quarta" | "quarto" => 4,
        "cinco" | "quinta" | "quinto" => 5,
        "seis" | "sexta" | "sexto" => 6,
        "sete" | "setima" | "setimo" => 7,
        "oito" | "oitava" | "oitavo" => 8,
        "nove" | "nona" | "nono" => 9,
        "dez" | "decima" | "decimo" => 10,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(fold("  Suporte   Técnico!! "), "suporte tecnico");
        assert_eq!(fold("OPÇÃO 2"), "opcao 2");
        assert_eq!(fold("2-Financeiro"), "2 financeiro");
        assert_eq!(fold("1️⃣"), "1");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn truncates_by_characters() {
        assert_eq!(truncate_chars("Financeiro", 24), "Financeiro");
        assert_eq!(truncate_chars("ação ação ação", 6), "ação…");
        assert_eq!(truncate_chars("abcdef", 5).chars().count(), 5);
    }

    proptest! {
        #[test]
        fn fold_is_idempotent(text in any::<String>()) {
            let once = fold(&text);
            prop_assert_eq!(fold(&once), once.clone());
            prop_assert!(!once.starts_with(' ') && !once.ends_with(' '));
        }

        #[test]
        fn truncate_respects_the_limit(text in any::<String>(), max in 1usize..40) {
            prop_assert!(truncate_chars(&text, max).chars().count() <= max);
        }
    }
}
