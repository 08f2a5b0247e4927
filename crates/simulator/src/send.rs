//! Validation of `POST /{phone-number-id}/messages` bodies, the way Meta answers them. Pure: takes
//! the parsed JSON and the template registry, returns what the phone would show or the exact Graph
//! error. Media reachability and rate limits are checked later, by the caller.

use crate::config::{SimTemplate, TemplateButton, TemplateHeader};
use crate::error::GraphError;
use crate::placeholders::{render, variable_count};
use crate::view::{LinkView, ListRow, ListSection, ListView, LocationView, ReplyKind, ReplyOption};
use serde_json::{Map, Value};
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SendRequest {
    MarkRead { message_id: String },
    Message(Box<OutboundMessage>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutboundMessage {
    /// `to` exactly as given (echoed as `contacts[].input`).
    pub to: String,
    pub content: Rendered,
    pub context_id: Option<String>,
    pub biz_opaque_callback_data: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MediaSource {
    Link(String),
    Id(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MediaRef {
    pub source: MediaSource,
    pub filename: Option<String>,
}

/// An accepted message as the phone would display it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Rendered {
    pub kind: String,
    pub text: Option<String>,
    pub footer: Option<String>,
    pub reply_options: Vec<ReplyOption>,
    pub links: Vec<LinkView>,
    pub list: Option<ListView>,
    pub document: Option<MediaRef>,
    pub image: Option<MediaRef>,
    /// Audio, video and sticker media: only checked, shown as a placeholder text.
    pub other_media: Option<MediaRef>,
    pub location: Option<LocationView>,
    /// Template category (lowercase) when this is a template; templates ignore the 24 h window.
    pub template_category: Option<String>,
}

impl Rendered {
    pub fn media(&self) -> impl Iterator<Item = &MediaRef> {
        self.document
            .iter()
            .chain(self.image.iter())
            .chain(self.other_media.iter())
    }
}

const MESSAGE_TYPES: &[&str] = &[
    "audio",
    "contacts",
    "document",
    "image",
    "interactive",
    "location",
    "reaction",
    "sticker",
    "template",
    "text",
    "video",
];

fn chars(text: &str) -> usize {
    text.chars().count()
}

fn as_object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, GraphError> {
    value
        .as_object()
        .ok_or_else(|| GraphError::param(format!("Param {path} must be a JSON object.")))
}

fn required<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Value, GraphError> {
    match object.get(key) {
        Some(Value::Null) | None => Err(GraphError::param(format!(
            "The parameter {path} is required."
        ))),
        Some(value) => Ok(value),
    }
}

fn required_object<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Map<String, Value>, GraphError> {
    as_object(required(object, key, path)?, path)
}

fn required_str<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, GraphError> {
    required(object, key, path)?
        .as_str()
        .ok_or_else(|| GraphError::param(format!("Param {path} must be a string.")))
}

fn optional_str<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, GraphError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(GraphError::param(format!("Param {path} must be a string."))),
    }
}

/// A string with a length range, violations reported as 131009 (interactive limits).
fn bounded(text: &str, min: usize, max: usize, what: &str) -> Result<(), GraphError> {
    let length = chars(text);
    if length < min || length > max {
        return Err(GraphError::not_valid(format!(
            "{what} length invalid. Min length: {min}, Max length: {max}"
        )));
    }
    Ok(())
}

/// Parses and validates a send (or mark-as-read) body.
pub(crate) fn parse_send(
    body: &Value,
    templates: &[SimTemplate],
) -> Result<SendRequest, GraphError> {
    let root = body
        .as_object()
        .ok_or_else(|| GraphError::param("The parameter messaging_product is required."))?;
    let product = required_str(root, "messaging_product", "messaging_product")?;
    if !product.eq_ignore_ascii_case("whatsapp") {
        return Err(GraphError::param(format!(
            "Param messaging_product must be one of {{WHATSAPP}} - got \"{product}\"."
        )));
    }
    if root.contains_key("status") {
        return parse_mark_read(root);
    }
    if let Some(recipient_type) = optional_str(root, "recipient_type", "recipient_type")? {
        match recipient_type {
            "individual" => {}
            "group" => {
                return Err(GraphError::not_valid(
                    "Group messaging is not available for this phone number",
                ));
            }
            other => {
                return Err(GraphError::param(format!(
                    "Param recipient_type must be one of {{INDIVIDUAL, GROUP}} - got \"{other}\"."
                )));
            }
        }
    }
    let to = required_str(root, "to", "to")?.to_string();
    let kind = optional_str(root, "type", "type")?.unwrap_or("text");
    if !MESSAGE_TYPES.contains(&kind) {
        return Err(GraphError::param(format!(
            "Param type must be one of {{AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO}} - got \"{kind}\"."
        )));
    }
    let context_id = match root.get("context") {
        None | Some(Value::Null) => None,
        Some(context) => Some(
            required_str(
                as_object(context, "context")?,
                "message_id",
                "context['message_id']",
            )?
            .to_string(),
        ),
    };
    let biz_opaque_callback_data =
        optional_str(root, "biz_opaque_callback_data", "biz_opaque_callback_data")?
            .map(str::to_string);
    if biz_opaque_callback_data
        .as_deref()
        .is_some_and(|data| chars(data) > 512)
    {
        return Err(GraphError::param(
            "Param biz_opaque_callback_data must be at most 512 characters long.",
        ));
    }
    let payload = required(root, kind, kind)?;
    let content = match kind {
        "text" => parse_text(payload)?,
        "template" => parse_template(payload, templates)?,
        "interactive" => parse_interactive(payload)?,
        "document" | "image" | "audio" | "video" | "sticker" => parse_media(kind, payload)?,
        "location" => parse_location(payload)?,
        "reaction" => parse_reaction(payload)?,
        _ => parse_contacts(payload)?,
    };
    Ok(SendRequest::Message(Box::new(OutboundMessage {
        to,
        content,
        context_id,
        biz_opaque_callback_data,
    })))
}

fn parse_mark_read(root: &Map<String, Value>) -> Result<SendRequest, GraphError> {
    let status = required_str(root, "status", "status")?;
    if status != "read" {
        return Err(GraphError::param(format!(
            "Param status must be one of {{READ}} - got \"{status}\"."
        )));
    }
    let message_id = required_str(root, "message_id", "message_id")?.to_string();
    if let Some(indicator) = root.get("typing_indicator") {
        let indicator = as_object(indicator, "typing_indicator")?;
        let indicator_type = required_str(indicator, "type", "typing_indicator['type']")?;
        if indicator_type != "text" {
            return Err(GraphError::param(format!(
                "Param typing_indicator['type'] must be one of {{TEXT}} - got \"{indicator_type}\"."
            )));
        }
    }
    Ok(SendRequest::MarkRead { message_id })
}

fn parse_text(payload: &Value) -> Result<Rendered, GraphError> {
    let text = as_object(payload, "text")?;
    let body = required_str(text, "body", "text['body']")?;
    if body.trim().is_empty() {
        return Err(GraphError::param("The parameter text['body'] is required."));
    }
    if chars(body) > 4096 {
        return Err(GraphError::param(
            "Param text['body'] must be at most 4096 characters long.",
        ));
    }
    if let Some(preview) = text.get("preview_url")
        && !preview.is_boolean()
    {
        return Err(GraphError::param(
            "Param text['preview_url'] must be a boolean.",
        ));
    }
    Ok(Rendered {
        kind: "text".into(),
        text: Some(body.to_string()),
        ..Rendered::default()
    })
}

fn parse_link(link: &str, path: &str) -> Result<(), GraphError> {
    let rest = link
        .strip_prefix("https://")
        .or_else(|| link.strip_prefix("http://"))
        .ok_or_else(|| GraphError::not_valid(format!("{path} must be an absolute http(s) URL")))?;
    if rest.is_empty() || rest.starts_with('/') || link.chars().any(char::is_whitespace) {
        return Err(GraphError::not_valid(format!(
            "{path} must be an absolute http(s) URL"
        )));
    }
    Ok(())
}

/// A media object by `link` or by uploaded `id` (exactly one of them).
fn parse_media_object(kind: &str, payload: &Value) -> Result<MediaRef, GraphError> {
    let media = as_object(payload, kind)?;
    let link = optional_str(media, "link", &format!("{kind}['link']"))?;
    let id = optional_str(media, "id", &format!("{kind}['id']"))?;
    let source = match (link, id) {
        (Some(link), None) => {
            parse_link(link, &format!("{kind}['link']"))?;
            MediaSource::Link(link.to_string())
        }
        (None, Some(id)) if !id.is_empty() => MediaSource::Id(id.to_string()),
        (Some(_), Some(_)) => {
            return Err(GraphError::param(format!(
                "Param {kind} must have either link or id, not both."
            )));
        }
        _ => {
            return Err(GraphError::param(format!(
                "Param {kind} must have link or id."
            )));
        }
    };
    let filename =
        optional_str(media, "filename", &format!("{kind}['filename']"))?.map(str::to_string);
    Ok(MediaRef { source, filename })
}

fn parse_media(kind: &str, payload: &Value) -> Result<Rendered, GraphError> {
    let media = parse_media_object(kind, payload)?;
    let object = as_object(payload, kind)?;
    let caption =
        optional_str(object, "caption", &format!("{kind}['caption']"))?.map(str::to_string);
    if caption.as_deref().is_some_and(|c| chars(c) > 1024) {
        return Err(GraphError::param(format!(
            "Param {kind}['caption'] must be at most 1024 characters long."
        )));
    }
    let mut rendered = Rendered {
        kind: kind.into(),
        text: caption,
        ..Rendered::default()
    };
    match kind {
        "document" => rendered.document = Some(media),
        "image" => rendered.image = Some(media),
        _ => {
            let label = match kind {
                "audio" => "🎤 Áudio",
                "video" => "🎬 Vídeo",
                _ => "Figurinha",
            };
            rendered.text = Some(match rendered.text.take() {
                Some(caption) => format!("{label}: {caption}"),
                None => label.to_string(),
            });
            rendered.other_media = Some(media);
        }
    }
    Ok(rendered)
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn parse_location(payload: &Value) -> Result<Rendered, GraphError> {
    let location = as_object(payload, "location")?;
    let latitude = number(required(location, "latitude", "location['latitude']")?)
        .filter(|l| (-90.0..=90.0).contains(l))
        .ok_or_else(|| {
            GraphError::not_valid("location['latitude'] must be a number between -90 and 90")
        })?;
    let longitude = number(required(location, "longitude", "location['longitude']")?)
        .filter(|l| (-180.0..=180.0).contains(l))
        .ok_or_else(|| {
            GraphError::not_valid("location['longitude'] must be a number between -180 and 180")
        })?;
    let name = optional_str(location, "name", "location['name']")?.map(str::to_string);
    let address = optional_str(location, "address", "location['address']")?.map(str::to_string);
    Ok(Rendered {
        kind: "location".into(),
        text: Some(format!(
            "📍 {}",
            name.clone()
                .or_else(|| address.clone())
                .unwrap_or_else(|| format!("{latitude}, {longitude}"))
        )),
        location: Some(LocationView {
            latitude,
            longitude,
            name,
            address,
        }),
        ..Rendered::default()
    })
}

fn parse_reaction(payload: &Value) -> Result<Rendered, GraphError> {
    let reaction = as_object(payload, "reaction")?;
    required_str(reaction, "message_id", "reaction['message_id']")?;
    let emoji = optional_str(reaction, "emoji", "reaction['emoji']")?.unwrap_or("");
    Ok(Rendered {
        kind: "reaction".into(),
        text: Some(if emoji.is_empty() {
            "(reação removida)".into()
        } else {
            emoji.to_string()
        }),
        ..Rendered::default()
    })
}

fn parse_contacts(payload: &Value) -> Result<Rendered, GraphError> {
    let contacts = payload
        .as_array()
        .filter(|contacts| !contacts.is_empty())
        .ok_or_else(|| GraphError::param("Param contacts must be a non-empty array."))?;
    let names: Vec<String> = contacts
        .iter()
        .filter_map(|c| {
            c.pointer("/name/formatted_name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    if names.len() != contacts.len() {
        return Err(GraphError::param(
            "The parameter contacts[0]['name']['formatted_name'] is required.",
        ));
    }
    Ok(Rendered {
        kind: "contacts".into(),
        text: Some(format!("👤 {}", names.join(", "))),
        ..Rendered::default()
    })
}

/// Header and footer of interactive messages.
fn parse_interactive_frame(
    interactive: &Map<String, Value>,
    rendered: &mut Rendered,
    header_kinds: &[&str],
) -> Result<Option<String>, GraphError> {
    let mut header_text = None;
    if let Some(header) = interactive.get("header") {
        let header = as_object(header, "interactive['header']")?;
        let header_type = required_str(header, "type", "interactive['header']['type']")?;
        if !header_kinds.contains(&header_type) {
            return Err(GraphError::not_valid(format!(
                "Header type {header_type} is not supported for this message"
            )));
        }
        match header_type {
            "text" => {
                let text = required_str(header, "text", "interactive['header']['text']")?;
                bounded(text, 1, 60, "Header text")?;
                header_text = Some(text.to_string());
            }
            "document" => {
                rendered.document = Some(parse_media_object(
                    "document",
                    required(header, "document", "interactive['header']['document']")?,
                )?)
            }
            "image" => {
                rendered.image = Some(parse_media_object(
                    "image",
                    required(header, "image", "interactive['header']['image']")?,
                )?)
            }
            _ => {
                rendered.other_media = Some(parse_media_object(
                    "video",
                    required(header, "video", "interactive['header']['video']")?,
                )?)
            }
        }
    }
    if let Some(footer) = interactive.get("footer") {
        let text = required_str(
            as_object(footer, "interactive['footer']")?,
            "text",
            "interactive['footer']['text']",
        )?;
        bounded(text, 1, 60, "Footer text")?;
        rendered.footer = Some(text.to_string());
    }
    Ok(header_text)
}

fn interactive_body(interactive: &Map<String, Value>, max: usize) -> Result<String, GraphError> {
    let body = required_object(interactive, "body", "interactive['body']")?;
    let text = required_str(body, "text", "interactive['body']['text']")?;
    bounded(text, 1, max, "Body text")?;
    Ok(text.to_string())
}

fn join_header(header: Option<String>, body: String) -> String {
    match header {
        Some(header) => format!("{header}\n{body}"),
        None => body,
    }
}

fn parse_interactive(payload: &Value) -> Result<Rendered, GraphError> {
    let interactive = as_object(payload, "interactive")?;
    let interactive_type = required_str(interactive, "type", "interactive['type']")?;
    let mut rendered = Rendered {
        kind: "interactive".into(),
        ..Rendered::default()
    };
    match interactive_type {
        "button" => {
            let header = parse_interactive_frame(
                interactive,
                &mut rendered,
                &["text", "image", "document", "video"],
            )?;
            let body = interactive_body(interactive, 1024)?;
            let action = required_object(interactive, "action", "interactive['action']")?;
            let buttons = required(action, "buttons", "interactive['action']['buttons']")?
                .as_array()
                .ok_or_else(|| {
                    GraphError::param("Param interactive['action']['buttons'] must be an array.")
                })?;
            if buttons.is_empty() || buttons.len() > 3 {
                return Err(GraphError::not_valid(
                    "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3",
                ));
            }
            let mut ids = HashSet::new();
            let mut titles = HashSet::new();
            for (index, button) in buttons.iter().enumerate() {
                let path = format!("interactive['action']['buttons'][{index}]");
                let button = as_object(button, &path)?;
                let button_type = required_str(button, "type", &format!("{path}['type']"))?;
                if button_type != "reply" {
                    return Err(GraphError::param(format!(
                        "Param {path}['type'] must be one of {{REPLY}} - got \"{button_type}\"."
                    )));
                }
                let reply = required_object(button, "reply", &format!("{path}['reply']"))?;
                let id = required_str(reply, "id", &format!("{path}['reply']['id']"))?;
                let title = required_str(reply, "title", &format!("{path}['reply']['title']"))?;
                bounded(id, 1, 256, "Button id")?;
                bounded(title, 1, 20, "Button title")?;
                if !ids.insert(id.to_string()) {
                    return Err(GraphError::not_valid(format!("Duplicate button id: {id}")));
                }
                if !titles.insert(title.to_string()) {
                    return Err(GraphError::not_valid("Button title must be unique"));
                }
                rendered.reply_options.push(ReplyOption {
                    kind: ReplyKind::ButtonReply,
                    id: id.to_string(),
                    title: title.to_string(),
                });
            }
            rendered.text = Some(join_header(header, body));
        }
        "list" => {
            let header = parse_interactive_frame(interactive, &mut rendered, &["text"])?;
            let body = interactive_body(interactive, 4096)?;
            let action = required_object(interactive, "action", "interactive['action']")?;
            let button = required_str(action, "button", "interactive['action']['button']")?;
            bounded(button, 1, 20, "Button label")?;
            let sections = required(action, "sections", "interactive['action']['sections']")?
                .as_array()
                .ok_or_else(|| {
                    GraphError::param("Param interactive['action']['sections'] must be an array.")
                })?;
            if sections.is_empty() || sections.len() > 10 {
                return Err(GraphError::not_valid(
                    "Invalid sections count. Min allowed sections: 1, Max allowed sections: 10",
                ));
            }
            let mut row_ids = HashSet::new();
            let mut total_rows = 0;
            let mut list = ListView {
                button: button.to_string(),
                sections: Vec::new(),
            };
            for (section_index, section) in sections.iter().enumerate() {
                let path = format!("interactive['action']['sections'][{section_index}]");
                let section = as_object(section, &path)?;
                let title = optional_str(section, "title", &format!("{path}['title']"))?;
                if let Some(title) = title {
                    bounded(title, 1, 24, "Section title")?;
                } else if sections.len() > 1 {
                    return Err(GraphError::param(format!(
                        "The parameter {path}['title'] is required."
                    )));
                }
                let rows = required(section, "rows", &format!("{path}['rows']"))?
                    .as_array()
                    .filter(|rows| !rows.is_empty())
                    .ok_or_else(|| {
                        GraphError::not_valid("Each section must have at least one row")
                    })?;
                total_rows += rows.len();
                if total_rows > 10 {
                    return Err(GraphError::not_valid(
                        "Total row count exceed max allowed count: 10",
                    ));
                }
                let mut view = ListSection {
                    title: title.map(str::to_string),
                    rows: Vec::new(),
                };
                for (row_index, row) in rows.iter().enumerate() {
                    let row_path = format!("{path}['rows'][{row_index}]");
                    let row = as_object(row, &row_path)?;
                    let id = required_str(row, "id", &format!("{row_path}['id']"))?;
                    let row_title = required_str(row, "title", &format!("{row_path}['title']"))?;
                    let description =
                        optional_str(row, "description", &format!("{row_path}['description']"))?;
                    bounded(id, 1, 200, "Row id")?;
                    bounded(row_title, 1, 24, "Row title")?;
                    if let Some(description) = description {
                        bounded(description, 0, 72, "Row description")?;
                    }
                    if !row_ids.insert(id.to_string()) {
                        return Err(GraphError::not_valid(format!("Duplicate row id: {id}")));
                    }
                    view.rows.push(ListRow {
                        id: id.to_string(),
                        title: row_title.to_string(),
                        description: description.map(str::to_string),
                    });
                }
                list.sections.push(view);
            }
            rendered.list = Some(list);
            rendered.text = Some(join_header(header, body));
        }
        "cta_url" => {
            let header = parse_interactive_frame(
                interactive,
                &mut rendered,
                &["text", "image", "document", "video"],
            )?;
            let body = interactive_body(interactive, 1024)?;
            let action = required_object(interactive, "action", "interactive['action']")?;
            let name = required_str(action, "name", "interactive['action']['name']")?;
            if name != "cta_url" {
                return Err(GraphError::not_valid(format!(
                    "Action name {name} does not match interactive type cta_url"
                )));
            }
            let parameters =
                required_object(action, "parameters", "interactive['action']['parameters']")?;
            let display_text = required_str(
                parameters,
                "display_text",
                "interactive['action']['parameters']['display_text']",
            )?;
            let url = required_str(
                parameters,
                "url",
                "interactive['action']['parameters']['url']",
            )?;
            bounded(display_text, 1, 20, "Display text")?;
            parse_link(url, "interactive['action']['parameters']['url']")?;
            rendered.links.push(LinkView {
                text: display_text.to_string(),
                url: url.to_string(),
            });
            rendered.text = Some(join_header(header, body));
        }
        other => {
            return Err(GraphError::param(format!(
                "Param interactive['type'] must be one of {{BUTTON, LIST, CTA_URL}} - got \"{other}\"."
            )));
        }
    }
    Ok(rendered)
}

/// A text-like template parameter's displayed value.
fn text_parameter(parameter: &Value, component: &str) -> Result<String, GraphError> {
    let parameter = as_object(parameter, &format!("{component} parameter"))?;
    let parameter_type =
        required_str(parameter, "type", &format!("{component} parameter['type']"))?;
    let value = match parameter_type {
        "text" => required_str(parameter, "text", &format!("{component} parameter['text']"))?,
        "currency" => {
            let currency = required_object(
                parameter,
                "currency",
                &format!("{component} parameter['currency']"),
            )?;
            required_str(currency, "fallback_value", "currency['fallback_value']")?
        }
        "date_time" => {
            let date_time = required_object(
                parameter,
                "date_time",
                &format!("{component} parameter['date_time']"),
            )?;
            required_str(date_time, "fallback_value", "date_time['fallback_value']")?
        }
        other => {
            return Err(GraphError::param_format(format!(
                "{component}: Format mismatch, expected TEXT, received {}",
                other.to_uppercase()
            )));
        }
    };
    if value.trim().is_empty() {
        return Err(GraphError::not_valid(format!(
            "{component}: parameter text cannot be empty"
        )));
    }
    Ok(value.to_string())
}

fn has_forbidden_whitespace(text: &str) -> bool {
    text.contains(['\n', '\t']) || text.contains("     ")
}

fn component_parameters<'a>(
    component: &'a Map<String, Value>,
    path: &str,
) -> Result<&'a [Value], GraphError> {
    match component.get("parameters") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(parameters)) => Ok(parameters),
        Some(_) => Err(GraphError::param(format!(
            "Param {path}['parameters'] must be an array."
        ))),
    }
}

fn button_index(component: &Map<String, Value>) -> Result<usize, GraphError> {
    let index = required(component, "index", "template['components'][]['index']")?;
    let parsed = match index {
        Value::String(text) => text.parse().ok(),
        Value::Number(n) => n.as_u64().map(|n| n as usize),
        _ => None,
    };
    parsed.ok_or_else(|| {
        GraphError::param(
            "Param template['components'][]['index'] must be a number between 0 and 9.",
        )
    })
}

fn parse_template(payload: &Value, templates: &[SimTemplate]) -> Result<Rendered, GraphError> {
    let template = as_object(payload, "template")?;
    let name = required_str(template, "name", "template['name']")?;
    let language = required_object(template, "language", "template['language']")?;
    let code = required_str(language, "code", "template['language']['code']")?;
    let registered = templates
        .iter()
        .find(|t| t.name == name && t.language == code)
        .ok_or_else(|| GraphError::template_missing(name, code))?;
    match registered.status.to_ascii_uppercase().as_str() {
        "APPROVED" => {}
        "PAUSED" => return Err(GraphError::template_paused(name)),
        "DISABLED" => return Err(GraphError::template_disabled(name)),
        _ => return Err(GraphError::template_missing(name, code)),
    }
    let components: &[Value] = match template.get("components") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(components)) => components,
        Some(_) => {
            return Err(GraphError::param(
                "Param template['components'] must be an array.",
            ));
        }
    };
    let mut header_parameters: Option<&[Value]> = None;
    let mut body_parameters: &[Value] = &[];
    let mut button_components: Vec<(usize, String, &[Value])> = Vec::new();
    for component in components {
        let component = as_object(component, "template['components'][]")?;
        let component_type = required_str(component, "type", "template['components'][]['type']")?
            .to_ascii_lowercase();
        let parameters = component_parameters(component, "template['components'][]")?;
        match component_type.as_str() {
            "header" => header_parameters = Some(parameters),
            "body" => body_parameters = parameters,
            "button" => {
                let sub_type = required_str(
                    component,
                    "sub_type",
                    "template['components'][]['sub_type']",
                )?
                .to_ascii_lowercase();
                let index = button_index(component)?;
                if button_components.iter().any(|(i, _, _)| *i == index) {
                    return Err(GraphError::not_valid(format!(
                        "Duplicate button component for index {index}"
                    )));
                }
                button_components.push((index, sub_type, parameters));
            }
            other => {
                return Err(GraphError::param(format!(
                    "Param template['components'][]['type'] must be one of {{HEADER, BODY, BUTTON}} - got \"{other}\"."
                )));
            }
        }
    }

    let mut rendered = Rendered {
        kind: "template".into(),
        template_category: Some(registered.category.to_ascii_lowercase()),
        footer: registered.footer.clone(),
        ..Rendered::default()
    };

    // Header.
    let given_header = header_parameters.unwrap_or(&[]);
    let header_text = match &registered.header {
        None => {
            if !given_header.is_empty() {
                return Err(GraphError::param_count("header", given_header.len(), 0));
            }
            None
        }
        Some(TemplateHeader::Text(text)) => {
            let expected = variable_count(text);
            if given_header.len() != expected {
                return Err(GraphError::param_count(
                    "header",
                    given_header.len(),
                    expected,
                ));
            }
            let values = given_header
                .iter()
                .map(|p| text_parameter(p, "header"))
                .collect::<Result<Vec<_>, _>>()?;
            Some(render(text, &values))
        }
        Some(media_header) => {
            let expected_kind = if *media_header == TemplateHeader::Document {
                "document"
            } else {
                "image"
            };
            if given_header.len() != 1 {
                return Err(GraphError::param_count("header", given_header.len(), 1));
            }
            let parameter = as_object(&given_header[0], "header parameter")?;
            let parameter_type = required_str(parameter, "type", "header parameter['type']")?;
            if parameter_type != expected_kind {
                return Err(GraphError::param_format(format!(
                    "header: Format mismatch, expected {}, received {}",
                    expected_kind.to_uppercase(),
                    parameter_type.to_uppercase()
                )));
            }
            let media = parse_media_object(
                expected_kind,
                required(
                    parameter,
                    expected_kind,
                    &format!("header parameter['{expected_kind}']"),
                )?,
            )?;
            if expected_kind == "document" {
                rendered.document = Some(media);
            } else {
                rendered.image = Some(media);
            }
            None
        }
    };

    // Body.
    let expected_body = variable_count(&registered.body);
    if body_parameters.len() != expected_body {
        return Err(GraphError::param_count(
            "body",
            body_parameters.len(),
            expected_body,
        ));
    }
    let body_values = body_parameters
        .iter()
        .map(|p| text_parameter(p, "body"))
        .collect::<Result<Vec<_>, _>>()?;
    if body_values.iter().any(|v| has_forbidden_whitespace(v)) {
        return Err(GraphError::param_whitespace());
    }
    let body = render(&registered.body, &body_values);
    if chars(&body) > 1024 {
        return Err(GraphError::template_too_long());
    }
    rendered.text = Some(join_header(header_text, body));

    // Buttons.
    for (index, sub_type, _) in &button_components {
        let Some(button) = registered.buttons.get(*index) else {
            return Err(GraphError::not_valid(format!(
                "Button at index {index} does not exist in template {name}"
            )));
        };
        let expected_sub_type = match button {
            TemplateButton::QuickReply { .. } => "quick_reply",
            TemplateButton::Url { .. } => "url",
        };
        if sub_type != expected_sub_type {
            return Err(GraphError::param_format(format!(
                "buttons: Format mismatch, button at index {index} is {}, received {}",
                expected_sub_type.to_uppercase(),
                sub_type.to_uppercase()
            )));
        }
    }
    for (index, button) in registered.buttons.iter().enumerate() {
        let given = button_components
            .iter()
            .find(|(i, _, _)| *i == index)
            .map(|(_, _, parameters)| *parameters)
            .unwrap_or(&[]);
        match button {
            TemplateButton::QuickReply { text } => {
                if given.len() > 1 {
                    return Err(GraphError::param_count(
                        &format!("button at index {index}"),
                        given.len(),
                        1,
                    ));
                }
                let payload = match given.first() {
                    Some(parameter) => {
                        let parameter = as_object(parameter, "button parameter")?;
                        let parameter_type =
                            required_str(parameter, "type", "button parameter['type']")?;
                        if parameter_type != "payload" {
                            return Err(GraphError::param_format(format!(
                                "button at index {index}: Format mismatch, expected PAYLOAD, received {}",
                                parameter_type.to_uppercase()
                            )));
                        }
                        required_str(parameter, "payload", "button parameter['payload']")?
                            .to_string()
                    }
                    None => text.clone(),
                };
                rendered.reply_options.push(ReplyOption {
                    kind: ReplyKind::TemplateButton,
                    id: payload,
                    title: text.clone(),
                });
            }
            TemplateButton::Url { text, url } => {
                let expected = variable_count(url);
                if given.len() != expected {
                    return Err(GraphError::param_count(
                        &format!("button at index {index}"),
                        given.len(),
                        expected,
                    ));
                }
                let values = given
                    .iter()
                    .map(|p| text_parameter(p, "button"))
                    .collect::<Result<Vec<_>, _>>()?;
                rendered.links.push(LinkView {
                    text: text.clone(),
                    url: render(url, &values),
                });
            }
        }
    }
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn templates() -> Vec<SimTemplate> {
        vec![
            SimTemplate {
                name: "boleto_vencimento".into(),
                language: "pt_BR".into(),
                category: "UTILITY".into(),
                status: "APPROVED".into(),
                header: Some(TemplateHeader::Document),
                body: "Olá {{1}}, sua fatura de {{2}} vence amanhã.".into(),
                footer: Some("Provedor".into()),
                buttons: vec![
                    TemplateButton::QuickReply {
                        text: "Já paguei".into(),
                    },
                    TemplateButton::Url {
                        text: "Ver fatura".into(),
                        url: "https://provedor.example/f/{{1}}".into(),
                    },
                ],
            },
            SimTemplate {
                name: "promo".into(),
                language: "pt_BR".into(),
                category: "MARKETING".into(),
                status: "PAUSED".into(),
                header: Some(TemplateHeader::Text("Oferta para {{1}}".into())),
                body: "Plano novo".into(),
                footer: None,
                buttons: vec![],
            },
        ]
    }

    fn code_of(body: Value) -> i64 {
        parse_send(&body, &templates())
            .expect_err("should be rejected")
            .code
    }

    fn message(body: Value) -> OutboundMessage {
        match parse_send(&body, &templates()).expect("should be accepted") {
            SendRequest::Message(message) => *message,
            other => panic!("not a message: {other:?}"),
        }
    }

    fn boleto(components: Value) -> Value {
        json!({"messaging_product":"whatsapp","to":"5511987650001","type":"template",
            "template":{"name":"boleto_vencimento","language":{"code":"pt_BR"},"components":components}})
    }

    fn full_boleto_components() -> Value {
        json!([
            {"type":"header","parameters":[{"type":"document","document":{"link":"https://x.example/b.pdf","filename":"boleto.pdf"}}]},
            {"type":"body","parameters":[{"type":"text","text":"João"},{"type":"text","text":"R$ 120,00"}]},
            {"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"PAGO_1"}]},
            {"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"abc123"}]}
        ])
    }

    #[test]
    fn text_is_accepted_and_type_defaults_to_text() {
        let sent = message(
            json!({"messaging_product":"whatsapp","to":"+55 11 98765-0001","text":{"body":"oi"}}),
        );
        assert_eq!(sent.to, "+55 11 98765-0001");
        assert_eq!(sent.content.kind, "text");
        assert_eq!(sent.content.text.as_deref(), Some("oi"));
        assert_eq!(sent.content.template_category, None);
    }

    #[test]
    fn envelope_errors() {
        assert_eq!(
            code_of(json!({"to":"1","type":"text","text":{"body":"x"}})),
            100
        );
        assert_eq!(
            code_of(json!({"messaging_product":"sms","to":"1","type":"text","text":{"body":"x"}})),
            100
        );
        assert_eq!(
            code_of(json!({"messaging_product":"whatsapp","type":"text","text":{"body":"x"}})),
            100
        );
        assert_eq!(
            code_of(json!({"messaging_product":"whatsapp","to":"1","type":"fax","fax":{}})),
            100
        );
        assert_eq!(
            code_of(json!({"messaging_product":"whatsapp","to":"1","type":"text"})),
            100
        );
        assert_eq!(
            code_of(
                json!({"messaging_product":"whatsapp","recipient_type":"broadcast","to":"1","text":{"body":"x"}})
            ),
            100
        );
        assert_eq!(code_of(json!([1, 2])), 100);
    }

    #[test]
    fn text_limits() {
        let long = "a".repeat(4097);
        assert_eq!(
            code_of(
                json!({"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":long}})
            ),
            100
        );
        let exactly = "ã".repeat(4096);
        message(
            json!({"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":exactly}}),
        );
        assert_eq!(
            code_of(
                json!({"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":""}})
            ),
            100
        );
    }

    fn buttons(list: Value) -> Value {
        json!({"messaging_product":"whatsapp","to":"1","type":"interactive",
            "interactive":{"type":"button","body":{"text":"Escolha"},"action":{"buttons":list}}})
    }

    fn reply(id: &str, title: &str) -> Value {
        json!({"type":"reply","reply":{"id":id,"title":title}})
    }

    #[test]
    fn reply_button_rules() {
        let ok = message(buttons(json!([
            reply("a", "Segunda via"),
            reply("b", "Suporte")
        ])));
        assert_eq!(ok.content.reply_options.len(), 2);
        assert_eq!(ok.content.reply_options[0].id, "a");
        assert_eq!(ok.content.text.as_deref(), Some("Escolha"));
        assert_eq!(code_of(buttons(json!([]))), 131009);
        assert_eq!(
            code_of(buttons(json!([
                reply("a", "1"),
                reply("b", "2"),
                reply("c", "3"),
                reply("d", "4")
            ]))),
            131009
        );
        assert_eq!(
            code_of(buttons(json!([reply("a", "Um título longo demais!")]))),
            131009
        );
        assert_eq!(
            code_of(buttons(json!([reply("a", "Mesmo"), reply("b", "Mesmo")]))),
            131009
        );
        assert_eq!(
            code_of(buttons(json!([reply("a", "Um"), reply("a", "Dois")]))),
            131009
        );
        assert_eq!(
            code_of(buttons(json!([reply(&"x".repeat(257), "Um")]))),
            131009
        );
        assert_eq!(
            code_of(buttons(
                json!([{"type":"url","reply":{"id":"a","title":"b"}}])
            )),
            100
        );
        // Twenty characters with accents are fine: limits count characters, not bytes.
        message(buttons(json!([reply("a", "Ação ação ação ação!")])));
    }

    fn list(sections: Value) -> Value {
        json!({"messaging_product":"whatsapp","to":"1","type":"interactive",
            "interactive":{"type":"list","body":{"text":"Menu"},"action":{"button":"Ver opções","sections":sections}}})
    }

    fn rows(n: usize, prefix: &str) -> Value {
        Value::Array(
            (0..n)
                .map(|i| json!({"id":format!("{prefix}{i}"),"title":format!("Opção {i}")}))
                .collect(),
        )
    }

    #[test]
    fn list_rules() {
        let ok = message(list(
            json!([{"title":"Financeiro","rows":rows(5,"f")},{"title":"Suporte","rows":rows(5,"s")}]),
        ));
        let view = ok.content.list.unwrap();
        assert_eq!(view.button, "Ver opções");
        assert_eq!(view.sections[1].rows[4].id, "s4");
        assert_eq!(
            code_of(list(
                json!([{"title":"A","rows":rows(6,"a")},{"title":"B","rows":rows(5,"b")}])
            )),
            131009
        );
        assert_eq!(
            code_of(list(json!([{"rows":rows(2,"a")},{"rows":rows(2,"b")}]))),
            100
        );
        assert_eq!(
            code_of(list(
                json!([{"title":"A","rows":rows(2,"a")},{"title":"B","rows":rows(2,"a")}])
            )),
            131009
        );
        assert_eq!(
            code_of(list(
                json!([{"rows":[{"id":"a","title":"Um título de linha longo demais"}]}])
            )),
            131009
        );
        assert_eq!(
            code_of(list(
                json!([{"rows":[{"id":"a","title":"ok","description":"d".repeat(73)}]}])
            )),
            131009
        );
        assert_eq!(code_of(list(json!([{"rows":[]}]))), 131009);
        let mut long_button = list(json!([{"rows":rows(1,"a")}]));
        long_button["interactive"]["action"]["button"] = json!("Botão com texto muito longo");
        assert_eq!(code_of(long_button), 131009);
    }

    #[test]
    fn template_renders_everything() {
        let sent = message(boleto(full_boleto_components()));
        let content = sent.content;
        assert_eq!(content.template_category.as_deref(), Some("utility"));
        assert_eq!(
            content.text.as_deref(),
            Some("Olá João, sua fatura de R$ 120,00 vence amanhã.")
        );
        assert_eq!(content.footer.as_deref(), Some("Provedor"));
        assert_eq!(content.reply_options[0].id, "PAGO_1");
        assert_eq!(content.reply_options[0].title, "Já paguei");
        assert_eq!(content.links[0].url, "https://provedor.example/f/abc123");
        let document = content.document.unwrap();
        assert_eq!(
            document.source,
            MediaSource::Link("https://x.example/b.pdf".into())
        );
        assert_eq!(document.filename.as_deref(), Some("boleto.pdf"));
    }

    #[test]
    fn template_registry_errors() {
        let mut unknown = boleto(full_boleto_components());
        unknown["template"]["name"] = json!("nao_existe");
        assert_eq!(code_of(unknown), 132001);
        let mut wrong_language = boleto(full_boleto_components());
        wrong_language["template"]["language"]["code"] = json!("en_US");
        assert_eq!(code_of(wrong_language), 132001);
        let paused = json!({"messaging_product":"whatsapp","to":"1","type":"template",
            "template":{"name":"promo","language":{"code":"pt_BR"},"components":[{"type":"header","parameters":[{"type":"text","text":"Ana"}]}]}});
        assert_eq!(code_of(paused), 132015);
    }

    #[test]
    fn template_parameter_errors() {
        let full = full_boleto_components();
        let without = |index: usize| {
            let mut components = full.as_array().unwrap().clone();
            components.remove(index);
            boleto(Value::Array(components))
        };
        assert_eq!(code_of(without(0)), 132000, "missing document header");
        assert_eq!(code_of(without(1)), 132000, "missing body parameters");
        assert_eq!(code_of(without(3)), 132000, "missing url button parameter");
        // The quick reply payload is optional: the button text is the payload.
        let sent = message(without(2));
        assert_eq!(sent.content.reply_options[0].id, "Já paguei");

        let mut one_body_parameter = full.clone();
        one_body_parameter[1]["parameters"]
            .as_array_mut()
            .unwrap()
            .pop();
        assert_eq!(code_of(boleto(one_body_parameter)), 132000);

        let mut image_instead = full.clone();
        image_instead[0]["parameters"][0] =
            json!({"type":"image","image":{"link":"https://x.example/a.png"}});
        assert_eq!(code_of(boleto(image_instead)), 132012);

        let mut new_line = full.clone();
        new_line[1]["parameters"][0]["text"] = json!("João\nSilva");
        assert_eq!(code_of(boleto(new_line)), 132018);

        let mut wrong_button = full.clone();
        wrong_button[2]["sub_type"] = json!("url");
        assert_eq!(code_of(boleto(wrong_button)), 132012);

        let mut missing_button = full.clone();
        missing_button[3]["index"] = json!("5");
        assert_eq!(code_of(boleto(missing_button)), 131009);

        let mut long_body = full;
        long_body[1]["parameters"][0]["text"] = json!("a".repeat(1100));
        assert_eq!(code_of(boleto(long_body)), 132005);
    }

    #[test]
    fn media_messages() {
        let sent = message(
            json!({"messaging_product":"whatsapp","to":"1","type":"document",
            "document":{"id":"123","filename":"boleto.pdf","caption":"Sua fatura"}}),
        );
        assert_eq!(
            sent.content.document.unwrap().source,
            MediaSource::Id("123".into())
        );
        assert_eq!(sent.content.text.as_deref(), Some("Sua fatura"));
        assert_eq!(
            code_of(json!({"messaging_product":"whatsapp","to":"1","type":"image","image":{}})),
            100
        );
        assert_eq!(
            code_of(
                json!({"messaging_product":"whatsapp","to":"1","type":"image","image":{"link":"boleto.pdf"}})
            ),
            131009
        );
        assert_eq!(
            code_of(
                json!({"messaging_product":"whatsapp","to":"1","type":"image","image":{"link":"https://a/b.png","id":"1"}})
            ),
            100
        );
    }

    #[test]
    fn mark_read() {
        let parsed = parse_send(
            &json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.X","typing_indicator":{"type":"text"}}),
            &[],
        )
        .unwrap();
        assert_eq!(
            parsed,
            SendRequest::MarkRead {
                message_id: "wamid.X".into()
            }
        );
        assert_eq!(
            code_of(
                json!({"messaging_product":"whatsapp","status":"delivered","message_id":"wamid.X"})
            ),
            100
        );
        assert_eq!(
            code_of(json!({"messaging_product":"whatsapp","status":"read"})),
            100
        );
    }

    #[test]
    fn context_and_callback_data() {
        let sent = message(
            json!({"messaging_product":"whatsapp","to":"1","context":{"message_id":"wamid.A"},
            "biz_opaque_callback_data":"job-7","type":"text","text":{"body":"oi"}}),
        );
        assert_eq!(sent.context_id.as_deref(), Some("wamid.A"));
        assert_eq!(sent.biz_opaque_callback_data.as_deref(), Some("job-7"));
    }
}
