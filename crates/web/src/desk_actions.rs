//! The agent actions the API and the screens share, as methods of [`DeskState`]: the web layer
//! checks who acts (role, visibility) and hands the action to the engine's desk service
//! ([`balcao_engine::desk::Desk`]: one store transaction, a bus event, the runner woken so the
//! subscriber is told at once).

use crate::DeskState;
use crate::desk_api::ReplyBody;
use crate::error::ApiError;
use crate::session::Staff;
use axum::http::StatusCode;
use balcao_domain::ConversationId;
use balcao_domain::outbound::{
    TemplateComponent, TemplateComponentKind, TemplateMessage, TemplateParameter,
};
use balcao_engine::desk::{AgentReply, DeskError, ReplyContent};
use balcao_store::{DeskConversation, Message, Note, TeamMessage, TransferTarget, User};

impl From<DeskError> for ApiError {
    fn from(err: DeskError) -> Self {
        let message = err.to_string();
        match err {
            DeskError::NotFound => ApiError::not_found("conversa"),
            DeskError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            DeskError::WindowClosed { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "outside_window", message)
            }
            DeskError::Invalid(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_content", m)
            }
            DeskError::Outbox(e) => e.into(),
            DeskError::Store(e) => e.into(),
        }
    }
}

/// What the agent asked to send: an approved template (with its body variables), a quick reply
/// by id (rendered by the engine with the conversation's variables), or text with an optional
/// attachment link.
pub fn agent_reply(body: ReplyBody) -> AgentReply {
    let content = if let Some(t) = body.template {
        let parameters: Vec<TemplateParameter> = t
            .params
            .into_iter()
            .map(|text| TemplateParameter::Text { text })
            .collect();
        let components = if parameters.is_empty() {
            Vec::new()
        } else {
            vec![TemplateComponent {
                kind: TemplateComponentKind::Body,
                sub_type: None,
                index: None,
                parameters,
            }]
        };
        ReplyContent::Template(TemplateMessage {
            name: t.name,
            language: t.language,
            components,
        })
    } else if let Some(id) = body.quick_reply_id {
        ReplyContent::QuickReply { id }
    } else {
        ReplyContent::Text {
            body: body.text.unwrap_or_default(),
            attachment_url: body.attachment_url,
        }
    };
    AgentReply {
        content,
        idempotency_key: body.idempotency_key,
    }
}

impl DeskState {
    pub(crate) async fn desk_heartbeat(&self, staff: &Staff) -> Result<User, ApiError> {
        self.desk
            .heartbeat(staff.workspace(), staff.user.id)
            .await?;
        self.app
            .store
            .user(staff.workspace(), staff.user.id)
            .await?
            .ok_or_else(|| ApiError::not_found("usuário"))
    }

    pub(crate) async fn desk_set_away(&self, staff: &Staff, away: bool) -> Result<User, ApiError> {
        Ok(self
            .desk
            .set_away(staff.workspace(), staff.user.id, away)
            .await?)
    }

    pub(crate) async fn desk_reply(
        &self,
        staff: &Staff,
        desk: &DeskConversation,
        body: ReplyBody,
    ) -> Result<Message, ApiError> {
        Ok(self
            .desk
            .reply(
                staff.workspace(),
                &staff.user,
                desk.conversation_id,
                agent_reply(body),
            )
            .await?)
    }

    pub(crate) async fn desk_note(
        &self,
        staff: &Staff,
        id: ConversationId,
        body: &str,
    ) -> Result<Note, ApiError> {
        Ok(self
            .desk
            .note(staff.workspace(), staff.user.id, id, body)
            .await?)
    }

    pub(crate) async fn desk_tag(
        &self,
        staff: &Staff,
        id: ConversationId,
        tag: &str,
        add: bool,
    ) -> Result<(), ApiError> {
        self.desk
            .tag(staff.workspace(), staff.user.id, id, tag, add)
            .await?;
        Ok(())
    }

    pub(crate) async fn desk_transfer(
        &self,
        staff: &Staff,
        id: ConversationId,
        to: TransferTarget,
        note: Option<&str>,
    ) -> Result<DeskConversation, ApiError> {
        Ok(self
            .desk
            .transfer(staff.workspace(), staff.user.id, id, to, note)
            .await?)
    }

    pub(crate) async fn desk_accept(
        &self,
        staff: &Staff,
        id: ConversationId,
    ) -> Result<DeskConversation, ApiError> {
        Ok(self
            .desk
            .accept(staff.workspace(), staff.user.id, id)
            .await?)
    }

    pub(crate) async fn desk_claim(
        &self,
        staff: &Staff,
        id: ConversationId,
    ) -> Result<DeskConversation, ApiError> {
        Ok(self
            .desk
            .claim(staff.workspace(), staff.user.id, id)
            .await?)
    }

    pub(crate) async fn desk_close(
        &self,
        staff: &Staff,
        id: ConversationId,
        resolution: &str,
    ) -> Result<DeskConversation, ApiError> {
        Ok(self
            .desk
            .close(staff.workspace(), staff.user.id, id, resolution)
            .await?)
    }

    pub(crate) async fn desk_reopen(
        &self,
        staff: &Staff,
        id: ConversationId,
    ) -> Result<DeskConversation, ApiError> {
        Ok(self
            .desk
            .reopen(staff.workspace(), staff.user.id, id)
            .await?)
    }

    pub(crate) async fn desk_mark_read(
        &self,
        staff: &Staff,
        id: ConversationId,
    ) -> Result<(), ApiError> {
        Ok(self.desk.mark_read(staff.workspace(), id).await?)
    }

    pub(crate) async fn desk_team_message(
        &self,
        staff: &Staff,
        body: &str,
    ) -> Result<TeamMessage, ApiError> {
        Ok(self
            .desk
            .team_message(staff.workspace(), staff.user.id, body)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk_api::TemplateReply;

    fn body() -> ReplyBody {
        ReplyBody {
            text: None,
            attachment_url: None,
            template: None,
            quick_reply_id: None,
            idempotency_key: None,
        }
    }

    #[test]
    fn a_template_wins_then_a_quick_reply_then_text() {
        let template = ReplyBody {
            text: Some("ignorado".into()),
            template: Some(TemplateReply {
                name: "retorno".into(),
                language: "pt_BR".into(),
                params: vec!["Ana".into()],
            }),
            ..body()
        };
        match agent_reply(template).content {
            ReplyContent::Template(t) => {
                assert_eq!(t.components[0].parameters.len(), 1);
                assert_eq!(t.language, "pt_BR");
            }
            other => panic!("{other:?}"),
        }
        let quick = ReplyBody {
            text: Some("ignorado".into()),
            quick_reply_id: Some(4),
            ..body()
        };
        assert_eq!(
            agent_reply(quick).content,
            ReplyContent::QuickReply { id: 4 }
        );
        let text = ReplyBody {
            text: Some("oi".into()),
            attachment_url: Some("https://x.com/a.pdf".into()),
            ..body()
        };
        assert_eq!(
            agent_reply(text).content,
            ReplyContent::Text {
                body: "oi".into(),
                attachment_url: Some("https://x.com/a.pdf".into())
            }
        );
        let bare = ReplyBody {
            template: Some(TemplateReply {
                name: "t".into(),
                language: "pt_BR".into(),
                params: vec![],
            }),
            ..body()
        };
        match agent_reply(bare).content {
            ReplyContent::Template(t) => assert!(t.components.is_empty()),
            other => panic!("{other:?}"),
        }
    }
}
