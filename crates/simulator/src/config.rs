//! What the simulator is told at start: credentials, business numbers, the template registry,
//! demo subscribers and the (run-time adjustable) behaviour.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Signs every webhook (`X-Hub-Signature-256`).
    pub app_secret: String,
    /// The only bearer token the fake Graph API accepts.
    pub access_token: String,
    /// The app's `POST /webhooks/whatsapp`.
    pub webhook_url: String,
    /// Business numbers; the first is the default for inbound messages.
    pub numbers: Vec<SimNumber>,
    pub templates: Vec<SimTemplate>,
    pub behaviour: Behaviour,
    /// Quick picks on the phone page; each is registered as a phone under its `wa_id` as written
    /// (use the 12-digit form to model an old account without the ninth digit).
    pub people: Vec<DemoPerson>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            app_secret: "simulator-app-secret".into(),
            access_token: "simulator-access-token".into(),
            webhook_url: "http://127.0.0.1:8080/webhooks/whatsapp".into(),
            numbers: vec![SimNumber {
                phone_number_id: "106540352242922".into(),
                display_phone_number: "15550783881".into(),
                waba_id: "102290129340398".into(),
                throughput_mps: 80,
            }],
            templates: Vec::new(),
            behaviour: Behaviour::default(),
            people: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimNumber {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub waba_id: String,
    /// Messages per second before 130429 (token bucket holding one second of burst).
    pub throughput_mps: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimTemplate {
    pub name: String,
    /// Translation code, e.g. `pt_BR`.
    pub language: String,
    /// `UTILITY`, `MARKETING` or `AUTHENTICATION`.
    pub category: String,
    /// `APPROVED` can be sent; `PAUSED` → 132015, `DISABLED` → 132016, anything else → 132001.
    pub status: String,
    pub header: Option<TemplateHeader>,
    /// Body with positional variables `{{1}}`, `{{2}}` …
    pub body: String,
    pub footer: Option<String>,
    pub buttons: Vec<TemplateButton>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TemplateHeader {
    /// May contain one variable `{{1}}`.
    Text(String),
    Document,
    Image,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TemplateButton {
    QuickReply {
        text: String,
    },
    /// `url` may end with a variable `{{1}}` filled by a `button`/`url` component.
    Url {
        text: String,
        url: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoPerson {
    pub name: String,
    pub wa_id: String,
    /// Shown next to the name on the phone page (e.g. "fatura vencida").
    pub note: String,
}

/// Knobs that make the fake behave like Meta on a bad day. Partial JSON updates are accepted by
/// `POST /simulator/api/behaviour`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Behaviour {
    /// Deliver every webhook (inbound and statuses) twice.
    pub duplicate_webhooks: bool,
    /// Emit each message's statuses newest first (read before delivered before sent).
    pub out_of_order_statuses: bool,
    /// The phone reads every delivered message at once.
    pub auto_read: bool,
    /// Most statuses in one webhook envelope (at least 1).
    pub status_batch_max: usize,
    /// Pause before each status batch, so statuses accumulate into batches.
    pub status_delay_ms: u64,
    /// Unknown recipients fail with 131026 instead of getting a phone.
    pub strict_recipients: bool,
    /// Fetch `link` media at send time; unreachable links fail with 131052.
    pub fetch_media_links: bool,
    /// Delivery attempts per status webhook, the first included (at least 1).
    pub retry_max_attempts: u32,
    /// Delay before the first retry; doubles on each further retry.
    pub retry_base_delay_ms: u64,
    /// Time the Graph API takes to answer a send, spent AFTER the message was accepted (Meta's
    /// answers take ~100–300 ms). A client that gives up or dies meanwhile has a message accepted
    /// without knowing it: the case the app reconciles from statuses.
    pub send_latency_ms: u64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            duplicate_webhooks: false,
            out_of_order_statuses: false,
            auto_read: false,
            status_batch_max: 10,
            status_delay_ms: 20,
            strict_recipients: false,
            fetch_media_links: false,
            retry_max_attempts: 6,
            retry_base_delay_ms: 500,
            send_latency_ms: 0,
        }
    }
}
