//! Request bodies of the Cloud API send endpoint (spec §2) and the limits WhatsApp enforces on
//! them, checked before anything is queued so a person sees the problem in Portuguese instead of a
//! Graph error code later.

use balcao_domain::outbound::{
    ListSection, OutboundContent, ReplyButton, TemplateComponent, TemplateComponentKind,
    TemplateMessage, TemplateParameter,
};
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// The limits of spec §2, in characters (not bytes).
pub mod limits {
    pub const TEXT_BODY: usize = 4096;
    pub const BUTTONS_MIN: usize = 1;
    pub const BUTTONS_MAX: usize = 3;
    pub const BUTTON_TITLE: usize = 20;
    pub const BUTTON_ID: usize = 256;
    pub const BUTTONS_BODY: usize = 1024;
    /// Reply-button and list messages alike.
    pub const HEADER: usize = 60;
    pub const FOOTER: usize = 60;
    /// List messages take a longer body than reply buttons.
    pub const LIST_BODY: usize = 4096;
    pub const LIST_ROWS_MAX: usize = 10;
    pub const LIST_BUTTON: usize = 20;
    pub const LIST_SECTION_TITLE: usize = 24;
    pub const LIST_ROW_TITLE: usize = 24;
    pub const LIST_ROW_DESCRIPTION: usize = 72;
    pub const LIST_ROW_ID: usize = 200;
    pub const CAPTION: usize = 1024;
    /// Consecutive spaces WhatsApp tolerates inside a template text parameter.
    pub const TEMPLATE_PARAM_SPACES: usize = 4;
}

/// Content WhatsApp would refuse. The message names the field and the limit, in pt-BR, for the
/// person who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error("{field} está em branco")]
    Empty { field: String },
    #[error("{field} tem {actual} caracteres; o limite é {max}")]
    TooLong {
        field: String,
        max: usize,
        actual: usize,
    },
    #[error("a mensagem precisa ter de 1 a 3 botões (tem {count})")]
    ButtonCount { count: usize },
    #[error("os botões precisam de títulos diferentes (\"{title}\" se repete)")]
    DuplicateButtonTitle { title: String },
    #[error("os botões precisam de identificadores diferentes (\"{id}\" se repete)")]
    DuplicateButtonId { id: String },
    #[error("a lista precisa ter de 1 a 10 opções no total (tem {count})")]
    ListRowCount { count: usize },
    #[error("a seção {section} da lista não tem opções")]
    EmptySection { section: usize },
    #[error("a lista tem mais de uma seção, então a seção {section} precisa de título")]
    SectionTitleRequired { section: usize },
    #[error("as opções da lista precisam de identificadores diferentes (\"{id}\" se repete)")]
    DuplicateRowId { id: String },
    #[error(
        "{field} precisa ser um endereço completo começando com http:// ou https:// (recebido: \"{link}\")"
    )]
    InvalidLink { field: String, link: String },
    #[error("o botão do modelo no componente {component} precisa de sub_type e index")]
    TemplateButtonIncomplete { component: usize },
    #[error("{field} não pode ter quebra de linha, tabulação nem mais de 4 espaços seguidos")]
    TemplateParamFormat { field: String },
}

/// The JSON body of `POST /{phone-number-id}/messages` sending `content` to `to` (a wa_id or a
/// phone number), optionally as a reply to the wamid `reply_to`, with `biz_opaque_callback_data`
/// echoed back by WhatsApp in the status webhooks. Empty optional texts (header, footer, caption,
/// filename, description) are left out. Does not validate: call [`validate`] first.
pub fn build_send_body(
    to: &str,
    content: &OutboundContent,
    biz_opaque_callback_data: Option<&str>,
    reply_to: Option<&str>,
) -> Value {
    let (kind, part) = match content {
        OutboundContent::Text { body, preview_url } => {
            ("text", json!({ "preview_url": preview_url, "body": body }))
        }
        OutboundContent::Buttons {
            body,
            header,
            footer,
            buttons,
        } => ("interactive", buttons_part(body, header, footer, buttons)),
        OutboundContent::List {
            body,
            button,
            header,
            footer,
            sections,
        } => (
            "interactive",
            list_part(body, button, header, footer, sections),
        ),
        OutboundContent::Template(template) => ("template", template_part(template)),
        OutboundContent::Document {
            link,
            filename,
            caption,
        } => {
            let mut doc = object(json!({ "link": link }));
            put_non_empty(&mut doc, "filename", filename);
            put_non_empty(&mut doc, "caption", caption);
            ("document", Value::Object(doc))
        }
        OutboundContent::Image { link, caption } => {
            let mut image = object(json!({ "link": link }));
            put_non_empty(&mut image, "caption", caption);
            ("image", Value::Object(image))
        }
    };
    let mut body = object(json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
    }));
    body.insert(kind.to_owned(), part);
    if let Some(wamid) = reply_to {
        body.insert("context".into(), json!({ "message_id": wamid }));
    }
    if let Some(data) = biz_opaque_callback_data {
        body.insert("biz_opaque_callback_data".into(), json!(data));
    }
    Value::Object(body)
}

/// The body that marks `wamid` as read (blue ticks), optionally showing the typing indicator.
pub fn mark_read_body(wamid: &str, typing_indicator: bool) -> Value {
    let mut body =
        json!({ "messaging_product": "whatsapp", "status": "read", "message_id": wamid });
    if typing_indicator {
        body["typing_indicator"] = json!({ "type": "text" });
    }
    body
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn put_non_empty(map: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
        map.insert(key.to_owned(), json!(v));
    }
}

fn header_and_footer(
    map: &mut Map<String, Value>,
    header: &Option<String>,
    footer: &Option<String>,
) {
    if let Some(h) = header.as_deref().filter(|h| !h.is_empty()) {
        map.insert("header".into(), json!({ "type": "text", "text": h }));
    }
    if let Some(f) = footer.as_deref().filter(|f| !f.is_empty()) {
        map.insert("footer".into(), json!({ "text": f }));
    }
}

fn buttons_part(
    body: &str,
    header: &Option<String>,
    footer: &Option<String>,
    buttons: &[ReplyButton],
) -> Value {
    let mut part = object(json!({ "type": "button", "body": { "text": body } }));
    header_and_footer(&mut part, header, footer);
    let buttons: Vec<Value> = buttons
        .iter()
        .map(|b| json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } }))
        .collect();
    part.insert("action".into(), json!({ "buttons": buttons }));
    Value::Object(part)
}

fn list_part(
    body: &str,
    button: &str,
    header: &Option<String>,
    footer: &Option<String>,
    sections: &[ListSection],
) -> Value {
    let mut part = object(json!({ "type": "list", "body": { "text": body } }));
    header_and_footer(&mut part, header, footer);
    let sections: Vec<Value> = sections
        .iter()
        .map(|section| {
            let rows: Vec<Value> = section
                .rows
                .iter()
                .map(|row| {
                    let mut r = object(json!({ "id": row.id, "title": row.title }));
                    put_non_empty(&mut r, "description", &row.description);
                    Value::Object(r)
                })
                .collect();
            let mut s = Map::new();
            put_non_empty(&mut s, "title", &section.title);
            s.insert("rows".into(), Value::Array(rows));
            Value::Object(s)
        })
        .collect();
    part.insert(
        "action".into(),
        json!({ "button": button, "sections": sections }),
    );
    Value::Object(part)
}

fn template_part(template: &TemplateMessage) -> Value {
    let mut part = object(json!({
        "name": template.name,
        "language": { "code": template.language },
    }));
    if !template.components.is_empty() {
        let components: Vec<Value> = template.components.iter().map(component_json).collect();
        part.insert("components".into(), Value::Array(components));
    }
    Value::Object(part)
}

fn component_json(component: &TemplateComponent) -> Value {
    let kind = match component.kind {
        TemplateComponentKind::Header => "header",
        TemplateComponentKind::Body => "body",
        TemplateComponentKind::Button => "button",
    };
    let mut c = object(json!({ "type": kind }));
    if let Some(sub_type) = &component.sub_type {
        c.insert("sub_type".into(), json!(sub_type));
    }
    if let Some(index) = component.index {
        // The Cloud API wants the button index as a string.
        c.insert("index".into(), json!(index.to_string()));
    }
    let parameters: Vec<Value> = component.parameters.iter().map(parameter_json).collect();
    c.insert("parameters".into(), Value::Array(parameters));
    Value::Object(c)
}

fn parameter_json(parameter: &TemplateParameter) -> Value {
    match parameter {
        TemplateParameter::Text { text } => json!({ "type": "text", "text": text }),
        TemplateParameter::Payload { payload } => json!({ "type": "payload", "payload": payload }),
        TemplateParameter::Currency {
            fallback_value,
            code,
            amount_1000,
        } => json!({ "type": "currency", "currency": {
            "fallback_value": fallback_value, "code": code, "amount_1000": amount_1000,
        }}),
        TemplateParameter::DateTime { fallback_value } => {
            json!({ "type": "date_time", "date_time": { "fallback_value": fallback_value } })
        }
        TemplateParameter::Document { link, filename } => {
            let mut doc = object(json!({ "link": link }));
            put_non_empty(&mut doc, "filename", filename);
            json!({ "type": "document", "document": doc })
        }
        TemplateParameter::Image { link } => json!({ "type": "image", "image": { "link": link } }),
        TemplateParameter::Video { link } => json!({ "type": "video", "video": { "link": link } }),
    }
}

// ---- validation ----

fn required(field: impl FnOnce() -> String, value: &str, max: usize) -> Result<(), ContentError> {
    if value.trim().is_empty() {
        return Err(ContentError::Empty { field: field() });
    }
    at_most(field, value, max)
}

fn at_most(field: impl FnOnce() -> String, value: &str, max: usize) -> Result<(), ContentError> {
    let actual = value.chars().count();
    if actual > max {
        return Err(ContentError::TooLong {
            field: field(),
            max,
            actual,
        });
    }
    Ok(())
}

fn optional(
    field: impl FnOnce() -> String,
    value: &Option<String>,
    max: usize,
) -> Result<(), ContentError> {
    value.as_deref().map_or(Ok(()), |v| at_most(field, v, max))
}

fn link(field: impl FnOnce() -> String, value: &str) -> Result<(), ContentError> {
    if is_absolute_http_url(value) {
        Ok(())
    } else {
        Err(ContentError::InvalidLink {
            field: field(),
            link: value.to_owned(),
        })
    }
}

/// `http://` or `https://` (any case), a non-empty host, an optional numeric port, and no
/// whitespace or control characters anywhere.
pub fn is_absolute_http_url(link: &str) -> bool {
    if link.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let lower = link.get(..8).unwrap_or(link).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &link[8..]
    } else if lower.starts_with("http://") {
        &link[7..]
    } else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = match host_port.rsplit_once(':') {
        // An IPv6 literal contains colons of its own; only a colon after `]` starts a port.
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (host_port, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    !host.is_empty() && port_ok
}

/// Checks `content` against WhatsApp's limits (spec §2). Lengths count characters, not bytes.
pub fn validate(content: &OutboundContent) -> Result<(), ContentError> {
    match content {
        OutboundContent::Text { body, .. } => {
            required(|| "o texto da mensagem".into(), body, limits::TEXT_BODY)
        }
        OutboundContent::Buttons {
            body,
            header,
            footer,
            buttons,
        } => {
            required(|| "o texto da mensagem".into(), body, limits::BUTTONS_BODY)?;
            optional(|| "o cabeçalho".into(), header, limits::HEADER)?;
            optional(|| "o rodapé".into(), footer, limits::FOOTER)?;
            if !(limits::BUTTONS_MIN..=limits::BUTTONS_MAX).contains(&buttons.len()) {
                return Err(ContentError::ButtonCount {
                    count: buttons.len(),
                });
            }
            let mut titles = HashSet::new();
            let mut ids = HashSet::new();
            for (i, button) in buttons.iter().enumerate() {
                let n = i + 1;
                required(
                    || format!("o título do botão {n}"),
                    &button.title,
                    limits::BUTTON_TITLE,
                )?;
                required(
                    || format!("o identificador do botão {n}"),
                    &button.id,
                    limits::BUTTON_ID,
                )?;
                if !titles.insert(button.title.as_str()) {
                    return Err(ContentError::DuplicateButtonTitle {
                        title: button.title.clone(),
                    });
                }
                if !ids.insert(button.id.as_str()) {
                    return Err(ContentError::DuplicateButtonId {
                        id: button.id.clone(),
                    });
                }
            }
            Ok(())
        }
        OutboundContent::List {
            body,
            button,
            header,
            footer,
            sections,
        } => {
            required(|| "o texto da mensagem".into(), body, limits::LIST_BODY)?;
            required(
                || "o texto do botão da lista".into(),
                button,
                limits::LIST_BUTTON,
            )?;
            optional(|| "o cabeçalho".into(), header, limits::HEADER)?;
            optional(|| "o rodapé".into(), footer, limits::FOOTER)?;
            let count: usize = sections.iter().map(|s| s.rows.len()).sum();
            if count == 0 || count > limits::LIST_ROWS_MAX {
                return Err(ContentError::ListRowCount { count });
            }
            let mut ids = HashSet::new();
            let mut n = 0;
            for (i, section) in sections.iter().enumerate() {
                let s = i + 1;
                if section.rows.is_empty() {
                    return Err(ContentError::EmptySection { section: s });
                }
                match section.title.as_deref() {
                    Some(title) if !title.trim().is_empty() => at_most(
                        || format!("o título da seção {s}"),
                        title,
                        limits::LIST_SECTION_TITLE,
                    )?,
                    _ if sections.len() > 1 => {
                        return Err(ContentError::SectionTitleRequired { section: s });
                    }
                    _ => {}
                }
                for row in &section.rows {
                    n += 1;
                    required(
                        || format!("o título da opção {n}"),
                        &row.title,
                        limits::LIST_ROW_TITLE,
                    )?;
                    required(
                        || format!("o identificador da opção {n}"),
                        &row.id,
                        limits::LIST_ROW_ID,
                    )?;
                    optional(
                        || format!("a descrição da opção {n}"),
                        &row.description,
                        limits::LIST_ROW_DESCRIPTION,
                    )?;
                    if !ids.insert(row.id.as_str()) {
                        return Err(ContentError::DuplicateRowId { id: row.id.clone() });
                    }
                }
            }
            Ok(())
        }
        OutboundContent::Template(template) => validate_template(template),
        OutboundContent::Document {
            link: l, caption, ..
        } => {
            link(|| "o link do documento".into(), l)?;
            optional(|| "a legenda".into(), caption, limits::CAPTION)
        }
        OutboundContent::Image { link: l, caption } => {
            link(|| "o link da imagem".into(), l)?;
            optional(|| "a legenda".into(), caption, limits::CAPTION)
        }
    }
}

fn validate_template(template: &TemplateMessage) -> Result<(), ContentError> {
    if template.name.trim().is_empty() {
        return Err(ContentError::Empty {
            field: "o nome do modelo".into(),
        });
    }
    if template.language.trim().is_empty() {
        return Err(ContentError::Empty {
            field: "o idioma do modelo".into(),
        });
    }
    for (i, component) in template.components.iter().enumerate() {
        let c = i + 1;
        if component.kind == TemplateComponentKind::Button
            && (component
                .sub_type
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
                || component.index.is_none())
        {
            return Err(ContentError::TemplateButtonIncomplete { component: c });
        }
        for (j, parameter) in component.parameters.iter().enumerate() {
            let p = j + 1;
            let field = || format!("o parâmetro {p} do componente {c} do modelo");
            match parameter {
                TemplateParameter::Text { text } => {
                    if text.trim().is_empty() {
                        return Err(ContentError::Empty { field: field() });
                    }
                    if has_forbidden_layout(text) {
                        return Err(ContentError::TemplateParamFormat { field: field() });
                    }
                }
                TemplateParameter::Payload { payload } => {
                    if payload.is_empty() {
                        return Err(ContentError::Empty { field: field() });
                    }
                }
                TemplateParameter::Currency { fallback_value, .. }
                | TemplateParameter::DateTime { fallback_value } => {
                    if fallback_value.trim().is_empty() {
                        return Err(ContentError::Empty { field: field() });
                    }
                }
                TemplateParameter::Document { link: l, .. }
                | TemplateParameter::Image { link: l }
                | TemplateParameter::Video { link: l } => link(field, l)?,
            }
        }
    }
    Ok(())
}

/// WhatsApp refuses template text parameters with new lines, tabs or more than four spaces in a row.
fn has_forbidden_layout(text: &str) -> bool {
    let too_many_spaces = " ".repeat(limits::TEMPLATE_PARAM_SPACES + 1);
    text.contains(['\n', '\r', '\t']) || text.contains(&too_many_spaces)
}

#[cfg(test)]
mod tests;
