//! Values pulled out of a message: a CPF/CNPJ-shaped document, a menu number, a sector, a payment
//! method. Shapes only; validation (check digits) belongs to the caller.

use crate::intent::{PaymentMethodHint, Sector};
use crate::normalize::is_stopword;

/// Group lengths of the accepted document layouts, digits-only documents.
const DIGIT_LAYOUTS: &[&[usize]] = &[
    // CPF: 12345678909, 123.456.789-09, 123 456 789 09, 123456789-09
    &[11],
    &[3, 3, 3, 2],
    &[9, 2],
    // CNPJ: 11222333000181, 11.222.333/0001-81, 11222333/0001-81, 112223330001-81
    &[14],
    &[2, 3, 3, 4, 2],
    &[8, 4, 2],
    &[12, 2],
];

/// Alphanumeric CNPJ (from July 2026) is recognised only in its formatted layout, so that an
/// ordinary word followed by digits is never taken for a document.
const ALPHANUMERIC_LAYOUT: &[usize] = &[2, 3, 3, 4, 2];

/// A run of ASCII letters and digits in the raw text and the single separator that links it to
/// the previous run, if any.
struct Group<'a> {
    text: &'a str,
    linked_by: Option<char>,
}

fn groups(raw: &str) -> Vec<Group<'_>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut gap = String::new();
    for (i, c) in raw.char_indices() {
        if c.is_ascii_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
            continue;
        }
        if let Some(s) = start.take() {
            let linked_by = link(&gap, !out.is_empty());
            out.push(Group {
                text: &raw[s..i],
                linked_by,
            });
            gap.clear();
        }
        gap.push(c);
    }
    if let Some(s) = start {
        let linked_by = link(&gap, !out.is_empty());
        out.push(Group {
            text: &raw[s..],
            linked_by,
        });
    }
    out
}

fn link(gap: &str, has_previous: bool) -> Option<char> {
    let mut chars = gap.chars();
    match (has_previous, chars.next(), chars.next()) {
        (true, Some(c @ ('.' | '-' | '/' | ' ')), None) => Some(c),
        _ => None,
    }
}

/// Finds the first CPF/CNPJ-shaped token: 11 digits (CPF) or 14 characters (CNPJ, digits or the
/// formatted alphanumeric layout), plain or with the usual dots, dashes, slashes or spaces.
/// Returns it uppercase without punctuation ("123.456.789-09" → "12345678909").
pub fn find_document(raw: &str) -> Option<String> {
    let groups = groups(raw);
    for start in 0..groups.len() {
        // A window that continues a longer formatted token ("1.123.456.789-09") is not a document.
        if matches!(groups[start].linked_by, Some('.' | '-' | '/')) {
            continue;
        }
        let layouts = DIGIT_LAYOUTS
            .iter()
            .map(|layout| (*layout, false))
            .chain([(ALPHANUMERIC_LAYOUT, true)]);
        for (layout, alphanumeric) in layouts {
            let end = start + layout.len();
            if end > groups.len() {
                continue;
            }
            let window = &groups[start..end];
            let lengths_match = window
                .iter()
                .zip(layout.iter())
                .all(|(group, &len)| group.text.len() == len);
            let linked = window[1..].iter().all(|group| group.linked_by.is_some());
            let continues = groups
                .get(end)
                .is_some_and(|next| matches!(next.linked_by, Some('.' | '-' | '/')));
            if !lengths_match || !linked || continues {
                continue;
            }
            let joined: String = window.iter().map(|group| group.text).collect();
            let all_digits = joined.bytes().all(|b| b.is_ascii_digit());
            let accepted = if alphanumeric {
                !all_digits
                    && joined[12..].bytes().all(|b| b.is_ascii_digit())
                    && window[1..].iter().all(|g| g.linked_by != Some(' '))
            } else {
                all_digits
            };
            if accepted {
                return Some(joined.to_ascii_uppercase());
            }
        }
    }
    None
}

/// Words around a menu choice that do not change it ("quero a opção 2", "nº 2", "escolho a 3").
fn is_choice_filler(word: &str) -> bool {
    is_stopword(word)
        || matches!(
            word,
            "opcao"
                | "op"
                | "opc"
                | "numero"
                | "quero"
                | "escolho"
                | "escolhi"
                | "item"
                | "alternativa"
        )
}

fn number_word(word: &str) -> Option<u32> {
    Some(match word {
        "zero" => 0,
        "um" | "uma" => 1,
        "dois" | "duas" => 2,
        "tres" => 3,
        "quatro" => 4,
        "cinco" => 5,
        "seis" => 6,
        "sete" => 7,
        "oito" => 8,
        "nove" => 9,
        "dez" => 10,
        _ => return None,
    })
}

fn ordinal_word(word: &str) -> Option<u32> {
    Some(match word {
        "primeira" | "primeiro" => 1,
        "segunda" | "segundo" => 2,
        "terceira" | "terceiro" => 3,
        "quarta" | "quarto" => 4,
        "quinta" | "quinto" => 5,
        _ => return None,
    })
}

/// Largest number taken as a menu choice; longer numbers are ids, amounts or documents.
const MAX_CHOICE: u32 = 99;

/// The menu choice when the message is only a choice: one number (digits or a number word) among
/// filler words, or an ordinal next to "opção" ("primeira opção").
pub(crate) fn find_choice(tokens: &[String]) -> Option<u32> {
    let mut choice = None;
    let mut mentions_option = false;
    for token in tokens {
        let value = if token.bytes().all(|b| b.is_ascii_digit()) {
            token.parse::<u32>().ok().filter(|&n| n <= MAX_CHOICE)
        } else {
            number_word(token)
        };
        match value {
            Some(n) if choice.is_none() => choice = Some(n),
            Some(_) => return None,
            None if token == "opcao" || token == "alternativa" => mentions_option = true,
            None if ordinal_word(token).is_some() => {}
            None if is_choice_filler(token) => {}
            None => return None,
        }
    }
    if choice.is_some() {
        return choice;
    }
    if !mentions_option {
        return None;
    }
    let mut ordinals = tokens.iter().filter_map(|token| ordinal_word(token));
    match (ordinals.next(), ordinals.next()) {
        (Some(n), None) => Some(n),
        _ => None,
    }
}

/// A department named explicitly ("financeiro", "suporte técnico", "vendas", "cancelamento").
pub(crate) fn find_sector(tokens: &[String]) -> Option<Sector> {
    tokens.iter().find_map(|token| {
        let t = token.as_str();
        if t.starts_with("financ") || t == "cobranca" {
            Some(Sector::Billing)
        } else if t.starts_with("suport") || t.starts_with("tecnic") {
            Some(Sector::Support)
        } else if t.starts_with("comerci") || t == "vendas" || t.starts_with("vendedor") {
            Some(Sector::Sales)
        } else if t == "cancelamento" {
            Some(Sector::Cancellation)
        } else {
            None
        }
    })
}

/// Pix or boleto when exactly one of them is named; `Any` when both are; `None` when neither.
pub(crate) fn find_payment_method(tokens: &[String]) -> Option<PaymentMethodHint> {
    let has = |word: &str| tokens.iter().any(|token| token == word);
    let has_pair = |first: &str, second: &str| {
        tokens
            .windows(2)
            .any(|pair| pair[0] == first && pair[1] == second)
    };
    let pix = has("pix") || has("qrcode") || has_pair("qr", "code") || has("copia") && has("cola");
    let boleto = has("boleto")
        || has("boletos")
        // "barras" after repeated letters are collapsed.
        || has("baras")
        || has("digitavel")
        || has("loterica");
    match (pix, boleto) {
        (true, false) => Some(PaymentMethodHint::Pix),
        (false, true) => Some(PaymentMethodHint::Boleto),
        (true, true) => Some(PaymentMethodHint::Any),
        (false, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::tokens;

    #[test]
    fn finds_cpf_in_usual_layouts() {
        for text in [
            "123.456.789-09",
            "12345678909",
            "meu cpf é 123.456.789-09, obrigado",
            "cpf: 123 456 789 09",
            "123456789-09",
        ] {
            assert_eq!(
                find_document(text).as_deref(),
                Some("12345678909"),
                "{text}"
            );
        }
    }

    #[test]
    fn finds_cnpj_numeric_and_alphanumeric() {
        assert_eq!(
            find_document("CNPJ 12.345.678/0001-95").as_deref(),
            Some("12345678000195")
        );
        assert_eq!(
            find_document("11222333000181").as_deref(),
            Some("11222333000181")
        );
        assert_eq!(
            find_document("empresa 12.abc.345/01de-35").as_deref(),
            Some("12ABC34501DE35")
        );
    }

    #[test]
    fn ignores_phones_amounts_and_words() {
        for text in [
            "(11) 98765-4321",
            "11 98765 4321",
            "paguei 1.234,56",
            "protocolo12345",
            "1.123.456.789-09",
            "123.456.789-091",
            "contratei 300 mega",
        ] {
            assert_eq!(find_document(text), None, "{text}");
        }
    }

    fn choice(text: &str) -> Option<u32> {
        find_choice(&tokens(text))
    }

    #[test]
    fn reads_menu_choices() {
        assert_eq!(choice("1"), Some(1));
        assert_eq!(choice("opção 2"), Some(2));
        assert_eq!(choice("2️⃣"), Some(2));
        assert_eq!(choice("dois"), Some(2));
        assert_eq!(choice("quero a opção 3 pfv"), Some(3));
        assert_eq!(choice("nº 4"), Some(4));
        assert_eq!(choice("primeira opção"), Some(1));
        assert_eq!(choice("um"), Some(1));
    }

    #[test]
    fn a_number_inside_a_request_is_not_a_choice() {
        assert_eq!(choice("2 via"), None);
        assert_eq!(choice("segunda via"), None);
        assert_eq!(choice("1 2"), None);
        assert_eq!(choice("12345678909"), None);
        assert_eq!(choice("contratei 300 mega"), None);
        assert_eq!(choice("opção"), None);
    }

    #[test]
    fn reads_sector_and_payment_method() {
        assert_eq!(
            find_sector(&tokens("falar com o Financeiro")),
            Some(Sector::Billing)
        );
        assert_eq!(
            find_sector(&tokens("suporte técnico")),
            Some(Sector::Support)
        );
        assert_eq!(find_sector(&tokens("setor de vendas")), Some(Sector::Sales));
        assert_eq!(find_sector(&tokens("oi")), None);
        assert_eq!(
            find_payment_method(&tokens("manda o pix copia e cola")),
            Some(PaymentMethodHint::Pix)
        );
        assert_eq!(
            find_payment_method(&tokens("código de barras")),
            Some(PaymentMethodHint::Boleto)
        );
        assert_eq!(
            find_payment_method(&tokens("pix ou boleto?")),
            Some(PaymentMethodHint::Any)
        );
        assert_eq!(find_payment_method(&tokens("segunda via")), None);
    }
}
