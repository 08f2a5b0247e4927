use super::*;
use crate::json::to_ascii_json;
use proptest::prelude::*;

const RECEIVED_AT: Millis = 1_700_000_000_123;

fn parse_json(body: &Value) -> WebhookBatch {
    parse_at(to_ascii_json(body).as_bytes(), RECEIVED_AT).expect("an object is always accepted")
}

fn envelope(changes: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": changes}]})
}

fn messages_change(value_extra: Value) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
    });
    value
        .as_object_mut()
        .unwrap()
        .extend(value_extra.as_object().unwrap().clone());
    json!([{"field": "messages", "value": value}])
}

fn one_message(message: Value) -> InboundMessage {
    let batch = parse_json(&envelope(messages_change(json!({
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        "messages": [message],
    }))));
    assert!(
        batch.statuses.is_empty() && batch.other.is_empty(),
        "{batch:?}"
    );
    assert_eq!(batch.messages.len(), 1);
    batch.messages.into_iter().next().unwrap()
}

fn msg(kind: &str, part: Value) -> Value {
    let mut m =
        json!({"from": "16505551234", "id": "wamid.X", "timestamp": "1750857384", "type": kind});
    m.as_object_mut()
        .unwrap()
        .extend(part.as_object().unwrap().clone());
    m
}

#[test]
fn spec_text_message_with_escaped_name() {
    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Jo\u00e3o"},"wa_id":"5516992318222"}],"messages":[{"from":"5516992318222","id":"wamid.HBgN","timestamp":"1750857384","type":"text","text":{"body":"Ol\u00e1 \ud83d\udc4d"}}]}}]}]}"#;
    let batch = parse_at(body, RECEIVED_AT).unwrap();
    let m = &batch.messages[0];
    assert_eq!(m.phone_number_id, "106540352242922");
    assert_eq!(m.wamid, "wamid.HBgN");
    assert_eq!(m.from.as_ref().unwrap().as_str(), "5516992318222");
    assert_eq!(m.profile_name.as_deref(), Some("João"));
    assert_eq!(m.timestamp, 1_750_857_384_000);
    assert_eq!(m.message_type, "text");
    assert_eq!(
        m.content,
        MessageContent::Text {
            body: "Olá 👍".into()
        }
    );
    assert_eq!(m.context, None);
    assert_eq!(m.raw["text"]["body"], "Olá 👍");
}

#[test]
fn every_message_type_of_the_spec() {
    let cases: Vec<(Value, MessageContent)> = vec![
        (
            msg(
                "interactive",
                json!({"interactive": {"type": "button_reply", "button_reply": {"id": "pagar", "title": "Pagar"}}}),
            ),
            MessageContent::ButtonReply {
                id: "pagar".into(),
                title: "Pagar".into(),
            },
        ),
        (
            msg(
                "interactive",
                json!({"interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "2ª via", "description": "boleto"}}}),
            ),
            MessageContent::ListReply {
                id: "r1".into(),
                title: "2ª via".into(),
                description: Some("boleto".into()),
            },
        ),
        (
            msg(
                "interactive",
                json!({"interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "2ª via"}}}),
            ),
            MessageContent::ListReply {
                id: "r1".into(),
                title: "2ª via".into(),
                description: None,
            },
        ),
        (
            msg(
                "interactive",
                json!({"interactive": {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent", "response_json": "{}"}}}),
            ),
            MessageContent::Other,
        ),
        (
            msg(
                "button",
                json!({"button": {"payload": "PAGO_123", "text": "Já paguei"}}),
            ),
            MessageContent::TemplateButton {
                payload: "PAGO_123".into(),
                text: "Já paguei".into(),
            },
        ),
        (
            msg(
                "image",
                json!({"image": {"caption": "comprovante", "mime_type": "image/jpeg", "sha256": "abc", "id": "m1"}}),
            ),
            MessageContent::Media {
                media: MediaKind::Image,
                media_id: "m1".into(),
                mime_type: Some("image/jpeg".into()),
                sha256: Some("abc".into()),
                caption: Some("comprovante".into()),
                filename: None,
                url: None,
            },
        ),
        (
            msg(
                "document",
                json!({"document": {"filename": "b.pdf", "mime_type": "application/pdf", "sha256": "s", "id": "m2", "url": "https://lookaside/x"}}),
            ),
            MessageContent::Media {
                media: MediaKind::Document,
                media_id: "m2".into(),
                mime_type: Some("application/pdf".into()),
                sha256: Some("s".into()),
                caption: None,
                filename: Some("b.pdf".into()),
                url: Some("https://lookaside/x".into()),
            },
        ),
        (
            msg(
                "audio",
                json!({"audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": "s", "id": "m3", "voice": true}}),
            ),
            MessageContent::Media {
                media: MediaKind::Audio,
                media_id: "m3".into(),
                mime_type: Some("audio/ogg; codecs=opus".into()),
                sha256: Some("s".into()),
                caption: None,
                filename: None,
                url: None,
            },
        ),
        (
            msg(
                "video",
                json!({"video": {"mime_type": "video/mp4", "id": "m4"}}),
            ),
            MessageContent::Media {
                media: MediaKind::Video,
                media_id: "m4".into(),
                mime_type: Some("video/mp4".into()),
                sha256: None,
                caption: None,
                filename: None,
                url: None,
            },
        ),
        (
            msg(
                "sticker",
                json!({"sticker": {"mime_type": "image/webp", "id": "m5", "animated": false}}),
            ),
            MessageContent::Media {
                media: MediaKind::Sticker,
                media_id: "m5".into(),
                mime_type: Some("image/webp".into()),
                sha256: None,
                caption: None,
                filename: None,
                url: None,
            },
        ),
        (
            msg("image", json!({"image": {"mime_type": "image/jpeg"}})),
            MessageContent::Other,
        ),
        (
            msg(
                "location",
                json!({"location": {"latitude": -23.5505, "longitude": -46.6333, "name": "Loja", "address": "Av. Paulista"}}),
            ),
            MessageContent::Location {
                latitude: -23.5505,
                longitude: -46.6333,
                name: Some("Loja".into()),
                address: Some("Av. Paulista".into()),
                url: None,
            },
        ),
        (
            msg(
                "reaction",
                json!({"reaction": {"message_id": "wamid.OUT", "emoji": "👍"}}),
            ),
            MessageContent::Reaction {
                message_id: "wamid.OUT".into(),
                emoji: Some("👍".into()),
            },
        ),
        (
            msg("reaction", json!({"reaction": {"message_id": "wamid.OUT"}})),
            MessageContent::Reaction {
                message_id: "wamid.OUT".into(),
                emoji: None,
            },
        ),
        (
            msg(
                "contacts",
                json!({"contacts": [{"name": {"formatted_name": "Ana"}, "phones": [{"phone": "+55 16 99231-8222", "wa_id": "5516992318222"}]}]}),
            ),
            MessageContent::Contacts {
                contacts: json!([{"name": {"formatted_name": "Ana"}, "phones": [{"phone": "+55 16 99231-8222", "wa_id": "5516992318222"}]}]),
            },
        ),
        (
            msg(
                "unsupported",
                json!({"errors": [{"code": 131051, "title": "Message type unknown"}], "unsupported": {"type": "edit"}}),
            ),
            MessageContent::Unsupported {
                error_code: Some(131051),
            },
        ),
        (
            msg("unsupported", json!({})),
            MessageContent::Unsupported { error_code: None },
        ),
        (
            msg(
                "system",
                json!({"system": {"body": "changed number", "type": "user_changed_number", "wa_id": "5516992318223"}}),
            ),
            MessageContent::Other,
        ),
        (
            msg(
                "order",
                json!({"order": {"catalog_id": "1", "product_items": []}}),
            ),
            MessageContent::Other,
        ),
        (
            msg("hologram", json!({"hologram": {"x": 1}})),
            MessageContent::Other,
        ),
        (msg("text", json!({"text": {}})), MessageContent::Other),
    ];
    for (message, expected) in cases {
        let parsed = one_message(message.clone());
        assert_eq!(parsed.content, expected, "{message}");
        assert_eq!(parsed.message_type, message["type"].as_str().unwrap());
        assert_eq!(parsed.raw, message);
        assert_eq!(parsed.profile_name.as_deref(), Some("Sheena Nelson"));
    }
}

#[test]
fn context_and_referral() {
    let m = one_message(msg(
        "interactive",
        json!({
            "context": {"from": "15550783881", "id": "wamid.BUTTONS"},
            "interactive": {"type": "button_reply", "button_reply": {"id": "a", "title": "A"}},
            "referral": {"source_url": "https://fb.me/x", "source_id": "ad1", "source_type": "ad",
                         "body": "Internet 500MB", "headline": "Promo", "media_type": "image",
                         "image_url": "https://x", "ctwa_clid": "clid1", "welcome_message": {"text": "Oi"}},
        }),
    ));
    assert_eq!(
        m.context,
        Some(MessageContext {
            id: Some("wamid.BUTTONS".into()),
            from: Some("15550783881".into()),
            forwarded: false,
            frequently_forwarded: false
        })
    );
    let r = m.referral.unwrap();
    assert_eq!(r.source_id.as_deref(), Some("ad1"));
    assert_eq!(r.source_type.as_deref(), Some("ad"));
    assert_eq!(r.headline.as_deref(), Some("Promo"));
    assert_eq!(r.body.as_deref(), Some("Internet 500MB"));
    assert_eq!(r.media_type.as_deref(), Some("image"));
    assert_eq!(r.source_url.as_deref(), Some("https://fb.me/x"));
    assert_eq!(r.ctwa_clid.as_deref(), Some("clid1"));

    let fwd = one_message(msg(
        "text",
        json!({"text": {"body": "x"}, "context": {"frequently_forwarded": true, "forwarded": true}}),
    ));
    let ctx = fwd.context.unwrap();
    assert!(ctx.forwarded && ctx.frequently_forwarded && ctx.id.is_none());
}

#[test]
fn timestamps_tolerate_numbers_and_fall_back_to_the_reception_time() {
    let at = |ts: Value| {
        let mut m = msg("text", json!({"text": {"body": "x"}}));
        m["timestamp"] = ts;
        one_message(m).timestamp
    };
    assert_eq!(at(json!("1750857384")), 1_750_857_384_000);
    assert_eq!(at(json!(1750857384)), 1_750_857_384_000);
    assert_eq!(at(json!("ontem")), RECEIVED_AT);
    assert_eq!(at(json!("-5")), RECEIVED_AT);
    assert_eq!(at(json!("99999999999999999")), RECEIVED_AT);
    assert_eq!(at(Value::Null), RECEIVED_AT);
}

#[test]
fn senders_without_a_valid_phone_are_kept() {
    let mut bad = msg("text", json!({"text": {"body": "x"}}));
    bad["from"] = json!("not-a-number");
    let m = one_message(bad.clone());
    assert_eq!(m.from, None);
    assert_eq!(m.raw, bad);

    // 2026: a username user, known only by the business-scoped id.
    let batch = parse_json(&envelope(messages_change(json!({
        "contacts": [{"profile": {"name": "Maria", "username": "@maria"}, "user_id": "BR.1502576394655843"}],
        "messages": [{"from_user_id": "BR.1502576394655843", "id": "wamid.U", "timestamp": "1", "type": "text", "text": {"body": "oi"}}],
    }))));
    let m = &batch.messages[0];
    assert_eq!(m.from, None);
    assert_eq!(m.user_id.as_deref(), Some("BR.1502576394655843"));
    assert_eq!(m.profile_name.as_deref(), Some("Maria"));
}

#[test]
fn profile_name_comes_from_the_matching_contact() {
    let batch = parse_json(&envelope(messages_change(json!({
        "contacts": [
            {"profile": {"name": "Ana"}, "wa_id": "5511987650001", "user_id": "BR.1"},
            {"profile": {"name": "Bia"}, "wa_id": "551692318222"},
        ],
        "messages": [
            {"from": "551692318222", "id": "wamid.1", "timestamp": "1", "type": "text", "text": {"body": "a"}},
            {"from": "5511987650001", "id": "wamid.2", "timestamp": "1", "type": "text", "text": {"body": "b"}},
            // 9th-digit form of Bia's number.
            {"from": "5516992318222", "id": "wamid.3", "timestamp": "1", "type": "text", "text": {"body": "c"}},
            {"from": "5521999999999", "id": "wamid.4", "timestamp": "1", "type": "text", "text": {"body": "d"}},
        ],
    }))));
    let names: Vec<_> = batch
        .messages
        .iter()
        .map(|m| m.profile_name.as_deref())
        .collect();
    assert_eq!(names, [Some("Bia"), Some("Ana"), Some("Bia"), None]);
    assert_eq!(batch.messages[1].user_id.as_deref(), Some("BR.1"));
    assert_eq!(batch.messages[0].user_id, None);
}

#[test]
fn statuses_with_pricing_errors_and_callback_data() {
    let batch = parse_json(&envelope(messages_change(json!({"statuses": [
        {"id": "wamid.A", "status": "sent", "timestamp": "1750857384", "recipient_id": "5516992318222",
         "biz_opaque_callback_data": "outbox-42",
         "conversation": {"id": "c1", "origin": {"type": "utility"}},
         "pricing": {"billable": true, "pricing_model": "PMP", "type": "regular", "category": "utility"}},
        {"id": "wamid.A", "status": "failed", "timestamp": "1750857390", "recipient_id": "5516992318222",
         "errors": [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                     "error_data": {"details": "More than 24 hours have passed"}, "href": "https://x"},
                    {"title": "no code"}]},
        {"id": "wamid.B", "status": "deleted", "timestamp": "1"},
        {"status": "read", "timestamp": "1"},
        {"id": "wamid.C", "status": "READ", "timestamp": "1"},
    ]}))));
    assert_eq!(batch.statuses.len(), 3);
    let sent = &batch.statuses[0];
    assert_eq!(sent.status, DeliveryStatus::Sent);
    assert_eq!(sent.phone_number_id, "106540352242922");
    assert_eq!(sent.timestamp, 1_750_857_384_000);
    assert_eq!(sent.recipient_id.as_deref(), Some("5516992318222"));
    assert_eq!(sent.biz_opaque_callback_data.as_deref(), Some("outbox-42"));
    assert_eq!(
        sent.pricing,
        Some(Pricing {
            billable: Some(true),
            pricing_model: Some("PMP".into()),
            pricing_type: Some("regular".into()),
            category: Some("utility".into())
        })
    );
    let failed = &batch.statuses[1];
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert_eq!(
        failed.errors,
        vec![WaError {
            code: 131047,
            title: Some("Re-engagement message".into()),
            message: Some("Re-engagement message".into()),
            details: Some("More than 24 hours have passed".into())
        }]
    );
    assert_eq!(batch.statuses[2].status, DeliveryStatus::Read);
    // Unknown word and missing id: kept in `other`, never dropped.
    assert_eq!(batch.other.len(), 2);
    assert_eq!(batch.other[0].field, "messages");
    assert_eq!(
        batch.other[0].phone_number_id.as_deref(),
        Some("106540352242922")
    );
    assert_eq!(batch.other[0].raw["status"]["status"], "deleted");
    assert_eq!(batch.other[0].raw["entry_id"], "WABA1");
    assert_eq!(
        batch.other[1].raw["status"],
        json!({"status": "read", "timestamp": "1"})
    );
}

#[test]
fn our_own_status_words_are_not_accepted_from_whatsapp() {
    let batch = parse_json(&envelope(messages_change(json!({"statuses": [
        {"id": "wamid.A", "status": "accepted", "timestamp": "1"},
        {"id": "wamid.A", "status": "queued", "timestamp": "1"},
    ]}))));
    assert!(batch.statuses.is_empty());
    assert_eq!(batch.other.len(), 2);
}

#[test]
fn other_fields_and_errors_are_recorded() {
    let body = json!({"object": "whatsapp_business_account", "entry": [
        {"id": "WABA1", "changes": [
            {"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_name": "boleto", "message_template_language": "pt_BR"}},
            {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}},
            {"field": "phone_number_quality_update", "value": {"display_phone_number": "15550783881", "event": "FLAGGED", "current_limit": "TIER_1K"}},
            {"field": "smb_message_echoes", "value": {"metadata": {"phone_number_id": "PN9"}, "message_echoes": [{"id": "wamid.E"}]}},
            {"field": "messages", "value": {"metadata": {"phone_number_id": "PN1"}, "errors": [{"code": 131000, "title": "Something went wrong"}]}},
            {"field": "messages", "value": {"metadata": {"phone_number_id": "PN1"}, "something_new": 1}},
            {"field": "messages", "value": {"messages": [{"id": "wamid.NOPN", "type": "text", "text": {"body": "x"}}]}},
            {"value": {}},
            "not an object",
        ]},
        {"id": "WABA2"},
        42,
    ]});
    let batch = parse_json(&body);
    assert!(batch.messages.is_empty() && batch.statuses.is_empty());
    let fields: Vec<(&str, Option<&str>)> = batch
        .other
        .iter()
        .map(|o| (o.field.as_str(), o.phone_number_id.as_deref()))
        .collect();
    assert_eq!(
        fields,
        [
            ("message_template_status_update", None),
            ("account_update", None),
            ("phone_number_quality_update", None),
            ("smb_message_echoes", Some("PN9")),
            ("messages", Some("PN1")),
            ("messages", Some("PN1")),
            ("messages", None),
            (MISSING_FIELD, None),
            (MISSING_FIELD, None),
            (UNRECOGNIZED_ENTRY, None),
            (UNRECOGNIZED_ENTRY, None),
        ]
    );
    assert_eq!(batch.other[0].raw["entry_id"], "WABA1");
    assert_eq!(batch.other[0].raw["value"]["event"], "APPROVED");
    assert_eq!(batch.other[4].raw["errors"][0]["code"], 131000);
    assert_eq!(batch.other[5].raw["value"]["something_new"], 1);
    assert_eq!(
        batch.other[6].raw["value"]["messages"][0]["id"],
        "wamid.NOPN"
    );
    assert_eq!(batch.other[9].raw, json!({"entry": {"id": "WABA2"}}));
}

#[test]
fn messages_without_id_go_to_other() {
    let batch = parse_json(&envelope(messages_change(json!({"messages": [
        {"from": "16505551234", "type": "text", "text": {"body": "sem id"}},
        "junk",
        {"from": "16505551234", "id": "wamid.OK", "timestamp": "1", "type": "text", "text": {"body": "ok"}},
    ]}))));
    assert_eq!(batch.messages.len(), 1);
    assert_eq!(batch.messages[0].wamid, "wamid.OK");
    assert_eq!(batch.other.len(), 2);
    assert_eq!(batch.other[0].raw["message"]["text"]["body"], "sem id");
    assert_eq!(batch.other[1].raw["message"], "junk");
}

#[test]
fn only_non_json_or_non_objects_are_errors() {
    assert!(matches!(
        parse_at(b"{not json", 0),
        Err(WebhookParseError::MalformedJson(_))
    ));
    assert!(matches!(
        parse_at(b"", 0),
        Err(WebhookParseError::MalformedJson(_))
    ));
    assert_eq!(
        parse_at(b"[1,2]", 0),
        Err(WebhookParseError::NotAnObject("lista"))
    );
    assert_eq!(
        parse_at(b"\"x\"", 0),
        Err(WebhookParseError::NotAnObject("texto"))
    );
    assert_eq!(
        parse_at(b"null", 0),
        Err(WebhookParseError::NotAnObject("null"))
    );
    let empty = parse_at(b"{}", 0).unwrap();
    assert_eq!(empty.other.len(), 1);
    assert_eq!(empty.other[0].field, UNRECOGNIZED_ENVELOPE);
    assert_eq!(empty.other[0].raw, json!({"body": {}}));
    let no_entries = parse_at(br#"{"object":"whatsapp_business_account","entry":[]}"#, 0).unwrap();
    assert!(no_entries.is_empty());
}

// ---- property tests ----

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,10}".prop_map(Value::String),
        prop_oneof![
            Just("text"),
            Just("interactive"),
            Just("button"),
            Just("image"),
            Just("location"),
            Just("reaction"),
            Just("contacts"),
            Just("unsupported"),
            Just("messages"),
            Just("statuses"),
            Just("sent"),
            Just("1750857384"),
            Just("button_reply"),
        ]
        .prop_map(Value::from),
    ];
    let keys = prop_oneof![
        Just("id".to_string()),
        Just("type".to_string()),
        Just("from".to_string()),
        Just("timestamp".to_string()),
        Just("text".to_string()),
        Just("status".to_string()),
        Just("errors".to_string()),
        Just("code".to_string()),
        Just("value".to_string()),
        Just("field".to_string()),
        Just("metadata".to_string()),
        Just("phone_number_id".to_string()),
        Just("messages".to_string()),
        Just("statuses".to_string()),
        Just("contacts".to_string()),
        Just("context".to_string()),
        Just("referral".to_string()),
        Just("pricing".to_string()),
        Just("interactive".to_string()),
        Just("button_reply".to_string()),
        Just("wa_id".to_string()),
        "[a-z_]{1,8}",
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_at(&bytes, 0);
    }

    #[test]
    fn arbitrary_json_never_panics_and_objects_are_accepted(v in arb_json()) {
        let result = parse_value(&v, 0);
        prop_assert_eq!(result.is_ok(), v.is_object());
    }

    #[test]
    fn arbitrary_json_inside_a_real_envelope_never_panics(
        message in arb_json(), status in arb_json(), value in arb_json(), contacts in arb_json(),
    ) {
        let mut change_value = json!({"metadata": {"phone_number_id": "1"}, "messages": [message], "statuses": [status], "contacts": contacts});
        if let (Some(target), Some(extra)) = (change_value.as_object_mut(), value.as_object()) {
            target.extend(extra.clone());
        }
        let body = json!({"entry": [{"id": "W", "changes": [{"field": "messages", "value": change_value}]}]});
        let items: usize = ["messages", "statuses"]
            .iter()
            .filter_map(|key| body["entry"][0]["changes"][0]["value"].get(*key))
            .filter_map(Value::as_array)
            .map(Vec::len)
            .sum();
        let batch = parse_value(&body, 0).unwrap();
        // Nothing is dropped: when the change carries any item, something comes out (`value`
        // may have replaced both arrays with empty or non-array ones: then there is nothing).
        let produced = batch.messages.len() + batch.statuses.len() + batch.other.len();
        prop_assert!(produced >= items.min(1));
    }
}

// ---- round trip of generated envelopes ----

/// One generated inbound message: its JSON as WhatsApp writes it and what parsing must yield.
#[derive(Clone, Debug)]
struct GenMessage {
    json: Value,
    content: MessageContent,
    context: Option<MessageContext>,
    referral: Option<Referral>,
    timestamp_secs: i64,
}

#[derive(Clone, Debug)]
struct Sender {
    wa_id: Option<String>,
    user_id: Option<String>,
    user_id_in_message: bool,
    name: Option<String>,
}

#[derive(Clone, Debug)]
enum GenChange {
    Messages {
        pnid: String,
        sender: Sender,
        messages: Vec<GenMessage>,
    },
    Statuses {
        pnid: String,
        statuses: Vec<(Value, StatusUpdate)>,
    },
    Other {
        field: String,
        value: Value,
    },
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.=-]{1,30}"
}

fn put(obj: &mut Value, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        obj[key] = json!(v);
    }
}

fn dyadic() -> impl Strategy<Value = f64> {
    (-180_000i32..180_000).prop_map(|n| f64::from(n) / 1024.0)
}

/// (type, fields to merge into the message, expected content)
fn arb_content() -> impl Strategy<Value = (String, Value, MessageContent)> {
    let media_kind = prop_oneof![
        Just(MediaKind::Image),
        Just(MediaKind::Document),
        Just(MediaKind::Audio),
        Just(MediaKind::Video),
        Just(MediaKind::Sticker),
    ];
    prop_oneof![
        text().prop_map(|body| ("text".into(), json!({"text": {"body": body}}), MessageContent::Text { body })),
        (ident(), text()).prop_map(|(id, title)| (
            "interactive".into(),
            json!({"interactive": {"type": "button_reply", "button_reply": {"id": id, "title": title}}}),
            MessageContent::ButtonReply { id, title },
        )),
        (ident(), text(), proptest::option::of(text())).prop_map(|(id, title, description)| {
            let mut reply = json!({"id": id, "title": title});
            put(&mut reply, "description", &description);
            (
                "interactive".into(),
                json!({"interactive": {"type": "list_reply", "list_reply": reply}}),
                MessageContent::ListReply { id, title, description },
            )
        }),
        text().prop_map(|body| (
            "interactive".into(),
            json!({"interactive": {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": body, "response_json": "{\"a\":1}"}}}),
            MessageContent::Other,
        )),
        (ident(), text()).prop_map(|(payload, text)| (
            "button".into(),
            json!({"button": {"payload": payload, "text": text}}),
            MessageContent::TemplateButton { payload, text },
        )),
        (media_kind, ident(), proptest::option::of("[a-z]+/[a-z0-9.+-]+"), proptest::option::of("[0-9a-f]{64}"),
         proptest::option::of(text()), proptest::option::of(text()), proptest::option::of("https://[a-z]{1,10}\\.example/[a-z0-9]{1,10}"))
            .prop_map(|(media, id, mime_type, sha256, caption, filename, url)| {
                // Only documents carry a filename; only image/document/video a caption.
                let filename = if media == MediaKind::Document { filename } else { None };
                let caption = if matches!(media, MediaKind::Image | MediaKind::Document | MediaKind::Video) { caption } else { None };
                let mut part = json!({"id": id});
                put(&mut part, "mime_type", &mime_type);
                put(&mut part, "sha256", &sha256);
                put(&mut part, "caption", &caption);
                put(&mut part, "filename", &filename);
                put(&mut part, "url", &url);
                let kind = media.as_str().to_string();
                let fields = json!({ kind.clone(): part });
                (kind, fields, MessageContent::Media { media, media_id: id, mime_type, sha256, caption, filename, url })
            }),
        (dyadic(), dyadic(), proptest::option::of(text()), proptest::option::of(text()), proptest::option::of("https://maps\\.example/[a-z]{1,5}"))
            .prop_map(|(latitude, longitude, name, address, url)| {
                let mut part = json!({"latitude": latitude, "longitude": longitude});
                put(&mut part, "name", &name);
                put(&mut part, "address", &address);
                put(&mut part, "url", &url);
                ("location".into(), json!({"location": part}), MessageContent::Location { latitude, longitude, name, address, url })
            }),
        (ident(), proptest::option::of("\\PC{1,3}")).prop_map(|(message_id, emoji)| {
            let mut part = json!({"message_id": message_id});
            put(&mut part, "emoji", &emoji);
            ("reaction".into(), json!({"reaction": part}), MessageContent::Reaction { message_id, emoji })
        }),
        (text(), "[0-9]{11,13}").prop_map(|(name, wa_id)| {
            let contacts = json!([{"name": {"formatted_name": name}, "phones": [{"phone": format!("+{wa_id}"), "wa_id": wa_id, "type": "CELL"}]}]);
            ("contacts".into(), json!({"contacts": contacts.clone()}), MessageContent::Contacts { contacts })
        }),
        proptest::option::of(100_000i64..200_000).prop_map(|code| {
            let fields = match code {
                Some(c) => json!({"errors": [{"code": c, "title": "Message type unknown", "message": "Message type unknown"}]}),
                None => json!({}),
            };
            ("unsupported".into(), fields, MessageContent::Unsupported { error_code: code })
        }),
        text().prop_map(|body| ("system".into(), json!({"system": {"body": body, "type": "user_changed_number"}}), MessageContent::Other)),
        ident().prop_map(|catalog| ("order".into(), json!({"order": {"catalog_id": catalog, "product_items": [{"product_retailer_id": "p", "quantity": 1, "item_price": 9.5, "currency": "BRL"}]}}), MessageContent::Other)),
        "[a-z]{3,10}_x".prop_map(|kind| (kind.clone(), json!({ kind: {"anything": [1, 2]} }), MessageContent::Other)),
    ]
}

fn arb_context() -> impl Strategy<Value = Option<(Value, MessageContext)>> {
    prop_oneof![
        Just(None),
        ("[0-9]{11}", ident()).prop_map(|(from, id)| Some((
            json!({"from": from, "id": id}),
            MessageContext {
                id: Some(id),
                from: Some(from),
                forwarded: false,
                frequently_forwarded: false
            },
        ))),
        Just(Some((
            json!({"forwarded": true}),
            MessageContext {
                forwarded: true,
                ..Default::default()
            }
        ))),
        Just(Some((
            json!({"forwarded": true, "frequently_forwarded": true}),
            MessageContext {
                forwarded: true,
                frequently_forwarded: true,
                ..Default::default()
            },
        ))),
    ]
}

fn arb_referral() -> impl Strategy<Value = Option<(Value, Referral)>> {
    proptest::option::of((
        ident(),
        text(),
        text(),
        proptest::option::of(ident()),
        prop_oneof![Just("image"), Just("video")],
    ))
    .prop_map(|r| {
        r.map(|(source_id, headline, body, ctwa_clid, media_type)| {
            let mut json = json!({
                "source_url": "https://fb.me/abc", "source_id": source_id, "source_type": "ad",
                "headline": headline, "body": body, "media_type": media_type,
                "thumbnail_url": "https://x.example/t.jpg", "welcome_message": {"text": "Olá"},
            });
            put(&mut json, "ctwa_clid", &ctwa_clid);
            let referral = Referral {
                source_url: Some("https://fb.me/abc".into()),
                source_id: Some(source_id),
                source_type: Some("ad".into()),
                headline: Some(headline),
                body: Some(body),
                media_type: Some(media_type.into()),
                ctwa_clid,
            };
            (json, referral)
        })
    })
}

fn arb_message() -> impl Strategy<Value = GenMessage> {
    (arb_content(), arb_context(), arb_referral(), ident(), 1i64..4_000_000_000).prop_map(
        |((kind, fields, content), context, referral, id, timestamp_secs)| {
            let mut json = json!({"id": format!("wamid.{id}"), "timestamp": timestamp_secs.to_string(), "type": kind});
            json.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
            if let Some((ctx, _)) = &context {
                json["context"] = ctx.clone();
            }
            if let Some((r, _)) = &referral {
                json["referral"] = r.clone();
            }
            GenMessage {
                json,
                content,
                context: context.map(|c| c.1),
                referral: referral.map(|r| r.1),
                timestamp_secs,
            }
        },
    )
}

fn arb_sender() -> impl Strategy<Value = Sender> {
    (
        proptest::option::of("55[1-9][1-9]9[0-9]{8}"),
        proptest::option::of("BR\\.[0-9]{10,20}"),
        any::<bool>(),
        proptest::option::of(text()),
    )
        .prop_map(|(wa_id, user_id, user_id_in_message, name)| {
            // WhatsApp always gives at least one of the two identifiers.
            let user_id = if wa_id.is_none() && user_id.is_none() {
                Some("BR.123".to_string())
            } else {
                user_id
            };
            // Without a phone number the message itself names the user.
            let user_id_in_message = user_id_in_message || wa_id.is_none();
            Sender {
                wa_id,
                user_id,
                user_id_in_message,
                name,
            }
        })
}

/// A status as WhatsApp writes it and its parsed form, routed to the number filled in later.
fn arb_status() -> impl Strategy<Value = StatusUpdate> {
    let status = prop_oneof![
        Just(DeliveryStatus::Sent),
        Just(DeliveryStatus::Delivered),
        Just(DeliveryStatus::Read),
        Just(DeliveryStatus::Failed),
    ];
    let pricing = proptest::option::of((
        any::<bool>(),
        prop_oneof![
            Just("regular"),
            Just("free_customer_service"),
            Just("free_entry_point")
        ],
        prop_oneof![
            Just("marketing"),
            Just("utility"),
            Just("authentication"),
            Just("service"),
            Just("referral_conversion")
        ],
    ))
    .prop_map(|p| {
        p.map(|(billable, kind, category)| Pricing {
            billable: Some(billable),
            pricing_model: Some("PMP".into()),
            pricing_type: Some(kind.into()),
            category: Some(category.into()),
        })
    });
    let error = (
        prop_oneof![Just(131047i64), Just(131026), Just(130429), Just(131056)],
        text(),
        proptest::option::of(text()),
    )
        .prop_map(|(code, title, details)| WaError {
            code,
            title: Some(title.clone()),
            message: Some(title),
            details,
        });
    (ident(), status, 1i64..4_000_000_000, proptest::option::of("[0-9]{12,13}"), proptest::option::of("[ -~]{1,20}"), pricing, proptest::collection::vec(error, 0..3))
        .prop_map(|(id, status, ts, recipient, biz, pricing, errors)| {
            let mut json = json!({"id": format!("wamid.{id}"), "status": status.as_str(), "timestamp": ts.to_string()});
            put(&mut json, "recipient_id", &recipient);
            put(&mut json, "biz_opaque_callback_data", &biz);
            if let Some(p) = &pricing {
                json["pricing"] = json!({"billable": p.billable, "pricing_model": p.pricing_model, "type": p.pricing_type, "category": p.category});
            }
            if !errors.is_empty() {
                json["errors"] = errors.iter().map(|e| {
                    let mut ej = json!({"code": e.code, "title": e.title, "message": e.message, "href": "https://developers.facebook.com/docs"});
                    if let Some(d) = &e.details {
                        ej["error_data"] = json!({"details": d});
                    }
                    ej
                }).collect();
            }
            StatusUpdate {
                phone_number_id: String::new(),
                wamid: json["id"].as_str().unwrap().to_string(),
                status,
                timestamp: ts * 1000,
                recipient_id: recipient,
                biz_opaque_callback_data: biz,
                pricing,
                errors,
                raw: json,
            }
        })
}

fn arb_change() -> impl Strategy<Value = GenChange> {
    prop_oneof![
        (
            "[0-9]{15}",
            arb_sender(),
            proptest::collection::vec(arb_message(), 1..4)
        )
            .prop_map(|(pnid, sender, messages)| GenChange::Messages {
                pnid,
                sender,
                messages
            }),
        ("[0-9]{15}", proptest::collection::vec(arb_status(), 1..4)).prop_map(
            |(pnid, statuses)| {
                let statuses = statuses
                    .into_iter()
                    .map(|update| {
                        let update = StatusUpdate {
                            phone_number_id: pnid.clone(),
                            ..update
                        };
                        (update.raw.clone(), update)
                    })
                    .collect();
                GenChange::Statuses { pnid, statuses }
            }
        ),
        (
            prop_oneof![
                Just("message_template_status_update"),
                Just("account_update"),
                Just("phone_number_quality_update"),
                Just("brand_new_field")
            ],
            text()
        )
            .prop_map(|(field, reason)| GenChange::Other {
                field: field.into(),
                value: json!({"event": "REJECTED", "reason": reason, "message_template_id": 123}),
            }),
    ]
}

/// Builds the envelope WhatsApp would send for `entries` and the batch parsing must produce.
fn build(entries: &[(String, Vec<GenChange>)]) -> (Value, WebhookBatch) {
    let mut expected = WebhookBatch::default();
    let mut json_entries = Vec::new();
    for (entry_id, changes) in entries {
        let mut json_changes = Vec::new();
        for change in changes {
            match change {
                GenChange::Messages {
                    pnid,
                    sender,
                    messages,
                } => {
                    let mut contact = json!({"profile": {}});
                    put(&mut contact["profile"], "name", &sender.name);
                    put(&mut contact, "wa_id", &sender.wa_id);
                    put(&mut contact, "user_id", &sender.user_id);
                    let mut json_messages = Vec::new();
                    for m in messages {
                        let mut json = m.json.clone();
                        put(&mut json, "from", &sender.wa_id);
                        if sender.user_id_in_message {
                            put(&mut json, "from_user_id", &sender.user_id);
                        }
                        expected.messages.push(InboundMessage {
                            phone_number_id: pnid.clone(),
                            wamid: json["id"].as_str().unwrap().to_string(),
                            from: sender.wa_id.as_deref().map(|w| WaId::parse(w).unwrap()),
                            user_id: sender.user_id.clone(),
                            profile_name: sender.name.clone(),
                            timestamp: m.timestamp_secs * 1000,
                            message_type: json["type"].as_str().unwrap().to_string(),
                            content: m.content.clone(),
                            context: m.context.clone(),
                            referral: m.referral.clone(),
                            raw: json.clone(),
                        });
                        json_messages.push(json);
                    }
                    json_changes.push(json!({"field": "messages", "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "5511900000000", "phone_number_id": pnid},
                        "contacts": [contact],
                        "messages": json_messages,
                    }}));
                }
                GenChange::Statuses { pnid, statuses } => {
                    expected
                        .statuses
                        .extend(statuses.iter().map(|(_, s)| s.clone()));
                    json_changes.push(json!({"field": "messages", "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "5511900000000", "phone_number_id": pnid},
                        "statuses": statuses.iter().map(|(j, _)| j.clone()).collect::<Vec<_>>(),
                    }}));
                }
                GenChange::Other { field, value } => {
                    expected.other.push(OtherChange {
                        phone_number_id: None,
                        field: field.clone(),
                        raw: json!({"entry_id": entry_id, "value": value}),
                    });
                    json_changes.push(json!({"field": field, "value": value}));
                }
            }
        }
        json_entries.push(json!({"id": entry_id, "changes": json_changes}));
    }
    (
        json!({"object": "whatsapp_business_account", "entry": json_entries}),
        expected,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_envelopes_round_trip(
        entries in proptest::collection::vec(("[0-9]{15}", proptest::collection::vec(arb_change(), 1..4)), 1..3),
    ) {
        let (envelope, expected) = build(&entries);
        let body = to_ascii_json(&envelope);
        prop_assert!(body.is_ascii());
        let batch = parse_at(body.as_bytes(), RECEIVED_AT).unwrap();
        prop_assert_eq!(batch, expected);
    }
}
