//! Accuracy and timing of the intent matcher.
//!
//! `cargo run --release -p balcao-intent --example intent_eval` evaluates the built-in matcher on
//! the held-out part of the corpus (never used to build it) and times `classify`.
//! `… -- --explain "texto"` prints why a message got its intent.
//! `… -- --train-cv` instead runs a 5-fold cross-validation inside the train part, which is what
//! keyword tuning should look at.

use balcao_intent::corpus::builtin_split;
use balcao_intent::{
    Evaluation, IntentConfig, LabelledMessage, Matcher, MatcherConfig, evaluate, measure_micros,
};

fn print(evaluation: &Evaluation, title: &str) {
    println!(
        "{title}: {}/{} correct, accuracy {:.3}, {:.1} µs/message",
        evaluation.correct, evaluation.total, evaluation.accuracy, evaluation.mean_micros
    );
    for metrics in &evaluation.per_intent {
        println!(
            "  {:<13} support {:>3}  precision {:.2}  recall {:.2}",
            metrics.intent.as_str(),
            metrics.support,
            metrics.precision,
            metrics.recall
        );
    }
    for confusion in &evaluation.confusions {
        println!(
            "  expected {:<13} got {:<13} {}",
            confusion.expected.as_str(),
            confusion.got.as_str(),
            confusion.text
        );
    }
}

/// A matcher with the built-in keywords but only `examples` as examples.
fn matcher_with_examples(examples: &[LabelledMessage]) -> Matcher {
    let mut config = MatcherConfig::default();
    for intent in balcao_intent::Intent::ALL {
        config.intents.insert(
            intent,
            IntentConfig {
                replace_builtin_examples: true,
                examples: examples
                    .iter()
                    .filter(|m| m.intent == intent)
                    .map(|m| m.text.clone())
                    .collect(),
                ..IntentConfig::default()
            },
        );
    }
    Matcher::new(config).expect("valid configuration")
}

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    if let Some(position) = arguments.iter().position(|arg| arg == "--explain") {
        let matcher = Matcher::default();
        for text in &arguments[position + 1..] {
            let explanation = matcher.explain(text);
            println!(
                "{}",
                serde_json::to_string_pretty(&explanation).expect("serialisable")
            );
        }
        return;
    }
    let split = builtin_split();
    if std::env::args().any(|arg| arg == "--train-cv") {
        const FOLDS: usize = 5;
        let mut all = Vec::new();
        let mut confusions = Vec::new();
        for fold in 0..FOLDS {
            let (test, train): (Vec<_>, Vec<_>) = split
                .train
                .iter()
                .cloned()
                .enumerate()
                .partition(|(i, _)| i % FOLDS == fold);
            let train: Vec<LabelledMessage> = train.into_iter().map(|(_, m)| m).collect();
            let test: Vec<LabelledMessage> = test.into_iter().map(|(_, m)| m).collect();
            let evaluation = evaluate(&matcher_with_examples(&train), &test);
            confusions.extend(evaluation.confusions);
            all.extend(test);
        }
        let correct = all.len() - confusions.len();
        println!(
            "train 5-fold CV: {correct}/{} accuracy {:.3}",
            all.len(),
            correct as f64 / all.len() as f64
        );
        for c in confusions {
            println!(
                "  expected {:<13} got {:<13} {}",
                c.expected.as_str(),
                c.got.as_str(),
                c.text
            );
        }
        return;
    }
    let matcher = Matcher::default();
    let (keywords, examples) = matcher.size();
    println!("matcher: {keywords} keywords, {examples} examples");
    let evaluation = evaluate(&matcher, &split.held_out);
    print(&evaluation, "held-out");
    let texts: Vec<&str> = split
        .train
        .iter()
        .chain(&split.held_out)
        .map(|m| m.text.as_str())
        .collect();
    let micros = measure_micros(&matcher, &texts, 50);
    println!(
        "timing: {micros:.1} µs/message over {} calls",
        texts.len() * 50
    );
}
