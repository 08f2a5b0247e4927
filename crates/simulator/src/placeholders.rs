//! Positional template variables (`{{1}}`, `{{2}}` …): counting and rendering.

/// Finds `{{n}}` occurrences as (byte range, n).
fn occurrences(text: &str) -> Vec<(std::ops::Range<usize>, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| i + from) {
        let digits_start = open + 2;
        let digits_len = text[digits_start..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let close = digits_start + digits_len;
        if digits_len > 0 && text[close..].starts_with("}}") {
            if let Ok(n) = text[digits_start..close].parse::<usize>() {
                found.push((open..close + 2, n));
            }
            from = close + 2;
        } else {
            from = open + 1;
        }
    }
    found
}

/// How many parameters a template text expects (distinct variables).
pub fn variable_count(text: &str) -> usize {
    let mut numbers: Vec<usize> = occurrences(text).into_iter().map(|(_, n)| n).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers.len()
}

/// Replaces `{{n}}` with the n-th parameter (1-based); unknown variables are left as written.
pub fn render(text: &str, params: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (range, n) in occurrences(text) {
        out.push_str(&text[last..range.start]);
        match n.checked_sub(1).and_then(|i| params.get(i)) {
            Some(value) => out.push_str(value),
            None => out.push_str(&text[range.clone()]),
        }
        last = range.end;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counts_distinct_variables() {
        assert_eq!(
            variable_count("Olá {{1}}, fatura {{2}} vence {{3}}. {{1}}!"),
            3
        );
        assert_eq!(variable_count("sem variáveis {{ }} {{x}} {1}"), 0);
        assert_eq!(variable_count("{{{1}}}"), 1);
    }

    #[test]
    fn renders_parameters() {
        let params = vec!["João".to_string(), "R$ 120,00".to_string()];
        assert_eq!(
            render("Olá {{1}}, valor {{2}}. Tchau {{1}}", &params),
            "Olá João, valor R$ 120,00. Tchau João"
        );
        assert_eq!(render("falta {{3}}", &params), "falta {{3}}");
    }

    proptest! {
        #[test]
        fn text_without_braces_is_unchanged(text in "[^{}]*") {
            prop_assert_eq!(variable_count(&text), 0);
            prop_assert_eq!(render(&text, &["x".to_string()]), text);
        }

        #[test]
        fn rendered_parameters_appear(values in proptest::collection::vec("[a-zà-ú ]{0,10}", 1..5)) {
            let text: String = (1..=values.len()).map(|n| format!("<{{{{{n}}}}}>")).collect();
            prop_assert_eq!(variable_count(&text), values.len());
            let rendered = render(&text, &values);
            let expected: String = values.iter().map(|v| format!("<{v}>")).collect();
            prop_assert_eq!(rendered, expected);
        }
    }
}
