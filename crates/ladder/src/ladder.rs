//! A ladder: the steps of the "régua de cobrança", each a moment relative to the due date bound to
//! an approved WhatsApp template (category UTILITY) with its parameters and buttons.
//!
//! Two legal rules are enforced when a ladder is validated, so a workspace cannot save a ladder
//! that breaks them:
//! - **CDC art. 42-A**: every collection message identifies the supplier — each step's template
//!   carries [`Param::BusinessName`], [`Param::BusinessCnpj`] and [`Param::BusinessAddress`].
//! - **Anatel RGC (Res. 765/2023) arts. 70–71**: suspension for non-payment may only happen 15 days
//!   after a notice that states the reason, the deadline, the amount owed and how soon service
//!   returns after payment. A [`StepKind::SuspensionNotice`] step therefore carries
//!   [`Param::SuspensionReason`], [`Param::SuspensionDate`], [`Param::Amount`] and
//!   [`Param::RestorationTime`]; when the ladder knows when the provider suspends
//!   ([`Ladder::suspension_after_days`]) the notice must come at least
//!   [`SUSPENSION_NOTICE_MIN_DAYS`] days before it. The possible listing with credit-protection
//!   services (also in art. 71) is fixed text of the approved template, not a parameter.

use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Anatel RGC art. 70: the minimum number of days between the suspension notice and suspension.
pub const SUSPENSION_NOTICE_MIN_DAYS: i32 = 15;

/// Meta's limit on a template button's text.
pub const MAX_BUTTON_TITLE_CHARS: usize = 25;

/// Meta's limit on the buttons of one template.
pub const MAX_TEMPLATE_BUTTONS: usize = 10;

/// A value the engine fills into a template's body, in the order of [`TemplateRef::params`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Param {
    /// "João" (never the full name: the message may be read over a shoulder).
    CustomerFirstName,
    /// The amount owed now, "R$ 120,00" (fine and interest included when the system gives them).
    Amount,
    /// "10/12/2026".
    DueDate,
    /// Days past the due date, "3".
    DaysOverdue,
    /// The Pix "copia e cola" code.
    PixCode,
    /// The boleto's digitable line.
    BoletoLine,
    /// CDC art. 42-A: the supplier's name.
    BusinessName,
    /// CDC art. 42-A: the supplier's CNPJ, masked "11.222.333/0001-81".
    BusinessCnpj,
    /// CDC art. 42-A: the supplier's address.
    BusinessAddress,
    /// RGC art. 71: why service will be suspended ("falta de pagamento da fatura de 10/12/2026").
    SuspensionReason,
    /// RGC art. 71: the date service will be suspended if still unpaid (see [`Ladder::suspension_date`]).
    SuspensionDate,
    /// RGC art. 71: how soon service returns after payment ("em até 1 hora após a confirmação").
    RestorationTime,
}

impl Param {
    /// Every parameter, for UIs that let a provider pick them.
    pub const ALL: [Param; 12] = [
        Param::CustomerFirstName,
        Param::Amount,
        Param::DueDate,
        Param::DaysOverdue,
        Param::PixCode,
        Param::BoletoLine,
        Param::BusinessName,
        Param::BusinessCnpj,
        Param::BusinessAddress,
        Param::SuspensionReason,
        Param::SuspensionDate,
        Param::RestorationTime,
    ];

    /// What the parameter holds, as the provider reads it in the settings (pt-BR).
    pub fn label(self) -> &'static str {
        match self {
            Param::CustomerFirstName => "primeiro nome do assinante",
            Param::Amount => "valor devido",
            Param::DueDate => "data de vencimento",
            Param::DaysOverdue => "dias em atraso",
            Param::PixCode => "código Pix copia e cola",
            Param::BoletoLine => "linha digitável do boleto",
            Param::BusinessName => "nome da empresa",
            Param::BusinessCnpj => "CNPJ da empresa",
            Param::BusinessAddress => "endereço da empresa",
            Param::SuspensionReason => "motivo da suspensão",
            Param::SuspensionDate => "data da suspensão",
            Param::RestorationTime => "prazo de religação após o pagamento",
        }
    }
}

/// CDC art. 42-A: the parameters that identify the supplier in every collection message.
pub const BUSINESS_IDENTIFICATION: [Param; 3] = [
    Param::BusinessName,
    Param::BusinessCnpj,
    Param::BusinessAddress,
];

/// Anatel RGC art. 71: the content a suspension notice must carry.
pub const SUSPENSION_NOTICE_CONTENT: [Param; 4] = [
    Param::SuspensionReason,
    Param::SuspensionDate,
    Param::Amount,
    Param::RestorationTime,
];

/// What a template quick-reply button does when the subscriber taps it (the bot flows handle it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonAction {
    PayWithPix,
    ViewBoleto,
    Negotiate,
    AlreadyPaid,
    TalkToFinance,
    /// Opt-out of the ladder, honoured at once.
    StopReminders,
}

impl ButtonAction {
    /// The default button text (pt-BR, within Meta's 25 characters).
    pub fn default_title(self) -> &'static str {
        match self {
            ButtonAction::PayWithPix => "Pagar com Pix",
            ButtonAction::ViewBoleto => "Ver boleto",
            ButtonAction::Negotiate => "Negociar",
            ButtonAction::AlreadyPaid => "Já paguei",
            ButtonAction::TalkToFinance => "Falar com financeiro",
            ButtonAction::StopReminders => "Parar lembretes",
        }
    }

    /// A stable code for quick-reply payloads (`ladder:<code>:<invoice>`).
    pub fn code(self) -> &'static str {
        match self {
            ButtonAction::PayWithPix => "pix",
            ButtonAction::ViewBoleto => "boleto",
            ButtonAction::Negotiate => "negociar",
            ButtonAction::AlreadyPaid => "ja_paguei",
            ButtonAction::TalkToFinance => "financeiro",
            ButtonAction::StopReminders => "sair",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub action: ButtonAction,
    /// The text approved with the template.
    pub title: String,
}

impl Button {
    pub fn new(action: ButtonAction) -> Self {
        Button {
            action,
            title: action.default_title().to_owned(),
        }
    }
}

/// An approved WhatsApp template (UTILITY) and what the engine fills into it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    pub name: String,
    /// The approved translation's code, "pt_BR".
    pub language: String,
    /// Body parameters in order ({{1}}, {{2}}, ...).
    pub params: Vec<Param>,
    #[serde(default)]
    pub buttons: Vec<Button>,
}

/// The escalation a step represents; also the urgency used to pick one invoice per subscriber
/// per day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Informative,
    PaymentReady,
    LastCall,
    Overdue,
    Negotiation,
    LastNotice,
    SuspensionNotice,
}

impl StepKind {
    /// Higher is more urgent.
    pub fn urgency(self) -> u8 {
        self as u8
    }

    /// Warns of a suspension; pointless once the contract is suspended.
    pub fn warns_of_suspension(self) -> bool {
        matches!(self, StepKind::LastNotice | StepKind::SuspensionNotice)
    }

    pub fn label(self) -> &'static str {
        match self {
            StepKind::Informative => "lembrete",
            StepKind::PaymentReady => "pagamento pronto",
            StepKind::LastCall => "último dia",
            StepKind::Overdue => "em atraso",
            StepKind::Negotiation => "negociação",
            StepKind::LastNotice => "último aviso",
            StepKind::SuspensionNotice => "aviso de suspensão",
        }
    }
}

/// One arm of an A/B test: another approved template with the same parameters and buttons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub template: String,
    /// Relative share of sends (70 and 30 split 70/30).
    pub weight: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Unique within the workspace's ladders for the same moment ("d-5"): each (invoice, key) is
    /// sent at most once, so segment ladders should reuse a key for the same moment.
    pub key: String,
    /// Days relative to the due date: −5 is five days before, 3 is three days late.
    pub offset_days: i32,
    pub kind: StepKind,
    pub template: TemplateRef,
    /// A/B arms; empty means everyone gets [`Step::template`]. When present, every send goes to
    /// one of them (list the base template as an arm to keep it in the test).
    #[serde(default)]
    pub variants: Vec<Variant>,
}

impl Step {
    /// The A/B arm for an invoice: deterministic in (invoice, step key), so a re-plan after a
    /// restart picks the same arm, and spread across arms in proportion to their weights.
    /// `None` when the step has no variants (or none with weight).
    pub fn choose_variant(&self, invoice_id: &str) -> Option<&Variant> {
        let total: u64 = self.variants.iter().map(|v| u64::from(v.weight)).sum();
        if total == 0 {
            return None;
        }
        let mut pick = split_hash(invoice_id, &self.key) % total;
        for variant in &self.variants {
            let weight = u64::from(variant.weight);
            if pick < weight {
                return Some(variant);
            }
            pick -= weight;
        }
        None
    }

    /// The template to send to this invoice: its A/B arm's, else the step's own.
    pub fn template_for(&self, invoice_id: &str) -> &str {
        self.choose_variant(invoice_id)
            .map_or(self.template.name.as_str(), |v| v.template.as_str())
    }
}

/// A stable 64-bit hash of (invoice, step) for the A/B split. Hand-written (FNV-1a and a
/// SplitMix64 finaliser) because std's hasher may change between Rust releases, and a split must
/// not move when the binary is upgraded.
pub fn split_hash(invoice_id: &str, step_key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    invoice_id.bytes().for_each(&mut eat);
    eat(0xff); // not UTF-8: "ab"+"c" and "a"+"bc" hash apart
    step_key.bytes().for_each(&mut eat);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

fn default_last_step_grace_days() -> u32 {
    5
}

/// The steps of one ladder, sorted by offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ladder {
    pub steps: Vec<Step>,
    /// A step stays current until the next one becomes due; the last one for this many more days
    /// (a missed run can still send it), after which the ladder is over for that invoice.
    #[serde(default = "default_last_step_grace_days")]
    pub last_step_grace_days: u32,
    /// When the provider suspends for non-payment, in days after the due date. Fills
    /// [`Param::SuspensionDate`] and is checked against RGC art. 70.
    #[serde(default)]
    pub suspension_after_days: Option<u32>,
}

/// Why a ladder cannot be saved. Shown to the provider as is (pt-BR).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LadderError {
    #[error("a régua precisa de pelo menos uma etapa")]
    NoSteps,
    #[error(
        "identificador de etapa inválido na posição {index}: {key:?} (use de 1 a 32 letras minúsculas, números, +, - ou _)"
    )]
    InvalidKey { index: usize, key: String },
    #[error(
        "o identificador de etapa {0:?} é reservado (agradecimento, religação e descadastro usam esse nome)"
    )]
    ReservedKey(String),
    #[error("o identificador de etapa {0:?} aparece mais de uma vez")]
    DuplicateKey(String),
    #[error(
        "as etapas devem estar em ordem de dia, sem repetir o dia: {key:?} ({offset}) vem depois de {previous:?} ({previous_offset})"
    )]
    OffsetsNotIncreasing {
        key: String,
        offset: i32,
        previous: String,
        previous_offset: i32,
    },
    #[error(
        "nome de modelo inválido na etapa {key:?}: {name:?} (use letras minúsculas, números e _)"
    )]
    InvalidTemplateName { key: String, name: String },
    #[error("a etapa {key:?} está sem idioma do modelo (ex.: pt_BR)")]
    EmptyLanguage { key: String },
    #[error(
        "a etapa {key:?} não identifica a empresa (CDC art. 42-A): falta o parâmetro \"{}\"", missing.label()
    )]
    MissingBusinessIdentification { key: String, missing: Param },
    #[error(
        "o aviso de suspensão {key:?} não traz o que a Anatel exige (RGC art. 71): falta o parâmetro \"{}\"", missing.label()
    )]
    IncompleteSuspensionNotice { key: String, missing: Param },
    #[error(
        "o aviso de suspensão {key:?} (dia {offset}) precisa sair pelo menos 15 dias antes da suspensão (dia {suspension_after_days}), RGC art. 70"
    )]
    SuspensionNoticeTooLate {
        key: String,
        offset: i32,
        suspension_after_days: u32,
    },
    #[error("a etapa {key:?} tem mais de 10 botões")]
    TooManyButtons { key: String },
    #[error("botão inválido na etapa {key:?}: {title:?} (de 1 a 25 caracteres)")]
    ButtonTitle { key: String, title: String },
    #[error("a variante {template:?} da etapa {key:?} precisa de peso maior que zero")]
    ZeroWeight { key: String, template: String },
    #[error("a última etapa precisa valer por pelo menos 1 dia")]
    NoGrace,
}

/// Keys the engine uses for its own ladder messages (`ladder:thanks:<invoice>`…): a step named
/// so would be taken for them.
pub const RESERVED_STEP_KEYS: [&str; 3] = ["thanks", "restored", "optout"];

/// Step keys end up in idempotency keys (`ladder:<step>:<invoice>`), so no ':' or spaces.
fn valid_step_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 32
        && key.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'_')
        })
}

/// Meta's rule for template names: lowercase letters, digits and underscores, up to 512.
fn valid_template_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Ladder {
    /// Checks every rule in the module docs; the first broken one is returned.
    pub fn validate(&self) -> Result<(), LadderError> {
        if self.steps.is_empty() {
            return Err(LadderError::NoSteps);
        }
        if self.last_step_grace_days == 0 {
            return Err(LadderError::NoGrace);
        }
        for (index, step) in self.steps.iter().enumerate() {
            if !valid_step_key(&step.key) {
                return Err(LadderError::InvalidKey {
                    index,
                    key: step.key.clone(),
                });
            }
            if RESERVED_STEP_KEYS.contains(&step.key.as_str()) {
                return Err(LadderError::ReservedKey(step.key.clone()));
            }
            if self.steps[..index].iter().any(|s| s.key == step.key) {
                return Err(LadderError::DuplicateKey(step.key.clone()));
            }
            if let Some(previous) = index.checked_sub(1).map(|i| &self.steps[i])
                && previous.offset_days >= step.offset_days
            {
                return Err(LadderError::OffsetsNotIncreasing {
                    key: step.key.clone(),
                    offset: step.offset_days,
                    previous: previous.key.clone(),
                    previous_offset: previous.offset_days,
                });
            }
            validate_step(step, self.suspension_after_days)?;
        }
        Ok(())
    }

    pub fn step(&self, key: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.key == key)
    }

    /// The date to put in [`Param::SuspensionDate`] for a notice sent on `notice_day`: the
    /// provider's usual day, moved later when a late notice would leave fewer than 15 days
    /// (RGC art. 70). `None` when the ladder does not know when the provider suspends.
    pub fn suspension_date(&self, due: Date, notice_day: Date) -> Option<Date> {
        let usual = due
            .checked_add(i64::from(self.suspension_after_days?).days())
            .ok()?;
        let earliest = notice_day
            .checked_add(SUSPENSION_NOTICE_MIN_DAYS.days())
            .ok()?;
        Some(usual.max(earliest))
    }

    /// The default ladder: D-5 informative, D-2 with Pix and boleto, D0 last call, D+1 overdue,
    /// D+3 negotiation, D+7 last notice, D+10 suspension notice (valid until D+15), suspension at
    /// D+25. Template names are the ones `balcao` registers with Meta (pt_BR, UTILITY).
    pub fn default_pt_br() -> Ladder {
        use ButtonAction::*;
        use Param::*;
        use StepKind::*;
        let business = [BusinessName, BusinessCnpj, BusinessAddress];
        Ladder {
            steps: vec![
                step(
                    "d-5",
                    -5,
                    Informative,
                    "cobranca_lembrete_d5",
                    &[CustomerFirstName, Amount, DueDate],
                    &business,
                    &[ViewBoleto, TalkToFinance, StopReminders],
                ),
                step(
                    "d-2",
                    -2,
                    PaymentReady,
                    "cobranca_pagamento_d2",
                    &[CustomerFirstName, Amount, DueDate, PixCode, BoletoLine],
                    &business,
                    &[PayWithPix, ViewBoleto, AlreadyPaid, StopReminders],
                ),
                step(
                    "d0",
                    0,
                    LastCall,
                    "cobranca_vence_hoje",
                    &[CustomerFirstName, Amount, PixCode, BoletoLine],
                    &business,
                    &[PayWithPix, ViewBoleto, AlreadyPaid, StopReminders],
                ),
                step(
                    "d+1",
                    1,
                    Overdue,
                    "cobranca_atraso_d1",
                    &[CustomerFirstName, Amount, DueDate, PixCode],
                    &business,
                    &[
                        PayWithPix,
                        ViewBoleto,
                        AlreadyPaid,
                        TalkToFinance,
                        StopReminders,
                    ],
                ),
                step(
                    "d+3",
                    3,
                    Negotiation,
                    "cobranca_negociacao_d3",
                    &[CustomerFirstName, Amount, DaysOverdue],
                    &business,
                    &[
                        Negotiate,
                        PayWithPix,
                        ViewBoleto,
                        AlreadyPaid,
                        TalkToFinance,
                        StopReminders,
                    ],
                ),
                step(
                    "d+7",
                    7,
                    LastNotice,
                    "cobranca_ultimo_aviso_d7",
                    &[CustomerFirstName, Amount, DueDate, DaysOverdue, PixCode],
                    &business,
                    &[
                        PayWithPix,
                        Negotiate,
                        AlreadyPaid,
                        TalkToFinance,
                        StopReminders,
                    ],
                ),
                suspension_notice_step(),
            ],
            last_step_grace_days: default_last_step_grace_days(),
            suspension_after_days: Some(25),
        }
    }

    /// The softer, shorter ladder for good payers (no late payment in 12 months): D-2 with the
    /// payment ready, D+1, D+7 and the same legally required suspension notice at D+10. Keys match
    /// the default ladder so an invoice moving between segments is never sent a moment twice.
    pub fn good_payer_pt_br() -> Ladder {
        use ButtonAction::*;
        use Param::*;
        use StepKind::*;
        let business = [BusinessName, BusinessCnpj, BusinessAddress];
        Ladder {
            steps: vec![
                step(
                    "d-2",
                    -2,
                    PaymentReady,
                    "cobranca_bom_pagador_d2",
                    &[CustomerFirstName, Amount, DueDate, PixCode, BoletoLine],
                    &business,
                    &[PayWithPix, ViewBoleto, StopReminders],
                ),
                step(
                    "d+1",
                    1,
                    Overdue,
                    "cobranca_bom_pagador_d1",
                    &[CustomerFirstName, Amount, DueDate, PixCode],
                    &business,
                    &[PayWithPix, ViewBoleto, AlreadyPaid, StopReminders],
                ),
                step(
                    "d+7",
                    7,
                    LastNotice,
                    "cobranca_bom_pagador_d7",
                    &[CustomerFirstName, Amount, DueDate, DaysOverdue, PixCode],
                    &business,
                    &[PayWithPix, Negotiate, AlreadyPaid, TalkToFinance],
                ),
                suspension_notice_step(),
            ],
            last_step_grace_days: default_last_step_grace_days(),
            suspension_after_days: Some(25),
        }
    }
}

/// RGC art. 71's notice. No "stop" button: the notice is what makes a suspension lawful (a
/// subscriber who opted out must be notified by the provider through another channel).
fn suspension_notice_step() -> Step {
    use ButtonAction::*;
    use Param::*;
    step(
        "d+10",
        10,
        StepKind::SuspensionNotice,
        "cobranca_aviso_suspensao",
        &[
            CustomerFirstName,
            SuspensionReason,
            Amount,
            DueDate,
            SuspensionDate,
            RestorationTime,
            PixCode,
        ],
        &[BusinessName, BusinessCnpj, BusinessAddress],
        &[PayWithPix, Negotiate, AlreadyPaid, TalkToFinance],
    )
}

fn step(
    key: &str,
    offset_days: i32,
    kind: StepKind,
    template: &str,
    params: &[Param],
    business: &[Param],
    buttons: &[ButtonAction],
) -> Step {
    Step {
        key: key.to_owned(),
        offset_days,
        kind,
        template: TemplateRef {
            name: template.to_owned(),
            language: "pt_BR".to_owned(),
            params: params.iter().chain(business).copied().collect(),
            buttons: buttons.iter().map(|&a| Button::new(a)).collect(),
        },
        variants: Vec::new(),
    }
}

fn validate_step(step: &Step, suspension_after_days: Option<u32>) -> Result<(), LadderError> {
    let key = || step.key.clone();
    let template = &step.template;
    if !valid_template_name(&template.name) {
        return Err(LadderError::InvalidTemplateName {
            key: key(),
            name: template.name.clone(),
        });
    }
    if template.language.trim().is_empty() {
        return Err(LadderError::EmptyLanguage { key: key() });
    }
    if let Some(&missing) = BUSINESS_IDENTIFICATION
        .iter()
        .find(|p| !template.params.contains(p))
    {
        return Err(LadderError::MissingBusinessIdentification {
            key: key(),
            missing,
        });
    }
    if step.kind == StepKind::SuspensionNotice {
        if let Some(&missing) = SUSPENSION_NOTICE_CONTENT
            .iter()
            .find(|p| !template.params.contains(p))
        {
            return Err(LadderError::IncompleteSuspensionNotice {
                key: key(),
                missing,
            });
        }
        if let Some(days) = suspension_after_days
            && i64::from(step.offset_days) + i64::from(SUSPENSION_NOTICE_MIN_DAYS) > i64::from(days)
        {
            return Err(LadderError::SuspensionNoticeTooLate {
                key: key(),
                offset: step.offset_days,
                suspension_after_days: days,
            });
        }
    }
    if template.buttons.len() > MAX_TEMPLATE_BUTTONS {
        return Err(LadderError::TooManyButtons { key: key() });
    }
    if let Some(button) = template.buttons.iter().find(|b| {
        let n = b.title.trim().chars().count();
        n == 0 || n > MAX_BUTTON_TITLE_CHARS
    }) {
        return Err(LadderError::ButtonTitle {
            key: key(),
            title: button.title.clone(),
        });
    }
    for variant in &step.variants {
        if !valid_template_name(&variant.template) {
            return Err(LadderError::InvalidTemplateName {
                key: key(),
                name: variant.template.clone(),
            });
        }
        if variant.weight == 0 {
            return Err(LadderError::ZeroWeight {
                key: key(),
                template: variant.template.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn keys(ladder: &Ladder) -> Vec<(&str, i32, StepKind)> {
        ladder
            .steps
            .iter()
            .map(|s| (s.key.as_str(), s.offset_days, s.kind))
            .collect()
    }

    #[test]
    fn default_ladder_steps() {
        let ladder = Ladder::default_pt_br();
        ladder.validate().unwrap();
        assert_eq!(
            keys(&ladder),
            vec![
                ("d-5", -5, StepKind::Informative),
                ("d-2", -2, StepKind::PaymentReady),
                ("d0", 0, StepKind::LastCall),
                ("d+1", 1, StepKind::Overdue),
                ("d+3", 3, StepKind::Negotiation),
                ("d+7", 7, StepKind::LastNotice),
                ("d+10", 10, StepKind::SuspensionNotice),
            ]
        );
        let d2 = ladder.step("d-2").unwrap();
        assert!(d2.template.params.contains(&Param::PixCode));
        assert!(d2.template.params.contains(&Param::BoletoLine));
        let actions: Vec<_> = d2.template.buttons.iter().map(|b| b.action).collect();
        assert!(actions.contains(&ButtonAction::PayWithPix));
        assert!(actions.contains(&ButtonAction::ViewBoleto));
        let d3 = ladder.step("d+3").unwrap();
        assert_eq!(d3.template.buttons[0].action, ButtonAction::Negotiate);
        assert_eq!(d3.template.buttons[0].title, "Negociar");
        assert!(ladder.steps.iter().all(|s| s.template.language == "pt_BR"));
    }

    #[test]
    fn every_default_step_identifies_the_business() {
        for ladder in [Ladder::default_pt_br(), Ladder::good_payer_pt_br()] {
            for step in &ladder.steps {
                for p in BUSINESS_IDENTIFICATION {
                    assert!(
                        step.template.params.contains(&p),
                        "{} lacks {p:?}",
                        step.key
                    );
                }
            }
        }
    }

    #[test]
    fn suspension_notice_carries_rgc_art_71_content() {
        let ladder = Ladder::default_pt_br();
        let notice = ladder.step("d+10").unwrap();
        for p in SUSPENSION_NOTICE_CONTENT {
            assert!(notice.template.params.contains(&p), "missing {p:?}");
        }
        assert!(
            !notice
                .template
                .buttons
                .iter()
                .any(|b| b.action == ButtonAction::StopReminders)
        );
        assert!(
            i64::from(notice.offset_days) + 15 <= i64::from(ladder.suspension_after_days.unwrap())
        );
    }

    #[test]
    fn good_payer_ladder_is_shorter_and_valid() {
        let soft = Ladder::good_payer_pt_br();
        soft.validate().unwrap();
        assert!(soft.steps.len() < Ladder::default_pt_br().steps.len());
        assert_eq!(soft.steps.last().unwrap().kind, StepKind::SuspensionNotice);
    }

    #[test]
    fn validation_rejects_duplicate_keys() {
        let mut ladder = Ladder::default_pt_br();
        ladder.steps[1].key = "d-5".into();
        assert_eq!(
            ladder.validate(),
            Err(LadderError::DuplicateKey("d-5".into()))
        );
    }

    #[test]
    fn validation_rejects_unsorted_or_repeated_offsets() {
        let mut ladder = Ladder::default_pt_br();
        ladder.steps.swap(0, 1);
        assert!(matches!(
            ladder.validate(),
            Err(LadderError::OffsetsNotIncreasing { .. })
        ));
        let mut ladder = Ladder::default_pt_br();
        ladder.steps[1].offset_days = -5;
        let err = ladder.validate().unwrap_err();
        assert!(matches!(err, LadderError::OffsetsNotIncreasing { .. }));
        assert!(err.to_string().contains("em ordem de dia"));
    }

    #[test]
    fn validation_requires_business_identification() {
        let mut ladder = Ladder::default_pt_br();
        ladder.steps[2]
            .template
            .params
            .retain(|p| *p != Param::BusinessCnpj);
        let err = ladder.validate().unwrap_err();
        assert_eq!(
            err,
            LadderError::MissingBusinessIdentification {
                key: "d0".into(),
                missing: Param::BusinessCnpj
            }
        );
        assert!(err.to_string().contains("CDC art. 42-A"));
    }

    #[test]
    fn validation_requires_suspension_notice_content() {
        let mut ladder = Ladder::default_pt_br();
        let notice = ladder.steps.last_mut().unwrap();
        notice
            .template
            .params
            .retain(|p| *p != Param::RestorationTime);
        assert_eq!(
            ladder.validate(),
            Err(LadderError::IncompleteSuspensionNotice {
                key: "d+10".into(),
                missing: Param::RestorationTime
            })
        );
    }

    #[test]
    fn suspension_notice_must_come_15_days_before_suspension() {
        let mut ladder = Ladder::default_pt_br();
        ladder.suspension_after_days = Some(24);
        assert_eq!(
            ladder.validate(),
            Err(LadderError::SuspensionNoticeTooLate {
                key: "d+10".into(),
                offset: 10,
                suspension_after_days: 24
            })
        );
        ladder.suspension_after_days = Some(25);
        assert_eq!(ladder.validate(), Ok(()));
        // Without a configured suspension day there is nothing to check against.
        ladder.suspension_after_days = None;
        ladder.steps.last_mut().unwrap().offset_days = 40;
        assert_eq!(ladder.validate(), Ok(()));
    }

    #[test]
    fn validation_of_templates_buttons_and_variants() {
        let mut ladder = Ladder::default_pt_br();
        ladder.steps[0].template.name = "Lembrete D5".into();
        assert!(matches!(
            ladder.validate(),
            Err(LadderError::InvalidTemplateName { .. })
        ));
        let mut ladder = Ladder::default_pt_br();
        ladder.steps[0].template.buttons[0].title = "Um texto longo demais para botão".into();
        assert!(matches!(
            ladder.validate(),
            Err(LadderError::ButtonTitle { .. })
        ));
        let mut ladder = Ladder::default_pt_br();
        ladder.steps[0].variants = vec![Variant {
            template: "cobranca_lembrete_d5_b".into(),
            weight: 0,
        }];
        assert!(matches!(
            ladder.validate(),
            Err(LadderError::ZeroWeight { .. })
        ));
        let mut ladder = Ladder::default_pt_br();
        ladder.steps[0].key = "d:5".into();
        assert!(matches!(
            ladder.validate(),
            Err(LadderError::InvalidKey { index: 0, .. })
        ));
        let mut ladder = Ladder::default_pt_br();
        ladder.steps.clear();
        assert_eq!(ladder.validate(), Err(LadderError::NoSteps));
    }

    #[test]
    fn late_notice_pushes_the_suspension_date() {
        let ladder = Ladder::default_pt_br();
        let due = date(2026, 11, 10);
        // On time (D+10): the provider's usual D+25.
        assert_eq!(
            ladder.suspension_date(due, date(2026, 11, 20)),
            Some(date(2026, 12, 5))
        );
        // Caught up at D+14: at least 15 days after the notice.
        assert_eq!(
            ladder.suspension_date(due, date(2026, 11, 24)),
            Some(date(2026, 12, 9))
        );
        let unknown = Ladder {
            suspension_after_days: None,
            ..ladder
        };
        assert_eq!(unknown.suspension_date(due, date(2026, 11, 20)), None);
    }

    #[test]
    fn variant_choice_is_deterministic_and_follows_weights() {
        let mut step = Ladder::default_pt_br().steps.remove(1);
        assert_eq!(step.choose_variant("inv-1"), None);
        assert_eq!(step.template_for("inv-1"), "cobranca_pagamento_d2");
        step.variants = vec![
            Variant {
                template: "cobranca_pagamento_d2".into(),
                weight: 70,
            },
            Variant {
                template: "cobranca_pagamento_d2_curto".into(),
                weight: 30,
            },
        ];
        let n = 20_000;
        let short = (0..n)
            .filter(|i| step.template_for(&format!("inv-{i}")) == "cobranca_pagamento_d2_curto")
            .count();
        let share = short as f64 / n as f64;
        assert!((share - 0.30).abs() < 0.02, "share {share}");
        for i in 0..100 {
            let id = format!("inv-{i}");
            assert_eq!(step.choose_variant(&id), step.choose_variant(&id));
        }
        // The split is per step: the same invoice is not locked into "arm 1" everywhere.
        assert_ne!(split_hash("inv-1", "d-2"), split_hash("inv-1", "d0"));
        assert_ne!(split_hash("ab", "c"), split_hash("a", "bc"));
    }

    #[test]
    fn split_hash_is_stable_across_releases() {
        // Pinned: changing the hash would move every running A/B test's subscribers.
        // Value computed independently from the FNV-1a + SplitMix64 definition.
        assert_eq!(split_hash("inv-42", "d+3"), 0x46ea_9d1f_bc94_105b);
    }

    #[test]
    fn ladder_serde_round_trip_with_defaults() {
        let ladder = Ladder::default_pt_br();
        let json = serde_json::to_string(&ladder).unwrap();
        let back: Ladder = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ladder);
        let minimal: Ladder = serde_json::from_str(
            r#"{"steps":[{"key":"d0","offset_days":0,"kind":"last_call",
                "template":{"name":"x","language":"pt_BR","params":["business_name","business_cnpj","business_address"]}}]}"#,
        )
        .unwrap();
        assert_eq!(minimal.last_step_grace_days, 5);
        assert_eq!(minimal.suspension_after_days, None);
        minimal.validate().unwrap();
    }

    #[test]
    fn the_engine_s_own_keys_cannot_name_a_step() {
        for reserved in RESERVED_STEP_KEYS {
            let mut ladder = Ladder::default_pt_br();
            ladder.steps[0].key = reserved.to_owned();
            assert_eq!(
                ladder.validate(),
                Err(LadderError::ReservedKey(reserved.to_owned()))
            );
        }
    }
}
