use super::*;
use balcao_domain::outbound::ListRow;
use proptest::prelude::*;

fn text(body: &str) -> OutboundContent {
    OutboundContent::Text {
        body: body.into(),
        preview_url: false,
    }
}

fn button(id: &str, title: &str) -> ReplyButton {
    ReplyButton {
        id: id.into(),
        title: title.into(),
    }
}

fn buttons(body: &str, list: Vec<ReplyButton>) -> OutboundContent {
    OutboundContent::Buttons {
        body: body.into(),
        header: None,
        footer: None,
        buttons: list,
    }
}

fn row(id: &str, title: &str) -> ListRow {
    ListRow {
        id: id.into(),
        title: title.into(),
        description: None,
    }
}

fn list(sections: Vec<ListSection>) -> OutboundContent {
    OutboundContent::List {
        body: "Escolha".into(),
        button: "Ver opções".into(),
        header: None,
        footer: None,
        sections,
    }
}

fn section(title: Option<&str>, rows: Vec<ListRow>) -> ListSection {
    ListSection {
        title: title.map(Into::into),
        rows,
    }
}

fn too_long(field: &str, max: usize, actual: usize) -> Result<(), ContentError> {
    Err(ContentError::TooLong {
        field: field.into(),
        max,
        actual,
    })
}

#[test]
fn text_body_exact() {
    let body = build_send_body(
        "5516992318222",
        &OutboundContent::Text {
            body: "Olá, João".into(),
            preview_url: true,
        },
        Some("outbox-7"),
        Some("wamid.IN"),
    );
    assert_eq!(
        body,
        json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "5516992318222",
            "type": "text", "text": {"preview_url": true, "body": "Olá, João"},
            "context": {"message_id": "wamid.IN"}, "biz_opaque_callback_data": "outbox-7",
        })
    );
    let plain = build_send_body("1", &text("x"), None, None);
    assert_eq!(
        plain,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "1", "type": "text",
               "text": {"preview_url": false, "body": "x"}})
    );
}

#[test]
fn buttons_body_exact() {
    let content = OutboundContent::Buttons {
        body: "Sua fatura vence amanhã".into(),
        header: Some("Fatura".into()),
        footer: Some("Provedor X".into()),
        buttons: vec![
            button("pix", "Pagar com Pix"),
            button("boleto", "2ª via do boleto"),
        ],
    };
    assert_eq!(
        build_send_body("5511987650001", &content, None, None),
        json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "5511987650001",
            "type": "interactive",
            "interactive": {
                "type": "button",
                "header": {"type": "text", "text": "Fatura"},
                "body": {"text": "Sua fatura vence amanhã"},
                "footer": {"text": "Provedor X"},
                "action": {"buttons": [
                    {"type": "reply", "reply": {"id": "pix", "title": "Pagar com Pix"}},
                    {"type": "reply", "reply": {"id": "boleto", "title": "2ª via do boleto"}},
                ]},
            },
        })
    );
    // Empty header/footer are left out.
    let bare = OutboundContent::Buttons {
        body: "b".into(),
        header: Some(String::new()),
        footer: None,
        buttons: vec![button("a", "A")],
    };
    assert_eq!(
        build_send_body("1", &bare, None, None)["interactive"],
        json!({"type": "button", "body": {"text": "b"},
               "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]}})
    );
}

#[test]
fn list_body_exact() {
    let content = OutboundContent::List {
        body: "Como podemos ajudar?".into(),
        button: "Ver opções".into(),
        header: Some("Atendimento".into()),
        footer: None,
        sections: vec![
            section(
                Some("Financeiro"),
                vec![
                    ListRow {
                        id: "fatura".into(),
                        title: "2ª via".into(),
                        description: Some("Boleto ou Pix".into()),
                    },
                    row("desbloqueio", "Desbloqueio"),
                ],
            ),
            section(Some("Suporte"), vec![row("sem_internet", "Sem internet")]),
        ],
    };
    assert_eq!(
        build_send_body("1", &content, None, None)["interactive"],
        json!({
            "type": "list",
            "header": {"type": "text", "text": "Atendimento"},
            "body": {"text": "Como podemos ajudar?"},
            "action": {"button": "Ver opções", "sections": [
                {"title": "Financeiro", "rows": [
                    {"id": "fatura", "title": "2ª via", "description": "Boleto ou Pix"},
                    {"id": "desbloqueio", "title": "Desbloqueio"},
                ]},
                {"title": "Suporte", "rows": [{"id": "sem_internet", "title": "Sem internet"}]},
            ]},
        })
    );
}

#[test]
fn template_body_exact() {
    let template = TemplateMessage {
        name: "boleto_vencimento".into(),
        language: "pt_BR".into(),
        components: vec![
            TemplateComponent {
                kind: TemplateComponentKind::Header,
                sub_type: None,
                index: None,
                parameters: vec![TemplateParameter::Document {
                    link: "https://x.example/b123.pdf".into(),
                    filename: Some("boleto.pdf".into()),
                }],
            },
            TemplateComponent {
                kind: TemplateComponentKind::Body,
                sub_type: None,
                index: None,
                parameters: vec![
                    TemplateParameter::Text {
                        text: "João".into(),
                    },
                    TemplateParameter::Currency {
                        fallback_value: "R$ 120,00".into(),
                        code: "BRL".into(),
                        amount_1000: 120_000,
                    },
                    TemplateParameter::DateTime {
                        fallback_value: "10/12/2026".into(),
                    },
                ],
            },
            TemplateComponent {
                kind: TemplateComponentKind::Button,
                sub_type: Some("quick_reply".into()),
                index: Some(0),
                parameters: vec![TemplateParameter::Payload {
                    payload: "PAGO_123".into(),
                }],
            },
            TemplateComponent {
                kind: TemplateComponentKind::Button,
                sub_type: Some("url".into()),
                index: Some(1),
                parameters: vec![TemplateParameter::Text {
                    text: "abc123".into(),
                }],
            },
        ],
    };
    assert_eq!(
        build_send_body(
            "5516992318222",
            &OutboundContent::Template(template),
            Some("k1"),
            None
        ),
        json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "5516992318222",
            "type": "template", "biz_opaque_callback_data": "k1",
            "template": {"name": "boleto_vencimento", "language": {"code": "pt_BR"}, "components": [
                {"type": "header", "parameters": [{"type": "document", "document": {"link": "https://x.example/b123.pdf", "filename": "boleto.pdf"}}]},
                {"type": "body", "parameters": [
                    {"type": "text", "text": "João"},
                    {"type": "currency", "currency": {"fallback_value": "R$ 120,00", "code": "BRL", "amount_1000": 120000}},
                    {"type": "date_time", "date_time": {"fallback_value": "10/12/2026"}},
                ]},
                {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "PAGO_123"}]},
                {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "abc123"}]},
            ]},
        })
    );
    let media = TemplateMessage {
        name: "promo".into(),
        language: "pt_BR".into(),
        components: vec![TemplateComponent {
            kind: TemplateComponentKind::Header,
            sub_type: None,
            index: None,
            parameters: vec![
                TemplateParameter::Image {
                    link: "https://x.example/i.jpg".into(),
                },
                TemplateParameter::Video {
                    link: "https://x.example/v.mp4".into(),
                },
            ],
        }],
    };
    assert_eq!(
        build_send_body("1", &OutboundContent::Template(media), None, None)["template"]["components"],
        json!([{"type": "header", "parameters": [
            {"type": "image", "image": {"link": "https://x.example/i.jpg"}},
            {"type": "video", "video": {"link": "https://x.example/v.mp4"}},
        ]}])
    );
    let bare = TemplateMessage {
        name: "hello_world".into(),
        language: "en_US".into(),
        components: vec![],
    };
    assert_eq!(
        build_send_body("1", &OutboundContent::Template(bare), None, None)["template"],
        json!({"name": "hello_world", "language": {"code": "en_US"}})
    );
}

#[test]
fn document_and_image_bodies_exact() {
    let doc = OutboundContent::Document {
        link: "https://x.example/boleto.pdf".into(),
        filename: Some("boleto.pdf".into()),
        caption: Some("Seu boleto".into()),
    };
    assert_eq!(
        build_send_body("1", &doc, None, None),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "1", "type": "document",
               "document": {"link": "https://x.example/boleto.pdf", "filename": "boleto.pdf", "caption": "Seu boleto"}})
    );
    let image = OutboundContent::Image {
        link: "https://x.example/qr.png".into(),
        caption: None,
    };
    assert_eq!(
        build_send_body("1", &image, None, None),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "1", "type": "image",
               "image": {"link": "https://x.example/qr.png"}})
    );
}

#[test]
fn mark_read_bodies() {
    assert_eq!(
        mark_read_body("wamid.A", false),
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.A"})
    );
    assert_eq!(
        mark_read_body("wamid.A", true),
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.A", "typing_indicator": {"type": "text"}})
    );
}

#[test]
fn text_limits_count_characters() {
    assert_eq!(validate(&text(&"ç".repeat(4096))), Ok(()));
    assert_eq!(
        validate(&text(&"ç".repeat(4097))),
        too_long("o texto da mensagem", 4096, 4097)
    );
    assert_eq!(
        validate(&text("  ")),
        Err(ContentError::Empty {
            field: "o texto da mensagem".into()
        })
    );
    let message = validate(&text(&"a".repeat(5000))).unwrap_err().to_string();
    assert_eq!(
        message,
        "o texto da mensagem tem 5000 caracteres; o limite é 4096"
    );
}

#[test]
fn button_limits() {
    assert_eq!(
        validate(&buttons("b", vec![])),
        Err(ContentError::ButtonCount { count: 0 })
    );
    let four = (0..4)
        .map(|i| button(&format!("i{i}"), &format!("t{i}")))
        .collect();
    assert_eq!(
        validate(&buttons("b", four)),
        Err(ContentError::ButtonCount { count: 4 })
    );
    let three = (0..3)
        .map(|i| button(&format!("i{i}"), &format!("t{i}")))
        .collect();
    assert_eq!(validate(&buttons("b", three)), Ok(()));
    assert_eq!(
        validate(&buttons("b", vec![button("a", "Sim"), button("b", "Sim")])),
        Err(ContentError::DuplicateButtonTitle {
            title: "Sim".into()
        })
    );
    assert_eq!(
        validate(&buttons("b", vec![button("a", "Sim"), button("a", "Não")])),
        Err(ContentError::DuplicateButtonId { id: "a".into() })
    );
    assert_eq!(
        validate(&buttons("b", vec![button("a", &"é".repeat(20))])),
        Ok(())
    );
    assert_eq!(
        validate(&buttons(
            "b",
            vec![button("a", "ok"), button("b", &"é".repeat(21))]
        )),
        too_long("o título do botão 2", 20, 21)
    );
    assert_eq!(
        validate(&buttons("b", vec![button(&"x".repeat(257), "ok")])),
        too_long("o identificador do botão 1", 256, 257)
    );
    assert_eq!(
        validate(&buttons(&"x".repeat(1025), vec![button("a", "ok")])),
        too_long("o texto da mensagem", 1024, 1025)
    );
    assert_eq!(
        validate(&buttons("b", vec![button("", "ok")])),
        Err(ContentError::Empty {
            field: "o identificador do botão 1".into()
        })
    );
    let long_header = OutboundContent::Buttons {
        body: "b".into(),
        header: Some("h".repeat(61)),
        footer: None,
        buttons: vec![button("a", "ok")],
    };
    assert_eq!(validate(&long_header), too_long("o cabeçalho", 60, 61));
    let long_footer = OutboundContent::Buttons {
        body: "b".into(),
        header: Some("h".repeat(60)),
        footer: Some("f".repeat(61)),
        buttons: vec![button("a", "ok")],
    };
    assert_eq!(validate(&long_footer), too_long("o rodapé", 60, 61));
}

#[test]
fn list_limits() {
    let ten: Vec<ListRow> = (0..10)
        .map(|i| row(&format!("r{i}"), &format!("Opção {i}")))
        .collect();
    assert_eq!(validate(&list(vec![section(None, ten.clone())])), Ok(()));
    let (a, b) = ten.split_at(6);
    let mut eleven_in_two = vec![
        section(Some("A"), a.to_vec()),
        section(Some("B"), b.to_vec()),
    ];
    assert_eq!(validate(&list(eleven_in_two.clone())), Ok(()));
    eleven_in_two[1].rows.push(row("r10", "Mais uma"));
    assert_eq!(
        validate(&list(eleven_in_two)),
        Err(ContentError::ListRowCount { count: 11 })
    );
    assert_eq!(
        validate(&list(vec![])),
        Err(ContentError::ListRowCount { count: 0 })
    );
    assert_eq!(
        validate(&list(vec![
            section(Some("A"), vec![row("a", "A")]),
            section(Some("B"), vec![])
        ])),
        Err(ContentError::EmptySection { section: 2 })
    );
    assert_eq!(
        validate(&list(vec![
            section(Some("A"), vec![row("a", "A")]),
            section(None, vec![row("b", "B")])
        ])),
        Err(ContentError::SectionTitleRequired { section: 2 })
    );
    assert_eq!(
        validate(&list(vec![section(
            None,
            vec![row("a", "A"), row("a", "B")]
        )])),
        Err(ContentError::DuplicateRowId { id: "a".into() })
    );
    assert_eq!(
        validate(&list(vec![section(None, vec![row("a", &"t".repeat(25))])])),
        too_long("o título da opção 1", 24, 25)
    );
    assert_eq!(
        validate(&list(vec![section(
            None,
            vec![row("a", "ok"), row(&"i".repeat(201), "ok2")]
        )])),
        too_long("o identificador da opção 2", 200, 201)
    );
    let described = ListRow {
        id: "a".into(),
        title: "A".into(),
        description: Some("d".repeat(73)),
    };
    assert_eq!(
        validate(&list(vec![section(None, vec![described])])),
        too_long("a descrição da opção 1", 72, 73)
    );
    assert_eq!(
        validate(&list(vec![section(
            Some(&"s".repeat(25)),
            vec![row("a", "A")]
        )])),
        too_long("o título da seção 1", 24, 25)
    );
    let long_button = OutboundContent::List {
        body: "b".into(),
        button: "b".repeat(21),
        header: None,
        footer: None,
        sections: vec![section(None, vec![row("a", "A")])],
    };
    assert_eq!(
        validate(&long_button),
        too_long("o texto do botão da lista", 20, 21)
    );
}

#[test]
fn media_links_and_captions() {
    let doc = |link: &str, caption: Option<String>| OutboundContent::Document {
        link: link.into(),
        filename: None,
        caption,
    };
    assert_eq!(
        validate(&doc("https://x.example/a.pdf", Some("c".repeat(1024)))),
        Ok(())
    );
    assert_eq!(
        validate(&doc("https://x.example/a.pdf", Some("c".repeat(1025)))),
        too_long("a legenda", 1024, 1025)
    );
    assert_eq!(
        validate(&doc("http://127.0.0.1:8080/media/a.pdf", None)),
        Ok(())
    );
    for bad in [
        "/boleto.pdf",
        "ftp://x/a.pdf",
        "https://",
        "https:///a",
        "https://x y/a",
        "x.example/a.pdf",
        "https://h:port/a",
        "",
    ] {
        assert_eq!(
            validate(&doc(bad, None)),
            Err(ContentError::InvalidLink {
                field: "o link do documento".into(),
                link: bad.into()
            }),
            "{bad}"
        );
    }
    let image = OutboundContent::Image {
        link: "data:image/png;base64,AAA".into(),
        caption: None,
    };
    assert!(matches!(
        validate(&image),
        Err(ContentError::InvalidLink { .. })
    ));
    let message = validate(&image).unwrap_err().to_string();
    assert!(
        message.starts_with("o link da imagem precisa ser um endereço completo"),
        "{message}"
    );
}

#[test]
fn url_shapes() {
    for good in [
        "https://a",
        "HTTPS://A.EXAMPLE/x?y#z",
        "http://[::1]:8080/x",
        "https://user@host/x",
        "http://h:1",
    ] {
        assert!(is_absolute_http_url(good), "{good}");
    }
    for bad in [
        "https://:80/x",
        "http://h:/x",
        "http://h:123456",
        "https//h",
        "mailto:a@b",
        "https://h\n",
    ] {
        assert!(!is_absolute_http_url(bad), "{bad}");
    }
}

#[test]
fn template_rules() {
    let tpl = |components: Vec<TemplateComponent>| {
        OutboundContent::Template(TemplateMessage {
            name: "t".into(),
            language: "pt_BR".into(),
            components,
        })
    };
    let body = |parameters| TemplateComponent {
        kind: TemplateComponentKind::Body,
        sub_type: None,
        index: None,
        parameters,
    };
    assert_eq!(
        validate(&tpl(vec![body(vec![TemplateParameter::Text {
            text: "João  Silva".into()
        }])])),
        Ok(())
    );
    assert_eq!(
        validate(&tpl(vec![body(vec![
            TemplateParameter::Text { text: "a".into() },
            TemplateParameter::Text {
                text: "linha\noutra".into()
            }
        ])])),
        Err(ContentError::TemplateParamFormat {
            field: "o parâmetro 2 do componente 1 do modelo".into()
        })
    );
    assert!(matches!(
        validate(&tpl(vec![body(vec![TemplateParameter::Text {
            text: "a     b".into()
        }])])),
        Err(ContentError::TemplateParamFormat { .. })
    ));
    assert!(matches!(
        validate(&tpl(vec![body(vec![TemplateParameter::Text {
            text: " ".into()
        }])])),
        Err(ContentError::Empty { .. })
    ));
    assert!(matches!(
        validate(&tpl(vec![body(vec![TemplateParameter::Image {
            link: "foto.jpg".into()
        }])])),
        Err(ContentError::InvalidLink { .. })
    ));
    let incomplete = TemplateComponent {
        kind: TemplateComponentKind::Button,
        sub_type: Some("quick_reply".into()),
        index: None,
        parameters: vec![TemplateParameter::Payload {
            payload: "P".into(),
        }],
    };
    assert_eq!(
        validate(&tpl(vec![body(vec![]), incomplete])),
        Err(ContentError::TemplateButtonIncomplete { component: 2 })
    );
    let nameless = OutboundContent::Template(TemplateMessage {
        name: " ".into(),
        language: "pt_BR".into(),
        components: vec![],
    });
    assert_eq!(
        validate(&nameless),
        Err(ContentError::Empty {
            field: "o nome do modelo".into()
        })
    );
}

proptest! {
    #[test]
    fn text_validation_follows_the_character_count(body in "\\PC{1,40}", extra in 0usize..3) {
        let base: String = body.chars().cycle().take(4094 + extra).collect();
        let result = validate(&text(&base));
        if base.trim().is_empty() {
            prop_assert!(matches!(result, Err(ContentError::Empty { .. })), "blank text must be refused");
        } else if base.chars().count() <= 4096 {
            prop_assert_eq!(result, Ok(()));
        } else {
            prop_assert!(matches!(result, Err(ContentError::TooLong { max: 4096, .. })), "long text must be refused");
        }
    }

    #[test]
    fn every_valid_button_message_builds_every_button(titles in proptest::collection::hash_set("[a-zA-Zçã ]{1,20}", 1..=3)) {
        let list: Vec<ReplyButton> = titles.iter().enumerate().map(|(i, t)| button(&format!("b{i}"), t)).collect();
        let content = buttons("corpo", list.clone());
        let blank = titles.iter().any(|t| t.trim().is_empty());
        prop_assert_eq!(validate(&content).is_ok(), !blank);
        let built = build_send_body("1", &content, None, None);
        let sent = built["interactive"]["action"]["buttons"].as_array().unwrap();
        prop_assert_eq!(sent.len(), list.len());
        for (json, b) in sent.iter().zip(&list) {
            prop_assert_eq!(json["reply"]["title"].as_str(), Some(b.title.as_str()));
            prop_assert_eq!(json["reply"]["id"].as_str(), Some(b.id.as_str()));
        }
    }
}
