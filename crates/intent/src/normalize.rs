//! Text normalisation shared by messages, keywords and examples, so that all three meet in the
//! same form: lowercase ASCII words and numbers separated by single spaces.

use std::collections::HashSet;
use std::sync::OnceLock;

/// Normalises a message: lowercase, accents folded ("não" → "nao", "2ª" → "2 a"), emojis and
/// punctuation (hyphens included) dropped (a few meaningful emojis become words: 👍 → "ok", 🙏 → "obrigado",
/// 2️⃣ → "2"), digits split from letters ("2via" → "2 via"), repeated letters collapsed
/// ("oiiii" → "oi", "acesso" → "aceso"), and chat abbreviations expanded ("vc" → "voce",
/// "pfv" → "por favor", "n" → "nao").
///
/// Idempotent: `normalize(&normalize(s)) == normalize(s)`.
pub fn normalize(text: &str) -> String {
    tokens(text).join(" ")
}

/// The words of [`normalize`], in order.
pub fn tokens(text: &str) -> Vec<String> {
    let flat = fold(text);
    let mut out = Vec::new();
    for raw in flat.split(' ').filter(|word| !word.is_empty()) {
        for piece in split_digits_from_letters(raw) {
            let word = collapse_repeated_letters(piece);
            match expansion(&word) {
                Some(expanded) => {
                    out.extend(expanded.split(' ').map(str::to_owned));
                }
                None => out.push(word),
            }
        }
    }
    out
}

/// Lowercases, folds accents and maps every other character to a space (or to a word for the
/// few emojis that carry meaning).
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_invisible_modifier(c) {
            continue;
        }
        if let Some(word) = emoji_word(c) {
            out.push(' ');
            out.push_str(word);
            out.push(' ');
            continue;
        }
        out.extend(c.to_lowercase().map(fold_char));
    }
    out
}

/// Marks that never separate words: combining accents (text typed decomposed), emoji variation
/// selectors, zero-width joiners and skin tones.
fn is_invisible_modifier(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{FE0E}' | '\u{FE0F}' | '\u{200D}' | '\u{1F3FB}'..='\u{1F3FF}')
}

fn emoji_word(c: char) -> Option<&'static str> {
    Some(match c {
        '👍' | '👌' | '✅' | '🆗' | '✔' => "ok",
        '🙏' => "obrigado",
        '👎' | '❌' | '🚫' => "nao",
        '🔟' => "10",
        _ => return None,
    })
}

fn fold_char(c: char) -> char {
    match c {
        'a'..='z' | '0'..='9' => c,
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' | 'ª' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'º' | '°' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        'ý' | 'ÿ' => 'y',
        // Keycap digits arrive as digit + U+20E3: the enclosing mark ends the number.
        _ => ' ',
    }
}

/// "2via" → ["2", "via"], "opcao2" → ["opcao", "2"].
fn split_digits_from_letters(word: &str) -> impl Iterator<Item = &str> {
    let bytes = word.as_bytes();
    let mut start = 0;
    let mut pieces = Vec::new();
    for i in 1..bytes.len() {
        if bytes[i].is_ascii_digit() != bytes[i - 1].is_ascii_digit() {
            pieces.push(&word[start..i]);
            start = i;
        }
    }
    pieces.push(&word[start..]);
    pieces.into_iter()
}

/// Collapses runs of the same letter ("oiiii" → "oi"); digits are kept, they carry values.
pub(crate) fn collapse_repeated_letters(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut previous = None;
    for c in word.chars() {
        if c.is_ascii_alphabetic() && previous == Some(c) {
            continue;
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// Brazilian chat spelling, keyed by the collapsed form. Every expansion is itself a normalised
/// text that expands no further (checked by a test), which keeps [`normalize`] idempotent.
pub(crate) const ABBREVIATIONS: &[(&str, &str)] = &[
    ("vc", "voce"),
    ("vcs", "voces"),
    ("ce", "voce"),
    ("q", "que"),
    ("oq", "o que"),
    ("pq", "porque"),
    ("qro", "quero"),
    ("qero", "quero"),
    ("kero", "quero"),
    ("qer", "quer"),
    ("n", "nao"),
    ("naum", "nao"),
    ("nops", "nao"),
    ("nop", "nao"),
    ("s", "sim"),
    ("sm", "sim"),
    ("blz", "beleza"),
    ("vlw", "valeu"),
    ("vlews", "valeu"),
    ("obg", "obrigado"),
    ("obgd", "obrigado"),
    ("obgdo", "obrigado"),
    ("obgda", "obrigada"),
    ("obrigadao", "obrigado"),
    ("brigado", "obrigado"),
    ("brigada", "obrigada"),
    ("brigadao", "obrigado"),
    ("tks", "obrigado"),
    ("thx", "obrigado"),
    ("pfv", "por favor"),
    ("pf", "por favor"),
    ("pfvr", "por favor"),
    ("pfvor", "por favor"),
    ("porfavor", "por favor"),
    ("plmds", "pelo amor de deus"),
    ("td", "tudo"),
    ("tds", "todos"),
    ("tb", "tambem"),
    ("tbm", "tambem"),
    ("tmb", "tambem"),
    ("hj", "hoje"),
    ("msg", "mensagem"),
    ("msgs", "mensagens"),
    ("mt", "muito"),
    ("mto", "muito"),
    ("mta", "muita"),
    ("qnd", "quando"),
    ("qdo", "quando"),
    ("qndo", "quando"),
    ("qto", "quanto"),
    ("qnto", "quanto"),
    ("qt", "quanto"),
    ("qts", "quantos"),
    ("qnts", "quantos"),
    ("agr", "agora"),
    ("dps", "depois"),
    ("cmg", "comigo"),
    ("ngm", "ninguem"),
    ("vd", "verdade"),
    ("hr", "hora"),
    ("hrs", "horas"),
    ("d", "de"),
    ("c", "com"),
    ("cm", "com"),
    ("p", "para"),
    ("eh", "e"),
    ("tou", "to"),
    ("wp", "whatsap"),
    ("zap", "whatsap"),
    ("whats", "whatsap"),
    ("ctz", "certeza"),
    ("okay", "ok"),
    ("okey", "ok"),
    ("oks", "ok"),
    ("dnv", "de novo"),
    ("bd", "bom dia"),
    ("tmj", "valeu"),
    ("eai", "e ai"),
    ("eae", "e ai"),
    ("iae", "e ai"),
];

fn expansion(word: &str) -> Option<&'static str> {
    ABBREVIATIONS
        .iter()
        .find(|(short, _)| *short == word)
        .map(|(_, long)| *long)
}

/// Words that carry no intent on their own; they are skipped inside keyword phrases and left out
/// of the example similarity. Kept small on purpose: "nao", "sem", "com", "sim" are meaningful.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "a", "o", "as", "os", "e", "de", "do", "da", "dos", "das", "que", "um", "uma", "uns", "umas",
    "meu", "minha", "meus", "minhas", "seu", "sua", "seus", "suas", "pra", "para", "pro", "pros",
    "pras", "por", "favor", "em", "no", "na", "nos", "nas", "num", "numa", "ao", "aos", "se",
    "me", "eu", "mim", "te", "voce", "voces", "ai", "aqui", "la", "ja", "ta", "esta", "estou",
    "to", "ele", "ela", "isto", "esse", "essa", "este", "desse", "dessa", "queria", "gostaria",
    "preciso", "poderia", "consegue", "moco", "moca", "mano", "amigo", "amiga", "gente", "senhor",
    "senhora", "sr", "sra", "querido", "querida", "tipo", "entao", "so",
];

/// Frequent words that must never be "corrected" into a keyword by the typo tolerance
/// ("pegar" is not a typo of "pagar", "final" is not "sinal", "parou" is not "parar").
#[rustfmt::skip]
const COMMON_WORDS: &[&str] = &[
    "faco", "faz", "pegar", "final", "parou", "parar", "pego", "pega", "pague", "pagou", "pagam", "pagas",
    "paga", "finais", "parado", "parada", "vida", "dia", "dias", "mais", "mas", "mes", "meses",
    "vez", "vezes", "hoje", "ontem", "amanha", "agora", "casa", "rua", "bairro", "cidade", "nome",
    "numero", "opcao", "conta", "contas", "contrato", "valor", "ainda", "sempre", "nunca",
    "tambem", "muito", "muita", "pouco", "bem", "mal", "tudo", "todo", "toda", "todos", "hora",
    "horas", "semana", "tempo", "sexta", "sabado", "domingo", "terca", "quarta", "quinta",
    "manha", "tarde", "noite", "fazer", "feito", "fiz", "ver", "vou", "vai", "vem", "tem", "ter",
    "tenho", "ser", "sou", "foi", "era", "estava", "estar", "ficar", "fica", "ficou", "dar",
    "deu", "saber", "sabe", "mandar", "manda", "mande", "mandei", "mandou", "enviar", "envia",
    "enviei", "receber", "recebi", "recebo", "chegou", "chegar", "quero", "quer", "pode", "posso",
    "consigo", "como", "quando", "onde", "porque", "quem", "qual", "quais", "quanto", "quantos",
    "quantas", "celular", "telefone", "email", "whatsap", "trabalho", "trabalhar", "filho",
    "filha", "mae", "pai", "esposa", "marido", "empresa", "loja", "endereco", "video", "jogo",
    "jogos", "site", "sites", "controle", "certo", "certa", "errado", "outro", "outra", "novo",
    "nova", "sobre", "depois", "antes", "desde", "ate", "entre", "tava", "fala", "falou", "falei",
    "liga", "ligou", "tirar", "mudar", "mudou", "troca", "trocar", "volto", "voltou", "voltei",
    "sair", "saiu", "pare", "parei", "caro", "cara", "carro", "lento", "lenta", "linha", "pagina",
    "senha", "rede", "cabo", "luz", "energia", "funciona", "funcionando", "cancelei", "pagando",
    "pagamos", "contratada", "contratado", "contratei",
];

/// A word list in the form tokens have after normalisation ("esse" → "ese").
fn word_set(words: &[&str]) -> HashSet<String> {
    words
        .iter()
        .map(|word| collapse_repeated_letters(word))
        .collect()
}

pub(crate) fn is_stopword(word: &str) -> bool {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| word_set(STOPWORDS)).contains(word)
}

pub(crate) fn is_common_word(word: &str) -> bool {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    is_stopword(word) || SET.get_or_init(|| word_set(COMMON_WORDS)).contains(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_case_and_punctuation() {
        assert_eq!(normalize("NÃO tô conseguindo!!!"), "nao to conseguindo");
        assert_eq!(normalize("Ínício, Açaí"), "inicio acai");
        assert_eq!(normalize("2ª via"), "2 a via");
        assert_eq!(normalize("n° do protocolo"), "no do protocolo");
    }

    #[test]
    fn handles_decomposed_accents_and_keycaps() {
        assert_eq!(normalize("na\u{303}o"), "nao");
        assert_eq!(normalize("2\u{FE0F}\u{20E3}"), "2");
        assert_eq!(normalize("1️⃣2️⃣"), "1 2");
    }

    #[test]
    fn collapses_repeated_letters_but_not_digits() {
        assert_eq!(normalize("oiiii internetttt"), "oi internet");
        assert_eq!(normalize("11 100"), "11 100");
    }

    #[test]
    fn splits_digits_from_letters_and_hyphenated_words() {
        assert_eq!(normalize("2via opcao2"), "2 via opcao 2");
        assert_eq!(normalize("segunda-via"), "segunda via");
        assert_eq!(normalize("789-09"), "789 09");
    }

    #[test]
    fn expands_chat_abbreviations() {
        assert_eq!(
            normalize("vc pode mandar pfv"),
            "voce pode mandar por favor"
        );
        assert_eq!(normalize("N"), "nao");
        assert_eq!(normalize("naum"), "nao");
        assert_eq!(normalize("vlw obg"), "valeu obrigado");
        assert_eq!(normalize("qro pagar"), "quero pagar");
        assert_eq!(normalize("ss"), "sim");
    }

    #[test]
    fn meaningful_emojis_become_words() {
        assert_eq!(normalize("👍🏽"), "ok");
        assert_eq!(normalize("obrigado 🙏"), "obrigado obrigado");
        assert_eq!(normalize("😂😂"), "");
    }

    #[test]
    fn word_lists_match_normalised_tokens() {
        assert!(is_stopword(&normalize("esse")));
        assert!(is_common_word(&normalize("bairro")));
        assert!(is_common_word(&normalize("Pegar")));
        assert!(!is_common_word("boleto"));
    }

    #[test]
    fn every_abbreviation_expands_to_a_fixed_point() {
        for (short, long) in ABBREVIATIONS {
            assert_eq!(
                &normalize(long),
                long,
                "expansion of {short:?} is not normalised"
            );
            assert_eq!(&normalize(short), long);
        }
    }
}
