//! Behaviour of the built-in matcher on the cases named in the requirements.

use balcao_intent::{
    AppliedRule, ConfigError, Intent, IntentConfig, Keyword, Matcher, MatcherConfig,
    PaymentMethodHint, Sector, match_reply_id,
};

fn intent_of(matcher: &Matcher, text: &str) -> Intent {
    matcher.classify(text).intent
}

#[test]
fn recognises_the_listed_phrasings() {
    let matcher = Matcher::default();
    let cases = [
        ("2 via", Intent::Invoice),
        ("2a via", Intent::Invoice),
        ("2ª via", Intent::Invoice),
        ("segunda via", Intent::Invoice),
        ("qro pagar", Intent::Invoice),
        (
            "bom dia, tudo bem? queria saber como faço pra pegar a segunda via do meu boleto por favor",
            Intent::Invoice,
        ),
        ("quanto devo", Intent::Debts),
        ("tenho débito?", Intent::Debts),
        ("minhas pendências", Intent::Debts),
        ("desbloqueia", Intent::Unlock),
        ("libera minha internet", Intent::Unlock),
        ("desbloqueio de confiança", Intent::Unlock),
        ("paguei e continua bloqueado", Intent::Unlock),
        ("já paguei", Intent::AlreadyPaid),
        ("paguei ontem", Intent::AlreadyPaid),
        ("to sem net", Intent::Connection),
        ("tô sem net", Intent::Connection),
        ("caiu a internet", Intent::Connection),
        ("internet lenta", Intent::Connection),
        ("internetttt lentaaa", Intent::Connection),
        ("sem sinal", Intent::Connection),
        ("wifi não funciona", Intent::Connection),
        ("quero falar com um atendente", Intent::Human),
        ("quero cancelar", Intent::Cancel),
        ("oiiii", Intent::Greeting),
        ("vlw", Intent::Thanks),
        ("obg", Intent::Thanks),
        ("blz", Intent::Yes),
        ("sim", Intent::Yes),
        ("n", Intent::No),
        ("naum", Intent::No),
        ("nao", Intent::No),
        ("menu", Intent::Menu),
        ("início", Intent::Menu),
        ("voltar", Intent::Menu),
        ("qual meu protocolo", Intent::Protocol),
        ("número do protocolo", Intent::Protocol),
        ("SAIR", Intent::OptOut),
        ("PARAR", Intent::OptOut),
        ("não quero mais receber", Intent::OptOut),
        ("asdkjh qwpoe", Intent::Unknown),
        ("", Intent::Unknown),
    ];
    for (text, expected) in cases {
        assert_eq!(intent_of(&matcher, text), expected, "{text:?}");
    }
}

#[test]
fn reads_menu_choices_in_every_form() {
    let matcher = Matcher::default();
    for (text, number) in [
        ("1", 1),
        ("opção 2", 2),
        ("2️⃣", 2),
        ("dois", 2),
        ("opcao 10", 10),
    ] {
        let result = matcher.classify(text);
        assert_eq!(result.intent, Intent::Number, "{text:?}");
        assert_eq!(result.extracted.number, Some(number), "{text:?}");
    }
    // A number inside a request is not a menu choice.
    let result = matcher.classify("2 via do boleto");
    assert_eq!(result.intent, Intent::Invoice);
    assert_eq!(result.extracted.number, None);
}

#[test]
fn extracts_documents_without_validating_them() {
    let matcher = Matcher::default();
    let alone = matcher.classify("meu cpf é 123.456.789-00");
    assert_eq!(alone.intent, Intent::Document);
    assert_eq!(alone.extracted.document.as_deref(), Some("12345678900"));
    let with_request = matcher.classify("segunda via, cnpj 12.345.678/0001-95");
    assert_eq!(with_request.intent, Intent::Invoice);
    assert_eq!(
        with_request.extracted.document.as_deref(),
        Some("12345678000195")
    );
    assert_eq!(
        matcher.classify("qual o cnpj de vocês?").extracted.document,
        None
    );
    assert_ne!(
        matcher.classify("qual o cnpj de vocês?").intent,
        Intent::Document
    );
}

#[test]
fn hints_the_payment_method_of_invoice_requests() {
    let matcher = Matcher::default();
    let method = |text: &str| {
        let result = matcher.classify(text);
        assert_eq!(result.intent, Intent::Invoice, "{text:?}");
        result.extracted.payment_method
    };
    assert_eq!(method("manda o pix"), Some(PaymentMethodHint::Pix));
    assert_eq!(method("pix copia e cola"), Some(PaymentMethodHint::Pix));
    assert_eq!(method("me manda o boleto"), Some(PaymentMethodHint::Boleto));
    assert_eq!(
        method("código de barras pfv"),
        Some(PaymentMethodHint::Boleto)
    );
    assert_eq!(method("segunda via"), Some(PaymentMethodHint::Any));
    assert_eq!(
        method("pode ser pix ou boleto"),
        Some(PaymentMethodHint::Any)
    );
    assert_eq!(
        matcher.classify("quanto devo?").extracted.payment_method,
        None
    );
}

#[test]
fn finds_the_sector_asked_for() {
    let matcher = Matcher::default();
    let sector = |text: &str| {
        let result = matcher.classify(text);
        assert_eq!(result.intent, Intent::Human, "{text:?}");
        result.extracted.sector
    };
    assert_eq!(sector("falar com o financeiro"), Some(Sector::Billing));
    assert_eq!(sector("quero falar com o suporte"), Some(Sector::Support));
    assert_eq!(sector("me passa pro técnico"), Some(Sector::Support));
    assert_eq!(sector("setor comercial"), Some(Sector::Sales));
    assert_eq!(sector("vendas"), Some(Sector::Sales));
    assert_eq!(sector("quero contratar internet"), Some(Sector::Sales));
    assert_eq!(
        sector("quero falar com o setor de cancelamento"),
        Some(Sector::Cancellation)
    );
    assert_eq!(
        sector("quero falar com uma pessoa sobre meu boleto"),
        Some(Sector::Billing)
    );
    assert_eq!(sector("atendente"), None);
    assert_eq!(matcher.classify("segunda via").extracted.sector, None);
}

#[test]
fn substantive_requests_win_over_social_words() {
    let matcher = Matcher::default();
    assert_eq!(
        intent_of(&matcher, "oi bom dia, to sem internet"),
        Intent::Connection
    );
    assert_eq!(
        intent_of(&matcher, "obrigado, mas quero cancelar"),
        Intent::Cancel
    );
    assert_eq!(intent_of(&matcher, "sim, manda o boleto"), Intent::Invoice);
    let explanation = matcher.explain("boa tarde, quero a segunda via");
    assert_eq!(explanation.classification.intent, Intent::Invoice);
    assert!(
        explanation
            .rules
            .contains(&AppliedRule::SocialIntentsDamped)
    );
}

#[test]
fn paid_but_blocked_is_unlock_and_plain_payment_is_already_paid() {
    let matcher = Matcher::default();
    let explanation = matcher.explain("já paguei e ainda to sem internet");
    assert_eq!(explanation.classification.intent, Intent::Unlock);
    assert!(explanation.rules.contains(&AppliedRule::PaidButOffline));
    assert_eq!(intent_of(&matcher, "paguei no pix"), Intent::AlreadyPaid);
    assert_eq!(
        matcher.classify("paguei no pix").extracted.payment_method,
        Some(PaymentMethodHint::Pix)
    );
}

#[test]
fn tolerates_typos_on_keywords() {
    let matcher = Matcher::default();
    assert_eq!(intent_of(&matcher, "sengunda via"), Intent::Invoice);
    assert_eq!(intent_of(&matcher, "me manda a fatira"), Intent::Invoice);
    assert_eq!(intent_of(&matcher, "intenet lenta"), Intent::Connection);
    assert_eq!(intent_of(&matcher, "desbolqueio"), Intent::Unlock);
    assert_eq!(intent_of(&matcher, "protocoloo"), Intent::Protocol);
    let explanation = matcher.explain("sengunda via");
    assert!(explanation.keyword_hits.iter().any(|hit| hit.fuzzy));
}

#[test]
fn explanation_tells_keywords_examples_and_scores() {
    let matcher = Matcher::default();
    let explanation = matcher.explain("Qro a 2ª via do BOLETO!!");
    assert_eq!(explanation.normalized, "quero a 2 a via do boleto");
    assert!(
        explanation
            .keyword_hits
            .iter()
            .any(|hit| hit.intent == Intent::Invoice && hit.keyword == "boleto" && !hit.fuzzy)
    );
    assert_eq!(explanation.scores[0].0, Intent::Invoice);
    assert!(explanation.nearest_examples[0].similarity > 0.0);
    assert_eq!(
        explanation.classification,
        matcher.classify("Qro a 2ª via do BOLETO!!")
    );
}

#[test]
fn low_confidence_becomes_unknown_with_the_candidates_as_alternatives() {
    let matcher = Matcher::new(MatcherConfig {
        threshold: Some(0.99),
        ..MatcherConfig::default()
    })
    .unwrap();
    let result = matcher.classify("internet");
    assert_eq!(result.intent, Intent::Unknown);
    assert_eq!(result.alternatives[0].0, Intent::Connection);
    assert!(result.confidence > 0.0 && result.confidence <= 1.0);
}

#[test]
fn configuration_adds_reweights_and_removes_keywords() {
    let config = MatcherConfig::from_json(
        r#"{
            "intents": {
                "invoice": {"keywords": ["carnê", {"phrase": "boleto", "weight": 0}]},
                "human": {"keywords": [{"phrase": "ouvidoria", "weight": 3}],
                          "examples": ["quero registrar uma reclamação na ouvidoria"]}
            }
        }"#,
    )
    .unwrap();
    let matcher = Matcher::new(config).unwrap();
    assert_eq!(intent_of(&matcher, "me manda o carnê"), Intent::Invoice);
    assert_eq!(intent_of(&matcher, "ouvidoria"), Intent::Human);
    let hits = matcher.explain("boleto").keyword_hits;
    assert!(hits.iter().all(|hit| hit.keyword != "boleto"));
    assert!(intent_of(&Matcher::default(), "boleto") == Intent::Invoice);
}

#[test]
fn replacing_builtins_starts_from_the_configuration_only() {
    let mut config = MatcherConfig {
        replace_builtin: true,
        ..MatcherConfig::default()
    };
    config.intents.insert(
        Intent::Invoice,
        IntentConfig {
            keywords: vec![Keyword::new("guia", 2.0)],
            ..IntentConfig::default()
        },
    );
    let matcher = Matcher::new(config).unwrap();
    assert_eq!(matcher.size(), (1, 0));
    assert_eq!(intent_of(&matcher, "manda a guia"), Intent::Invoice);
    assert_eq!(intent_of(&matcher, "segunda via"), Intent::Unknown);
}

#[test]
fn refuses_invalid_configuration() {
    let keyword = |phrase: &str, weight: f32| {
        let mut config = MatcherConfig::default();
        config.intents.insert(
            Intent::Menu,
            IntentConfig {
                keywords: vec![Keyword::new(phrase, weight)],
                ..IntentConfig::default()
            },
        );
        Matcher::new(config).err()
    };
    assert!(matches!(
        keyword("menu", -1.0),
        Some(ConfigError::InvalidWeight { .. })
    ));
    assert!(matches!(
        keyword("menu", f32::NAN),
        Some(ConfigError::InvalidWeight { .. })
    ));
    assert!(matches!(
        keyword("?!", 1.0),
        Some(ConfigError::EmptyKeyword { .. })
    ));
    assert!(matches!(
        keyword("me*", 1.0),
        Some(ConfigError::ShortStem { .. })
    ));
    assert!(keyword("menu principal", 2.0).is_none());
    let threshold = Matcher::new(MatcherConfig {
        threshold: Some(1.5),
        ..MatcherConfig::default()
    });
    assert!(matches!(threshold, Err(ConfigError::InvalidThreshold(_))));
    assert!(matches!(
        MatcherConfig::from_json(r#"{"intents": {"boleto": {}}}"#),
        Err(ConfigError::Json(_))
    ));
}

#[test]
fn configuration_round_trips_through_json() {
    let mut config = MatcherConfig {
        threshold: Some(0.5),
        ..MatcherConfig::default()
    };
    config.intents.insert(
        Intent::AlreadyPaid,
        IntentConfig {
            keywords: vec![Keyword::new("depositei", 2.5)],
            examples: vec!["fiz o depósito".into()],
            ..IntentConfig::default()
        },
    );
    let json = serde_json::to_string(&config).unwrap();
    assert!(json.contains("\"already_paid\""));
    assert_eq!(MatcherConfig::from_json(&json).unwrap(), config);
}

#[test]
fn maps_interactive_reply_ids() {
    let invoice = match_reply_id("intent:invoice").unwrap();
    assert_eq!(invoice.intent, Intent::Invoice);
    assert_eq!(invoice.confidence, 1.0);
    assert_eq!(
        invoice.extracted.payment_method,
        Some(PaymentMethodHint::Any)
    );
    let pix = match_reply_id("intent:invoice:pix").unwrap();
    assert_eq!(pix.extracted.payment_method, Some(PaymentMethodHint::Pix));
    let human = match_reply_id("intent:human:financeiro").unwrap();
    assert_eq!(human.extracted.sector, Some(Sector::Billing));
    assert_eq!(
        match_reply_id("intent:human:support")
            .unwrap()
            .extracted
            .sector,
        Some(Sector::Support)
    );
    assert_eq!(
        match_reply_id("intent:number:3").unwrap().extracted.number,
        Some(3)
    );
    assert_eq!(
        match_reply_id("intent:already_paid").unwrap().intent,
        Intent::AlreadyPaid
    );
    assert_eq!(Intent::OptOut.reply_id(), "intent:opt_out");
    for id in Intent::ALL.map(Intent::reply_id) {
        if !matches!(id.as_str(), "intent:number" | "intent:document") {
            assert!(match_reply_id(&id).is_some(), "{id}");
        }
    }
    for bad in [
        "invoice",
        "intent:",
        "intent:boleto",
        "intent:invoice:cheque",
        "intent:number:x",
        "intent:number",
        "menu:1",
    ] {
        assert_eq!(match_reply_id(bad), None, "{bad}");
    }
}
