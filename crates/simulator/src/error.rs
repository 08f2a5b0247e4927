//! Graph API errors: the synchronous error envelope and the `errors` of failed status webhooks.

use serde_json::{Value, json};

/// A synchronous Graph API error, rendered as Meta's envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GraphError {
    pub http_status: u16,
    pub code: i64,
    pub subcode: Option<i64>,
    pub kind: &'static str,
    pub message: String,
    pub details: Option<String>,
}

pub(crate) const CODE_INVALID_PARAMETER: i64 = 100;
pub(crate) const CODE_NOT_VALID: i64 = 131009;

impl GraphError {
    fn new(code: i64, message: impl Into<String>, details: Option<String>) -> Self {
        GraphError {
            http_status: 400,
            code,
            subcode: None,
            kind: "OAuthException",
            message: message.into(),
            details,
        }
    }

    /// Code 100 with Meta's specific wording (`(#100) The parameter to is required.`).
    pub fn param(message: impl Into<String>) -> Self {
        let message = message.into();
        GraphError::new(
            CODE_INVALID_PARAMETER,
            format!("(#100) {message}"),
            Some(message),
        )
    }

    /// Code 131009 "Parameter value is not valid" with the reason in `details`.
    pub fn not_valid(details: impl Into<String>) -> Self {
        GraphError::new(
            CODE_NOT_VALID,
            "(#131009) Parameter value is not valid",
            Some(details.into()),
        )
    }

    pub fn auth() -> Self {
        GraphError {
            http_status: 401,
            code: 190,
            subcode: None,
            kind: "OAuthException",
            message: "Invalid OAuth access token - Cannot parse access token".into(),
            details: None,
        }
    }

    /// Unknown object id in the path (Graph's "Unsupported post/get request").
    pub fn unknown_object(id: &str, verb: &str) -> Self {
        GraphError {
            http_status: 400,
            code: CODE_INVALID_PARAMETER,
            subcode: Some(33),
            kind: "GraphMethodException",
            message: format!(
                "Unsupported {verb} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
            ),
            details: None,
        }
    }

    pub fn template_missing(name: &str, language: &str) -> Self {
        GraphError::new(
            132001,
            "(#132001) Template name does not exist in the translation",
            Some(format!(
                "template name ({name}) does not exist in {language}"
            )),
        )
    }

    pub fn template_paused(name: &str) -> Self {
        GraphError::new(
            132015,
            "(#132015) Template is Paused",
            Some(format!("Template {name} is paused due to low quality")),
        )
    }

    pub fn template_disabled(name: &str) -> Self {
        GraphError::new(
            132016,
            "(#132016) Template is disabled",
            Some(format!("Template {name} has been disabled")),
        )
    }

    pub fn param_count(component: &str, given: usize, expected: usize) -> Self {
        GraphError::new(
            132000,
            "(#132000) Number of parameters does not match the expected number of params",
            Some(format!(
                "{component}: number of localizable_params ({given}) does not match the expected number of params ({expected})"
            )),
        )
    }

    pub fn param_format(details: impl Into<String>) -> Self {
        GraphError::new(
            132012,
            "(#132012) Parameter format does not match format in the created template",
            Some(details.into()),
        )
    }

    pub fn param_whitespace() -> Self {
        GraphError::new(
            132018,
            "(#132018) There was an issue with the parameters in your template.",
            Some(
                "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"
                    .into(),
            ),
        )
    }

    pub fn template_too_long() -> Self {
        GraphError::new(
            132005,
            "(#132005) Translated text too long",
            Some("The translated body exceeds 1024 characters".into()),
        )
    }

    pub fn throughput() -> Self {
        GraphError::new(
            130429,
            "(#130429) Rate limit hit",
            Some("Cloud API message throughput has been reached.".into()),
        )
    }

    pub fn pair_limit() -> Self {
        GraphError::new(
            131056,
            "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            Some("Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.".into()),
        )
    }

    pub fn to_json(&self, fbtrace_id: &str) -> Value {
        let mut error = json!({
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "fbtrace_id": fbtrace_id,
        });
        if let Some(details) = &self.details {
            error["error_data"] = json!({"messaging_product": "whatsapp", "details": details});
        }
        if let Some(subcode) = self.subcode {
            error["error_subcode"] = json!(subcode);
        }
        json!({ "error": error })
    }
}

/// Why an accepted message later failed (the `errors` of a `failed` status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    OutsideWindow,
    Undeliverable,
    MediaDownload,
    MediaUpload,
}

impl Failure {
    pub fn code(self) -> i64 {
        match self {
            Failure::OutsideWindow => 131047,
            Failure::Undeliverable => 131026,
            Failure::MediaDownload => 131052,
            Failure::MediaUpload => 131053,
        }
    }

    fn title_and_details(self) -> (&'static str, &'static str) {
        match self {
            Failure::OutsideWindow => (
                "Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            ),
            Failure::Undeliverable => (
                "Message undeliverable",
                "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number; the recipient has not accepted the new Terms of Service; the recipient is using an old WhatsApp version.",
            ),
            Failure::MediaDownload => (
                "Media download error",
                "Failed to download the media from the sender.",
            ),
            Failure::MediaUpload => (
                "Media upload error",
                "Unable to find the uploaded media for this id.",
            ),
        }
    }

    pub fn to_json(self) -> Value {
        let (title, details) = self.title_and_details();
        json!({
            "code": self.code(),
            "title": title,
            "message": title,
            "error_data": {"details": details},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        })
    }

    /// A hint for the phone page, in Portuguese.
    pub fn hint_pt(code: i64) -> &'static str {
        match code {
            131047 => "Não entregue: fora da janela de 24 h (só modelos aprovados)",
            131026 => "Não entregue: número não está no WhatsApp",
            131052 => "Não entregue: não foi possível baixar a mídia",
            131053 => "Não entregue: mídia enviada não encontrada",
            _ => "Não entregue",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_meta_shape() {
        let value = GraphError::not_valid("Button title length invalid").to_json("AbC");
        assert_eq!(value["error"]["code"], 131009);
        assert_eq!(value["error"]["type"], "OAuthException");
        assert_eq!(
            value["error"]["error_data"]["messaging_product"],
            "whatsapp"
        );
        assert_eq!(
            value["error"]["error_data"]["details"],
            "Button title length invalid"
        );
        assert_eq!(value["error"]["fbtrace_id"], "AbC");
        let auth = GraphError::auth();
        assert_eq!(auth.http_status, 401);
        assert_eq!(auth.to_json("x")["error"]["code"], 190);
    }

    #[test]
    fn failures_carry_code_and_details() {
        let value = Failure::OutsideWindow.to_json();
        assert_eq!(value["code"], 131047);
        assert!(
            value["error_data"]["details"]
                .as_str()
                .unwrap()
                .contains("24 hours")
        );
    }
}
