//! Tolerant parsing of a WhatsApp webhook delivery into a [`WebhookBatch`].
//!
//! Only a body that is not JSON, or JSON that is not an object, is an error. Everything else is
//! accepted: each entry, change, message and status is read on its own, and whatever cannot be
//! understood is kept in [`WebhookBatch::other`] with its raw JSON rather than dropped, so the
//! receiver can answer 200 and record it (WhatsApp retries anything else for days).
//!
//! What lands in `other`, and the shape of its `raw`:
//!
//! | case | `field` | `raw` |
//! |---|---|---|
//! | a change whose field is not `messages` | the field (missing: [`MISSING_FIELD`]) | `{"entry_id", "value"}` |
//! | a `messages` change without `metadata.phone_number_id`, or with nothing we read | `messages` | `{"entry_id", "value"}` |
//! | the `errors` array of a `messages` change | `messages` | `{"entry_id", "errors"}` |
//! | a message without an `id` (or not an object) | `messages` | `{"entry_id", "message"}` |
//! | a status without an `id`, or with a word other than sent/delivered/read/failed | `messages` | `{"entry_id", "status"}` |
//! | an entry without a `changes` array | [`UNRECOGNIZED_ENTRY`] | `{"entry"}` |
//! | a body without an `entry` array | [`UNRECOGNIZED_ENVELOPE`] | `{"body"}` |
//!
//! Timestamps: WhatsApp sends unix seconds as a string; numbers are accepted too. A missing or
//! unreadable timestamp does not drop the item: it takes the time the delivery was received
//! (`received_at` of [`parse_at`]), the best available estimate of when it happened.

use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::{
    InboundMessage, MediaKind, MessageContent, MessageContext, OtherChange, Pricing, Referral,
    StatusUpdate, WaError, WebhookBatch,
};
use balcao_domain::{Millis, WaId};
use serde_json::{Map, Value, json};

/// `field` of an [`OtherChange`] for a change that carried no `field`.
pub const MISSING_FIELD: &str = "unknown";
/// `field` of an [`OtherChange`] for an entry without a `changes` array.
pub const UNRECOGNIZED_ENTRY: &str = "unrecognized_entry";
/// `field` of an [`OtherChange`] for a body without an `entry` array.
pub const UNRECOGNIZED_ENVELOPE: &str = "unrecognized_envelope";

/// Why a body could not be read at all. Anything else is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookParseError {
    #[error("corpo do webhook não é JSON válido: {0}")]
    MalformedJson(String),
    #[error("corpo do webhook não é um objeto JSON (recebido: {0})")]
    NotAnObject(&'static str),
}

/// Parses a delivery, using the current time for items without a readable timestamp.
pub fn parse(raw_body: &[u8]) -> Result<WebhookBatch, WebhookParseError> {
    parse_at(raw_body, balcao_domain::now_millis())
}

/// Parses a delivery received at `received_at`, which stands in for missing or unreadable
/// timestamps. Pure: the same bytes and time always give the same batch.
pub fn parse_at(raw_body: &[u8], received_at: Millis) -> Result<WebhookBatch, WebhookParseError> {
    let body: Value = serde_json::from_slice(raw_body)
        .map_err(|e| WebhookParseError::MalformedJson(e.to_string()))?;
    parse_value(&body, received_at)
}

/// Like [`parse_at`] for a body already parsed as JSON (the signature must have been checked on
/// the raw bytes before).
pub fn parse_value(body: &Value, received_at: Millis) -> Result<WebhookBatch, WebhookParseError> {
    let Value::Object(envelope) = body else {
        return Err(WebhookParseError::NotAnObject(json_kind(body)));
    };
    let mut parser = Parser {
        received_at,
        batch: WebhookBatch::default(),
    };
    match envelope.get("entry") {
        Some(Value::Array(entries)) => entries.iter().for_each(|e| parser.entry(e)),
        _ => parser.other(None, UNRECOGNIZED_ENVELOPE, json!({ "body": body })),
    }
    Ok(parser.batch)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "booleano",
        Value::Number(_) => "número",
        Value::String(_) => "texto",
        Value::Array(_) => "lista",
        Value::Object(_) => "objeto",
    }
}

struct Parser {
    received_at: Millis,
    batch: WebhookBatch,
}

impl Parser {
    fn other(&mut self, phone_number_id: Option<String>, field: &str, raw: Value) {
        self.batch.other.push(OtherChange {
            phone_number_id,
            field: field.to_owned(),
            raw,
        });
    }

    fn entry(&mut self, entry: &Value) {
        let Some(changes) = entry.get("changes").and_then(Value::as_array) else {
            self.other(None, UNRECOGNIZED_ENTRY, json!({ "entry": entry }));
            return;
        };
        let entry_id = entry.get("id").cloned().unwrap_or(Value::Null);
        for change in changes {
            self.change(&entry_id, change);
        }
    }

    fn change(&mut self, entry_id: &Value, change: &Value) {
        let value = change.get("value").unwrap_or(&Value::Null);
        let phone_number_id = value
            .get("metadata")
            .and_then(|m| m.get("phone_number_id"))
            .and_then(loose_string);
        let field = change.get("field").and_then(Value::as_str);
        let (Some("messages"), Some(pnid)) = (field, phone_number_id.as_deref()) else {
            let field = field.unwrap_or(MISSING_FIELD);
            let raw = json!({ "entry_id": entry_id, "value": value });
            self.other(phone_number_id, field, raw);
            return;
        };
        let pnid = pnid.to_owned();
        let contacts: &[Value] = value
            .get("contacts")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let mut understood_anything = false;

        if let Some(messages) = value.get("messages").and_then(Value::as_array) {
            understood_anything = true;
            for item in messages {
                match self.message(item, &pnid, contacts) {
                    Some(message) => self.batch.messages.push(message),
                    None => {
                        let raw = json!({ "entry_id": entry_id, "message": item });
                        self.other(Some(pnid.clone()), "messages", raw);
                    }
                }
            }
        }
        if let Some(statuses) = value.get("statuses").and_then(Value::as_array) {
            understood_anything = true;
            for item in statuses {
                match self.status(item, &pnid) {
                    Some(status) => self.batch.statuses.push(status),
                    None => {
                        let raw = json!({ "entry_id": entry_id, "status": item });
                        self.other(Some(pnid.clone()), "messages", raw);
                    }
                }
            }
        }
        if let Some(errors) = value.get("errors") {
            understood_anything = true;
            let raw = json!({ "entry_id": entry_id, "errors": errors });
            self.other(Some(pnid.clone()), "messages", raw);
        }
        if !understood_anything {
            let raw = json!({ "entry_id": entry_id, "value": value });
            self.other(Some(pnid), "messages", raw);
        }
    }

    fn timestamp(&self, value: Option<&Value>) -> Millis {
        value
            .and_then(seconds_to_millis)
            .unwrap_or(self.received_at)
    }

    fn message(&self, item: &Value, pnid: &str, contacts: &[Value]) -> Option<InboundMessage> {
        let obj = item.as_object()?;
        let wamid = non_empty_str(obj, "id")?;
        let from_raw = non_empty_str(obj, "from");
        let from = from_raw.and_then(|s| WaId::parse(s).ok());
        let own_user_id =
            non_empty_str(obj, "from_user_id").or_else(|| non_empty_str(obj, "user_id"));
        let contact = find_contact(contacts, from_raw, from.as_ref(), own_user_id);
        let user_id = own_user_id
            .or_else(|| contact.and_then(|c| non_empty_str(c, "user_id")))
            .map(str::to_owned);
        let profile_name = contact
            .and_then(|c| c.get("profile"))
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let message_type = obj.get("type").and_then(Value::as_str).unwrap_or("");
        Some(InboundMessage {
            phone_number_id: pnid.to_owned(),
            wamid: wamid.to_owned(),
            from,
            user_id,
            profile_name,
            timestamp: self.timestamp(obj.get("timestamp")),
            message_type: message_type.to_owned(),
            content: content_of(message_type, obj),
            context: obj
                .get("context")
                .and_then(Value::as_object)
                .map(context_of),
            referral: obj
                .get("referral")
                .and_then(Value::as_object)
                .map(referral_of),
            raw: item.clone(),
        })
    }

    fn status(&self, item: &Value, pnid: &str) -> Option<StatusUpdate> {
        let obj = item.as_object()?;
        let wamid = non_empty_str(obj, "id")?;
        let status = match obj.get("status")?.as_str()?.to_ascii_lowercase().as_str() {
            "sent" => DeliveryStatus::Sent,
            "delivered" => DeliveryStatus::Delivered,
            "read" => DeliveryStatus::Read,
            "failed" => DeliveryStatus::Failed,
            _ => return None,
        };
        let errors = obj
            .get("errors")
            .and_then(Value::as_array)
            .map(|errors| errors.iter().filter_map(wa_error_of).collect())
            .unwrap_or_default();
        Some(StatusUpdate {
            phone_number_id: pnid.to_owned(),
            wamid: wamid.to_owned(),
            status,
            timestamp: self.timestamp(obj.get("timestamp")),
            recipient_id: opt_string(obj, "recipient_id"),
            biz_opaque_callback_data: opt_string(obj, "biz_opaque_callback_data"),
            pricing: obj
                .get("pricing")
                .and_then(Value::as_object)
                .map(pricing_of),
            errors,
            raw: item.clone(),
        })
    }
}

/// The `contacts` entry describing the sender: same `wa_id` (also across the Brazilian 9th-digit
/// forms) or same business-scoped `user_id`.
fn find_contact<'a>(
    contacts: &'a [Value],
    from_raw: Option<&str>,
    from: Option<&WaId>,
    user_id: Option<&str>,
) -> Option<&'a Map<String, Value>> {
    let objects = || contacts.iter().filter_map(Value::as_object);
    let same_wa_id = |c: &&Map<String, Value>| {
        let Some(wa_id) = non_empty_str(c, "wa_id") else {
            return false;
        };
        from_raw == Some(wa_id)
            || from
                .is_some_and(|f| WaId::parse(wa_id).is_ok_and(|w| w.match_key() == f.match_key()))
    };
    let same_user =
        |c: &&Map<String, Value>| user_id.is_some() && non_empty_str(c, "user_id") == user_id;
    objects()
        .find(|c| from_raw.is_some() && from_raw == non_empty_str(c, "wa_id"))
        .or_else(|| objects().find(same_user))
        .or_else(|| objects().find(same_wa_id))
}

fn content_of(message_type: &str, obj: &Map<String, Value>) -> MessageContent {
    let part = obj.get(message_type).and_then(Value::as_object);
    let parsed = part.and_then(|part| match message_type {
        "text" => Some(MessageContent::Text {
            body: part.get("body")?.as_str()?.to_owned(),
        }),
        "interactive" => interactive_of(part),
        "button" => {
            let payload = opt_string(part, "payload");
            let text = opt_string(part, "text");
            (payload.is_some() || text.is_some()).then(|| MessageContent::TemplateButton {
                payload: payload.unwrap_or_default(),
                text: text.unwrap_or_default(),
            })
        }
        "image" => media_of(MediaKind::Image, part),
        "document" => media_of(MediaKind::Document, part),
        "audio" => media_of(MediaKind::Audio, part),
        "video" => media_of(MediaKind::Video, part),
        "sticker" => media_of(MediaKind::Sticker, part),
        "location" => Some(MessageContent::Location {
            latitude: loose_f64(part.get("latitude")?)?,
            longitude: loose_f64(part.get("longitude")?)?,
            name: opt_string(part, "name"),
            address: opt_string(part, "address"),
            url: opt_string(part, "url"),
        }),
        "reaction" => Some(MessageContent::Reaction {
            message_id: non_empty_str(part, "message_id")?.to_owned(),
            // Absent (or empty) means the reaction was removed.
            emoji: non_empty_str(part, "emoji").map(str::to_owned),
        }),
        _ => None,
    });
    parsed.unwrap_or_else(|| match message_type {
        "contacts" => match obj.get("contacts") {
            Some(contacts) => MessageContent::Contacts {
                contacts: contacts.clone(),
            },
            None => MessageContent::Other,
        },
        "unsupported" => MessageContent::Unsupported {
            error_code: obj
                .get("errors")
                .and_then(Value::as_array)
                .and_then(|errors| errors.first())
                .and_then(|e| e.get("code"))
                .and_then(loose_i64),
        },
        _ => MessageContent::Other,
    })
}

fn interactive_of(part: &Map<String, Value>) -> Option<MessageContent> {
    let kind = part.get("type")?.as_str()?;
    let reply = part.get(kind)?.as_object()?;
    let id = reply.get("id")?.as_str()?.to_owned();
    let title = reply.get("title")?.as_str()?.to_owned();
    match kind {
        "button_reply" => Some(MessageContent::ButtonReply { id, title }),
        "list_reply" => Some(MessageContent::ListReply {
            id,
            title,
            description: opt_string(reply, "description"),
        }),
        // nfm_reply (flows) and future kinds: the raw JSON carries them.
        _ => None,
    }
}

fn media_of(media: MediaKind, part: &Map<String, Value>) -> Option<MessageContent> {
    Some(MessageContent::Media {
        media,
        media_id: non_empty_str(part, "id")?.to_owned(),
        mime_type: opt_string(part, "mime_type"),
        sha256: opt_string(part, "sha256"),
        caption: opt_string(part, "caption"),
        filename: opt_string(part, "filename"),
        url: opt_string(part, "url"),
    })
}

fn context_of(ctx: &Map<String, Value>) -> MessageContext {
    MessageContext {
        id: opt_string(ctx, "id"),
        from: opt_string(ctx, "from"),
        forwarded: ctx
            .get("forwarded")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        frequently_forwarded: ctx
            .get("frequently_forwarded")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }
}

fn referral_of(r: &Map<String, Value>) -> Referral {
    Referral {
        source_url: opt_string(r, "source_url"),
        source_id: opt_string(r, "source_id"),
        source_type: opt_string(r, "source_type"),
        headline: opt_string(r, "headline"),
        body: opt_string(r, "body"),
        media_type: opt_string(r, "media_type"),
        ctwa_clid: opt_string(r, "ctwa_clid"),
    }
}

fn pricing_of(p: &Map<String, Value>) -> Pricing {
    Pricing {
        billable: p.get("billable").and_then(Value::as_bool),
        pricing_model: opt_string(p, "pricing_model"),
        pricing_type: opt_string(p, "type"),
        category: opt_string(p, "category"),
    }
}

/// An error without a readable `code` is skipped here; the status's raw JSON still has it.
fn wa_error_of(e: &Value) -> Option<WaError> {
    let e = e.as_object()?;
    Some(WaError {
        code: loose_i64(e.get("code")?)?,
        title: opt_string(e, "title"),
        message: opt_string(e, "message"),
        details: e
            .get("error_data")
            .and_then(Value::as_object)
            .and_then(|d| opt_string(d, "details")),
    })
}

/// Unix seconds (string or number) as milliseconds; `None` when unreadable, negative or absurd.
fn seconds_to_millis(value: &Value) -> Option<Millis> {
    let seconds = loose_i64(value)?;
    if seconds < 0 {
        return None;
    }
    seconds.checked_mul(1000)
}

fn loose_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn loose_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// A string, or a number written as one (ids are strings, but tolerate numbers).
fn loose_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn non_empty_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn opt_string(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests;
