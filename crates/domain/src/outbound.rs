//! What Balcão sends and how a Graph API failure is handled. The content types mirror the Cloud API
//! message kinds the product uses; the error classification is the table of
//! `shared/specs/whatsapp-cloud-api.md` §4 as a function.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboundContent {
    Text {
        body: String,
        #[serde(default)]
        preview_url: bool,
    },
    /// Reply buttons (1–3).
    Buttons {
        body: String,
        #[serde(default)]
        header: Option<String>,
        #[serde(default)]
        footer: Option<String>,
        buttons: Vec<ReplyButton>,
    },
    /// List message (at most 10 rows in total).
    List {
        body: String,
        button: String,
        #[serde(default)]
        header: Option<String>,
        #[serde(default)]
        footer: Option<String>,
        sections: Vec<ListSection>,
    },
    Template(TemplateMessage),
    Document {
        link: String,
        #[serde(default)]
        filename: Option<String>,
        #[serde(default)]
        caption: Option<String>,
    },
    Image {
        link: String,
        #[serde(default)]
        caption: Option<String>,
    },
}

impl OutboundContent {
    /// Free-form content needs an open 24-hour window; templates do not.
    pub fn is_template(&self) -> bool {
        matches!(self, OutboundContent::Template(_))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Buttons { .. } => "buttons",
            Self::List { .. } => "list",
            Self::Template(_) => "template",
            Self::Document { .. } => "document",
            Self::Image { .. } => "image",
        }
    }

    /// What the agent or the API caller reads back in the conversation.
    pub fn display_text(&self) -> String {
        match self {
            Self::Text { body, .. } | Self::Buttons { body, .. } | Self::List { body, .. } => {
                body.clone()
            }
            Self::Template(t) => {
                let params: Vec<&str> = t
                    .components
                    .iter()
                    .filter(|c| c.kind == TemplateComponentKind::Body)
                    .flat_map(|c| c.parameters.iter())
                    .filter_map(|p| match p {
                        TemplateParameter::Text { text } => Some(text.as_str()),
                        _ => None,
                    })
                    .collect();
                if params.is_empty() {
                    format!("[modelo {}]", t.name)
                } else {
                    format!("[modelo {}] {}", t.name, params.join(" | "))
                }
            }
            Self::Document {
                caption, filename, ..
            } => caption
                .clone()
                .or_else(|| filename.clone())
                .unwrap_or_else(|| "documento".into()),
            Self::Image { caption, .. } => caption.clone().unwrap_or_else(|| "imagem".into()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyButton {
    pub id: String,
    pub title: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSection {
    #[serde(default)]
    pub title: Option<String>,
    pub rows: Vec<ListRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateMessage {
    pub name: String,
    /// The approved translation, e.g. `pt_BR`.
    pub language: String,
    #[serde(default)]
    pub components: Vec<TemplateComponent>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateComponent {
    #[serde(rename = "type")]
    pub kind: TemplateComponentKind,
    /// For buttons: `quick_reply` or `url`.
    #[serde(default)]
    pub sub_type: Option<String>,
    /// For buttons: the button's position, from 0.
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(default)]
    pub parameters: Vec<TemplateParameter>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateComponentKind {
    Header,
    Body,
    Button,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TemplateParameter {
    Text {
        text: String,
    },
    Payload {
        payload: String,
    },
    Currency {
        fallback_value: String,
        code: String,
        amount_1000: i64,
    },
    DateTime {
        fallback_value: String,
    },
    Document {
        link: String,
        #[serde(default)]
        filename: Option<String>,
    },
    Image {
        link: String,
    },
    Video {
        link: String,
    },
}

/// A failure reported by the Graph API (synchronously or in a `failed` status).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendError {
    pub code: i64,
    pub title: String,
    #[serde(default)]
    pub details: Option<String>,
}

/// What to do about a Graph error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorAction {
    /// Transient: try again after a backoff (capped by the sender).
    RetryWithBackoff,
    /// Pair limit: this recipient later (4^attempt seconds); other recipients are unaffected.
    RetryRecipientLater,
    /// Account in maintenance during a throughput upgrade: try again after about a minute.
    RetryAfterMinute,
    /// Will not succeed as it is: fail the message for good with the reason.
    Fail,
    /// Fail, and tell the operator: the credentials or permissions are wrong.
    FailAndAlertOperator,
}

/// The action for a Graph error code (spec §4). Unknown codes fail for good: retrying what we do
/// not understand risks sending twice.
pub fn classify_error(code: i64) -> ErrorAction {
    match code {
        130429 | 4 | 80007 | 1 | 2 | 131000 | 131016 => ErrorAction::RetryWithBackoff,
        131056 => ErrorAction::RetryRecipientLater,
        131057 => ErrorAction::RetryAfterMinute,
        190 | 0 | 10 | 200..=299 => ErrorAction::FailAndAlertOperator,
        _ => ErrorAction::Fail,
    }
}

/// Human explanation (pt-BR) of a Graph error code, for the inbox and the API.
pub fn describe_error(code: i64) -> &'static str {
    match code {
        130429 => "limite de envio por segundo do número excedido",
        131056 => "muitas mensagens seguidas para o mesmo assinante",
        131048 => "limite por suspeita de spam atingido",
        131049 => "limite de mensagens de marketing para este assinante",
        131047 => "fora da janela de 24 horas: só é possível enviar um modelo aprovado",
        131026 => "mensagem não entregue (número sem WhatsApp, bloqueado ou app antigo)",
        131051 => "tipo de mensagem não suportado",
        131052 | 131053 => "erro ao baixar ou enviar a mídia",
        132000 => "quantidade de parâmetros do modelo não confere",
        132001 => "modelo inexistente nesse idioma ou não aprovado",
        132005 => "texto do modelo longo demais",
        132007 => "modelo viola a política de conteúdo",
        132012 => "formato de parâmetro do modelo inválido",
        132015 => "modelo pausado",
        132016 => "modelo desativado",
        100 | 131009 => "parâmetro inválido",
        190 | 0 => "token de acesso expirado ou inválido",
        10 | 200..=299 => "permissão ausente no aplicativo",
        4 | 80007 => "limite de chamadas da API atingido",
        131057 => "conta em manutenção (aumento de capacidade)",
        1 | 2 | 131000 | 131016 => "serviço do WhatsApp indisponível ou sobrecarregado",
        368 | 131031 | 131042 | 130472 => {
            "conta bloqueada, com restrição de política ou de pagamento"
        }
        _ => "erro desconhecido da API do WhatsApp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_the_spec_is_classified() {
        use ErrorAction::*;
        let table = [
            (130429, RetryWithBackoff),
            (131056, RetryRecipientLater),
            (131048, Fail),
            (131049, Fail),
            (131047, Fail),
            (131026, Fail),
            (131051, Fail),
            (131052, Fail),
            (131053, Fail),
            (132000, Fail),
            (132001, Fail),
            (132005, Fail),
            (132007, Fail),
            (132012, Fail),
            (132015, Fail),
            (132016, Fail),
            (100, Fail),
            (131009, Fail),
            (190, FailAndAlertOperator),
            (0, FailAndAlertOperator),
            (10, FailAndAlertOperator),
            (200, FailAndAlertOperator),
            (299, FailAndAlertOperator),
            (4, RetryWithBackoff),
            (80007, RetryWithBackoff),
            (131057, RetryAfterMinute),
            (1, RetryWithBackoff),
            (2, RetryWithBackoff),
            (131000, RetryWithBackoff),
            (131016, RetryWithBackoff),
            (368, Fail),
            (131031, Fail),
            (131042, Fail),
            (130472, Fail),
            (999999, Fail),
        ];
        for (code, action) in table {
            assert_eq!(classify_error(code), action, "code {code}");
            assert!(!describe_error(code).is_empty());
        }
    }

    #[test]
    fn only_templates_skip_the_window() {
        let text = OutboundContent::Text {
            body: "oi".into(),
            preview_url: false,
        };
        assert!(!text.is_template());
        let tpl = OutboundContent::Template(TemplateMessage {
            name: "boleto".into(),
            language: "pt_BR".into(),
            components: vec![],
        });
        assert!(tpl.is_template());
    }
}
