//! Small encoders the fakes need (base64 for HTTP Basic and JWTs, form bodies, accent folding);
//! written here to keep the dependency list short.

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode_with(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        let symbols = chunk.len() + 1;
        for i in 0..4 {
            if i < symbols {
                out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

fn decode_with(text: &str, alphabet: &[u8; 64]) -> Option<Vec<u8>> {
    let trimmed = text.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for b in trimmed.bytes() {
        let value = alphabet.iter().position(|&a| a == b)? as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    encode_with(bytes, STANDARD, true)
}

pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    decode_with(text, STANDARD)
}

pub(crate) fn base64url_encode(bytes: &[u8]) -> String {
    encode_with(bytes, URL_SAFE, false)
}

pub(crate) fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    decode_with(text, URL_SAFE)
}

/// Decodes `%XX` escapes and, in form bodies, `+` as a space. Invalid escapes are kept verbatim.
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = [bytes[i + 1], bytes[i + 2]];
                let hex = std::str::from_utf8(&hex).expect("hex digits are ASCII");
                out.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1&b=x+y` → pairs, in order.
pub(crate) fn parse_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(part, true), String::new()),
        })
        .collect()
}

/// Lowercase ASCII without accents: "João Conceição" → "joao conceicao". For logins and e-mails.
pub(crate) fn fold_ascii(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let base = match c {
                'á' | 'à' | 'â' | 'ã' | 'ä' | 'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'a',
                'é' | 'ê' | 'è' | 'É' | 'Ê' | 'È' => 'e',
                'í' | 'î' | 'Í' | 'Î' => 'i',
                'ó' | 'ô' | 'õ' | 'ö' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => 'o',
                'ú' | 'ü' | 'Ú' | 'Ü' => 'u',
                'ç' | 'Ç' => 'c',
                c if c.is_ascii() => c.to_ascii_lowercase(),
                _ => return None,
            };
            Some(base)
        })
        .collect()
}

/// Digits of `text`, everything else dropped.
pub(crate) fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_matches_known_values() {
        assert_eq!(base64_encode(b"12:abc"), "MTI6YWJj");
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert_eq!(base64_encode(b"a"), "YQ==");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64url_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert!(base64_decode("a*b").is_none());
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base64_decode(&base64_encode(&data)).unwrap(), data);
            assert_eq!(base64url_decode(&base64url_encode(&data)).unwrap(), data);
        }
    }

    #[test]
    fn forms_decode() {
        let pairs = parse_form("token=a%2Fb&app=meu+app&empty&x=%zz");
        assert_eq!(
            pairs,
            vec![
                ("token".into(), "a/b".into()),
                ("app".into(), "meu app".into()),
                ("empty".into(), String::new()),
                ("x".into(), "%zz".into()),
            ]
        );
        assert_eq!(percent_decode("a+b%20c", false), "a+b c");
        assert_eq!(percent_decode("100%", false), "100%");
    }

    #[test]
    fn folding_and_digits() {
        assert_eq!(fold_ascii("João Conceição"), "joao conceicao");
        assert_eq!(digits("(85) 99999-1234"), "85999991234");
    }
}
