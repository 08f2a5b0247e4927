//! Accuracy on the held-out part of the corpus, which never feeds the matcher.

use balcao_intent::corpus::builtin_split;
use balcao_intent::{Matcher, evaluate};

#[test]
fn held_out_accuracy_is_at_least_95_percent() {
    let split = builtin_split();
    let evaluation = evaluate(&Matcher::default(), &split.held_out);
    let confusions: Vec<String> = evaluation
        .confusions
        .iter()
        .map(|c| format!("{} → {}: {}", c.expected, c.got, c.text))
        .collect();
    assert!(
        evaluation.accuracy >= 0.95,
        "held-out accuracy {:.3} ({}/{}); confusions:\n{}",
        evaluation.accuracy,
        evaluation.correct,
        evaluation.total,
        confusions.join("\n")
    );
}

#[test]
fn held_out_messages_are_not_examples_of_the_matcher() {
    let split = builtin_split();
    let matcher = Matcher::default();
    assert!(split.held_out.len() >= 150);
    for message in &split.held_out {
        let explanation = matcher.explain(&message.text);
        assert!(
            explanation
                .nearest_examples
                .iter()
                .all(|hit| hit.example != message.text),
            "{:?} is an example",
            message.text
        );
    }
}

#[test]
fn evaluation_reports_per_intent_metrics_and_confusions() {
    let split = builtin_split();
    let evaluation = evaluate(&Matcher::default(), &split.train);
    assert_eq!(evaluation.total, split.train.len());
    assert_eq!(
        evaluation.correct + evaluation.confusions.len(),
        evaluation.total
    );
    let support: usize = evaluation.per_intent.iter().map(|m| m.support).sum();
    assert_eq!(support, evaluation.total);
    assert!(
        evaluation
            .per_intent
            .iter()
            .all(|m| (0.0..=1.0).contains(&m.precision))
    );
    assert!(evaluation.mean_micros > 0.0);
    let empty = evaluate(&Matcher::default(), &[]);
    assert_eq!((empty.total, empty.accuracy), (0, 1.0));
}
