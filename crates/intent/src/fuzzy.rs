//! Typo tolerance on keyword words: optimal string alignment distance (Damerau–Levenshtein where
//! a transposition counts as one edit), bounded so that hopeless pairs stop early.

/// Edits tolerated between words whose shorter one has this many letters: none below 5, one
/// from 5, two from 8.
pub(crate) fn allowed_edits(shorter_len: usize) -> usize {
    match shorter_len {
        0..=4 => 0,
        5..=7 => 1,
        _ => 2,
    }
}

/// The distance between `a` and `b` when it is at most `max`, `None` otherwise.
pub(crate) fn bounded_distance(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    if a == b {
        return Some(0);
    }
    if max == 0 {
        return None;
    }
    let width = b.len() + 1;
    // Three rolling rows: the one before the previous is needed for transpositions.
    let mut before: Vec<usize> = vec![0; width];
    let mut previous: Vec<usize> = (0..width).collect();
    let mut current: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        current[0] = i;
        let mut row_min = current[0];
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut value = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                value = value.min(before[j - 2] + 1);
            }
            current[j] = value;
            row_min = row_min.min(value);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    let distance = previous[b.len()];
    (distance <= max).then_some(distance)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distance(a: &str, b: &str) -> Option<usize> {
        bounded_distance(a.as_bytes(), b.as_bytes(), 3)
    }

    #[test]
    fn counts_insertions_deletions_substitutions_and_transpositions() {
        assert_eq!(distance("boleto", "boleto"), Some(0));
        assert_eq!(distance("fatira", "fatura"), Some(1));
        assert_eq!(distance("sengunda", "segunda"), Some(1));
        assert_eq!(distance("intenet", "internet"), Some(1));
        assert_eq!(distance("desbolqueio", "desbloqueio"), Some(1));
        assert_eq!(distance("cancelr", "cancelar"), Some(1));
        assert_eq!(distance("abc", "xyz"), Some(3));
        assert_eq!(distance("", "abc"), Some(3));
    }

    #[test]
    fn gives_up_beyond_the_bound() {
        assert_eq!(bounded_distance(b"protocolo", b"boleto", 2), None);
        assert_eq!(bounded_distance(b"abcdef", b"abcxyz", 2), None);
        assert_eq!(bounded_distance(b"pagar", b"pegar", 0), None);
    }

    #[test]
    fn allowance_follows_keyword_length() {
        assert_eq!(allowed_edits(4), 0);
        assert_eq!(allowed_edits(5), 1);
        assert_eq!(allowed_edits(7), 1);
        assert_eq!(allowed_edits(8), 2);
    }
}
