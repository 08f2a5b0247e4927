//! When a proactive billing message may be sent: weekly intervals in the subscriber's time zone,
//! minus the national and provider holidays. The default, Mon–Fri 08:00–18:00, is the strictest
//! state rule (Ceará Lei 16.836/2019 names WhatsApp explicitly) and so is safe everywhere.
//! Intervals are half-open: 17:59:59 is allowed, 18:00 is not.

use balcao_domain::br::holidays::HolidayCalendar;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How far ahead [`LegalHours::next_window`] looks before giving up (a calendar of custom holidays
/// could close every day).
pub const MAX_SEARCH_DAYS: i32 = 400;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// A time of day to the minute, "08:00"; "24:00" is the end of the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClockTime(u16);

impl ClockTime {
    pub const MIDNIGHT: ClockTime = ClockTime(0);
    pub const END_OF_DAY: ClockTime = ClockTime(MINUTES_PER_DAY);

    pub fn new(hour: u8, minute: u8) -> Result<Self, LegalHoursError> {
        let minutes = u16::from(hour) * 60 + u16::from(minute);
        if minute >= 60 || minutes > MINUTES_PER_DAY {
            return Err(LegalHoursError::BadTime(format!("{hour:02}:{minute:02}")));
        }
        Ok(ClockTime(minutes))
    }

    pub fn minutes(self) -> u16 {
        self.0
    }

    /// "HH:MM" with 00 ≤ HH ≤ 24.
    pub fn parse(text: &str) -> Result<Self, LegalHoursError> {
        let bad = || LegalHoursError::BadTime(text.to_owned());
        let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        let hour: u8 = h.parse().map_err(|_| bad())?;
        let minute: u8 = m.parse().map_err(|_| bad())?;
        ClockTime::new(hour, minute).map_err(|_| bad())
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl TryFrom<String> for ClockTime {
    type Error = LegalHoursError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ClockTime::parse(&s)
    }
}

impl From<ClockTime> for String {
    fn from(t: ClockTime) -> String {
        t.to_string()
    }
}

/// One weekly opening, `start` (inclusive) to `end` (exclusive) on `weekday`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyInterval {
    #[serde(with = "weekday_name")]
    pub weekday: Weekday,
    pub start: ClockTime,
    pub end: ClockTime,
}

/// An IANA time zone known to the bundled database, kept with its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    pub fn get(name: &str) -> Result<Self, LegalHoursError> {
        let tz =
            TimeZone::get(name).map_err(|_| LegalHoursError::UnknownTimeZone(name.to_owned()))?;
        Ok(Zone {
            name: name.to_owned(),
            tz,
        })
    }

    pub fn sao_paulo() -> Self {
        Zone::get("America/Sao_Paulo").expect("bundled tz database has America/Sao_Paulo")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }
}

impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Zone::get(&name).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LegalHoursError {
    #[error("horário inválido: {0:?} (use HH:MM, de 00:00 a 24:00)")]
    BadTime(String),
    #[error("fuso horário desconhecido: {0:?} (use um nome IANA, ex.: America/Sao_Paulo)")]
    UnknownTimeZone(String),
    #[error("informe pelo menos um horário permitido na semana")]
    NoIntervals,
    #[error("horário permitido vazio ou invertido: {start} a {end}")]
    EmptyInterval { start: ClockTime, end: ClockTime },
}

/// The raw, serialisable form of [`LegalHours`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalHoursConfig {
    pub intervals: Vec<WeeklyInterval>,
    #[serde(default)]
    pub holidays: HolidayCalendar,
    /// For subscribers whose time zone is unknown.
    pub time_zone: Zone,
}

/// A validated legal-hours rule. Build it with [`LegalHours::new`] (or deserialise it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LegalHoursConfig", into = "LegalHoursConfig")]
pub struct LegalHours {
    config: LegalHoursConfig,
    /// Per weekday (Monday = 0), sorted and merged (start, end) minutes, so "08–12, 12–18" is one
    /// window ending at 18:00.
    merged: [Vec<(u16, u16)>; 7],
}

/// A span of allowed time: `start` inclusive, `end` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LegalWindow {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Why a moment is outside legal hours, for people reading a preview (pt-BR).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClosedBecause {
    Holiday(String),
    /// No interval on that weekday (weekends by default).
    ClosedWeekday(Weekday),
    OutsideHours,
}

impl fmt::Display for ClosedBecause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClosedBecause::Holiday(name) => write!(f, "feriado ({name})"),
            ClosedBecause::ClosedWeekday(day) => {
                write!(f, "sem envios de cobrança em {}", weekday_pt(*day))
            }
            ClosedBecause::OutsideHours => f.write_str("fora do horário permitido"),
        }
    }
}

fn weekday_pt(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "segunda-feira",
        Weekday::Tuesday => "terça-feira",
        Weekday::Wednesday => "quarta-feira",
        Weekday::Thursday => "quinta-feira",
        Weekday::Friday => "sexta-feira",
        Weekday::Saturday => "sábado",
        Weekday::Sunday => "domingo",
    }
}

impl TryFrom<LegalHoursConfig> for LegalHours {
    type Error = LegalHoursError;
    fn try_from(config: LegalHoursConfig) -> Result<Self, Self::Error> {
        if config.intervals.is_empty() {
            return Err(LegalHoursError::NoIntervals);
        }
        let mut merged: [Vec<(u16, u16)>; 7] = Default::default();
        for interval in &config.intervals {
            if interval.start >= interval.end {
                return Err(LegalHoursError::EmptyInterval {
                    start: interval.start,
                    end: interval.end,
                });
            }
            merged[weekday_index(interval.weekday)]
                .push((interval.start.minutes(), interval.end.minutes()));
        }
        for day in &mut merged {
            day.sort_unstable();
            let mut out: Vec<(u16, u16)> = Vec::with_capacity(day.len());
            for &(start, end) in day.iter() {
                match out.last_mut() {
                    Some(last) if start <= last.1 => last.1 = last.1.max(end),
                    _ => out.push((start, end)),
                }
            }
            *day = out;
        }
        Ok(LegalHours { config, merged })
    }
}

impl From<LegalHours> for LegalHoursConfig {
    fn from(hours: LegalHours) -> Self {
        hours.config
    }
}

impl Default for LegalHours {
    /// Mon–Fri 08:00–18:00, national holidays, America/Sao_Paulo.
    fn default() -> Self {
        LegalHours::weekdays(
            ClockTime(8 * 60),
            ClockTime(18 * 60),
            HolidayCalendar::default(),
            Zone::sao_paulo(),
        )
    }
}

impl LegalHours {
    pub fn new(
        intervals: Vec<WeeklyInterval>,
        holidays: HolidayCalendar,
        time_zone: Zone,
    ) -> Result<Self, LegalHoursError> {
        LegalHours::try_from(LegalHoursConfig {
            intervals,
            holidays,
            time_zone,
        })
    }

    /// Monday to Friday, the same hours each day. Panics if `start >= end`.
    pub fn weekdays(
        start: ClockTime,
        end: ClockTime,
        holidays: HolidayCalendar,
        time_zone: Zone,
    ) -> Self {
        let intervals = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ]
        .into_iter()
        .map(|weekday| WeeklyInterval {
            weekday,
            start,
            end,
        })
        .collect();
        LegalHours::new(intervals, holidays, time_zone).expect("start < end")
    }

    pub fn config(&self) -> &LegalHoursConfig {
        &self.config
    }

    pub fn holidays(&self) -> &HolidayCalendar {
        &self.config.holidays
    }

    /// The workspace's time zone, used when a subscriber's is unknown.
    pub fn time_zone(&self) -> &Zone {
        &self.config.time_zone
    }

    /// May a billing message go out at `at` to a subscriber in `tz`?
    pub fn allowed(&self, at: Timestamp, tz: &TimeZone) -> bool {
        self.closed_because(at, tz).is_none()
    }

    /// Why `at` is not allowed in `tz`; `None` when it is.
    pub fn closed_because(&self, at: Timestamp, tz: &TimeZone) -> Option<ClosedBecause> {
        let local = tz.to_datetime(at);
        let date = local.date();
        let day = &self.merged[weekday_index(date.weekday())];
        if day.is_empty() {
            return Some(ClosedBecause::ClosedWeekday(date.weekday()));
        }
        let second = second_of_day(local);
        if !day
            .iter()
            .any(|&(s, e)| second >= u32::from(s) * 60 && second < u32::from(e) * 60)
        {
            return Some(ClosedBecause::OutsideHours);
        }
        self.config
            .holidays
            .holiday(date)
            .map(ClosedBecause::Holiday)
    }

    /// The first allowed moment at or after `at` in `tz` (`at` itself when allowed). `None` when
    /// nothing is allowed within [`MAX_SEARCH_DAYS`].
    pub fn next_allowed(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        self.next_window(at, tz).map(|w| w.start)
    }

    /// The allowed window containing `at` (its start moved to `at`), else the next one.
    pub fn next_window(&self, at: Timestamp, tz: &TimeZone) -> Option<LegalWindow> {
        let local = tz.to_datetime(at);
        let today = local.date();
        let now_second = second_of_day(local);
        for offset in 0..=MAX_SEARCH_DAYS {
            let date = today.checked_add(offset.days()).ok()?;
            let day = &self.merged[weekday_index(date.weekday())];
            // Checked only on days with hours: the calendar look-up is the costly part.
            let open = day
                .iter()
                .filter(|&&(_, end)| offset > 0 || now_second < u32::from(end) * 60);
            let mut open = open.peekable();
            if open.peek().is_none() || self.config.holidays.is_holiday(date) {
                continue;
            }
            let &(start, end) = open.next()?;
            let start_ts = if offset == 0 && now_second >= u32::from(start) * 60 {
                at
            } else {
                local_timestamp(date, start, tz)?
            };
            return Some(LegalWindow {
                start: start_ts,
                end: local_timestamp(date, end, tz)?,
            });
        }
        None
    }
}

fn second_of_day(local: DateTime) -> u32 {
    u32::from(local.hour() as u8) * 3600
        + u32::from(local.minute() as u8) * 60
        + u32::from(local.second() as u8)
}

fn weekday_index(day: Weekday) -> usize {
    usize::from(day.to_monday_zero_offset() as u8)
}

/// `minutes` after local midnight of `date` (1440 = the next midnight), in `tz`. A local time
/// skipped by a DST change resolves to the instant after the gap, as jiff's "compatible" rule does.
fn local_timestamp(date: Date, minutes: u16, tz: &TimeZone) -> Option<Timestamp> {
    let (date, minutes) = if minutes >= MINUTES_PER_DAY {
        (date.tomorrow().ok()?, minutes - MINUTES_PER_DAY)
    } else {
        (date, minutes)
    };
    let dt = date.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0);
    tz.to_ambiguous_timestamp(dt).compatible().ok()
}

mod weekday_name {
    use jiff::civil::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    const NAMES: [(&str, Weekday); 7] = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];

    pub fn serialize<S: Serializer>(day: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        let name = NAMES.iter().find(|(_, d)| d == day).map(|(n, _)| *n);
        s.serialize_str(name.unwrap_or("monday"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let name = String::deserialize(d)?;
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(_, d)| *d)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "dia da semana inválido: {name:?} (use monday … sunday)"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn sp() -> TimeZone {
        TimeZone::get("America/Sao_Paulo").unwrap()
    }

    fn manaus() -> TimeZone {
        TimeZone::get("America/Manaus").unwrap()
    }

    #[test]
    fn weekday_business_hours_half_open() {
        let hours = LegalHours::default();
        // Monday 2026-11-23, São Paulo is UTC−3.
        assert!(!hours.allowed(ts("2026-11-23T10:59:59Z"), &sp())); // 07:59:59
        assert!(hours.allowed(ts("2026-11-23T11:00:00Z"), &sp())); // 08:00
        assert!(hours.allowed(ts("2026-11-23T20:59:00Z"), &sp())); // 17:59
        assert!(hours.allowed(ts("2026-11-23T20:59:59Z"), &sp())); // 17:59:59
        assert!(!hours.allowed(ts("2026-11-23T21:00:00Z"), &sp())); // 18:00
        assert_eq!(
            hours.closed_because(ts("2026-11-23T21:00:00Z"), &sp()),
            Some(ClosedBecause::OutsideHours)
        );
    }

    #[test]
    fn weekends_are_closed() {
        let hours = LegalHours::default();
        // Saturday 2026-11-21 and Sunday 2026-11-22 at noon.
        for at in ["2026-11-21T15:00:00Z", "2026-11-22T15:00:00Z"] {
            assert!(!hours.allowed(ts(at), &sp()), "{at}");
        }
        assert_eq!(
            hours
                .closed_because(ts("2026-11-21T15:00:00Z"), &sp())
                .unwrap()
                .to_string(),
            "sem envios de cobrança em sábado"
        );
        // Saturday → Monday 08:00.
        assert_eq!(
            hours.next_allowed(ts("2026-11-21T15:00:00Z"), &sp()),
            Some(ts("2026-11-23T11:00:00Z"))
        );
    }

    #[test]
    fn consciencia_negra_2026_is_closed() {
        let hours = LegalHours::default();
        // Friday 2026-11-20 at 10:00 in São Paulo: a national holiday.
        let at = ts("2026-11-20T13:00:00Z");
        assert!(!hours.allowed(at, &sp()));
        assert_eq!(
            hours.closed_because(at, &sp()),
            Some(ClosedBecause::Holiday(
                "Dia Nacional de Zumbi e da Consciência Negra".into()
            ))
        );
        // Thursday evening → skips the holiday Friday and the weekend.
        assert_eq!(
            hours.next_allowed(ts("2026-11-19T22:00:00Z"), &sp()),
            Some(ts("2026-11-23T11:00:00Z"))
        );
        // The day before is an ordinary Thursday.
        assert!(hours.allowed(ts("2026-11-19T13:00:00Z"), &sp()));
    }

    #[test]
    fn provider_holidays_close_too() {
        let mut calendar = HolidayCalendar::default();
        calendar
            .custom
            .push((date(2026, 11, 24), "Aniversário da cidade".into()));
        let hours = LegalHours::weekdays(
            ClockTime::new(8, 0).unwrap(),
            ClockTime::new(18, 0).unwrap(),
            calendar,
            Zone::sao_paulo(),
        );
        assert!(!hours.allowed(ts("2026-11-24T13:00:00Z"), &sp()));
        assert_eq!(
            hours.next_allowed(ts("2026-11-23T21:30:00Z"), &sp()),
            Some(ts("2026-11-25T11:00:00Z"))
        );
    }

    #[test]
    fn manaus_is_an_hour_behind_sao_paulo() {
        let hours = LegalHours::default();
        // 11:30Z: 08:30 in São Paulo, 07:30 in Manaus.
        let morning = ts("2026-11-23T11:30:00Z");
        assert!(hours.allowed(morning, &sp()));
        assert!(!hours.allowed(morning, &manaus()));
        assert_eq!(
            hours.next_allowed(morning, &manaus()),
            Some(ts("2026-11-23T12:00:00Z"))
        );
        // 21:30Z: 18:30 in São Paulo (closed), 17:30 in Manaus (open).
        let evening = ts("2026-11-23T21:30:00Z");
        assert!(!hours.allowed(evening, &sp()));
        assert!(hours.allowed(evening, &manaus()));
        assert_eq!(
            hours.next_window(evening, &manaus()),
            Some(LegalWindow {
                start: evening,
                end: ts("2026-11-23T22:00:00Z")
            })
        );
    }

    #[test]
    fn next_window_inside_and_before_hours() {
        let hours = LegalHours::default();
        let at = ts("2026-11-23T14:15:00Z"); // 11:15 local
        assert_eq!(
            hours.next_window(at, &sp()),
            Some(LegalWindow {
                start: at,
                end: ts("2026-11-23T21:00:00Z")
            })
        );
        let early = ts("2026-11-23T09:00:00Z"); // 06:00 local
        assert_eq!(
            hours.next_window(early, &sp()),
            Some(LegalWindow {
                start: ts("2026-11-23T11:00:00Z"),
                end: ts("2026-11-23T21:00:00Z")
            })
        );
    }

    #[test]
    fn adjacent_intervals_merge_and_split_days_work() {
        let t = |h, m| ClockTime::new(h, m).unwrap();
        let hours = LegalHours::new(
            vec![
                WeeklyInterval {
                    weekday: Weekday::Monday,
                    start: t(8, 0),
                    end: t(12, 0),
                },
                WeeklyInterval {
                    weekday: Weekday::Monday,
                    start: t(12, 0),
                    end: t(14, 0),
                },
                WeeklyInterval {
                    weekday: Weekday::Monday,
                    start: t(16, 0),
                    end: t(18, 0),
                },
                WeeklyInterval {
                    weekday: Weekday::Saturday,
                    start: t(8, 0),
                    end: t(14, 0),
                },
            ],
            HolidayCalendar::default(),
            Zone::sao_paulo(),
        )
        .unwrap();
        let at = ts("2026-11-23T14:00:00Z"); // Monday 11:00
        assert_eq!(
            hours.next_window(at, &sp()).unwrap().end,
            ts("2026-11-23T17:00:00Z") // 14:00
        );
        // Monday 15:00 → the 16:00 interval.
        assert_eq!(
            hours.next_allowed(ts("2026-11-23T18:00:00Z"), &sp()),
            Some(ts("2026-11-23T19:00:00Z"))
        );
        // Saturday morning is open with this configuration.
        assert!(hours.allowed(ts("2026-11-21T12:00:00Z"), &sp()));
        // Monday 19:00 → Saturday 08:00.
        assert_eq!(
            hours.next_allowed(ts("2026-11-23T22:00:00Z"), &sp()),
            Some(ts("2026-11-28T11:00:00Z"))
        );
    }

    #[test]
    fn end_of_day_interval() {
        let hours = LegalHours::new(
            vec![WeeklyInterval {
                weekday: Weekday::Monday,
                start: ClockTime::new(20, 0).unwrap(),
                end: ClockTime::END_OF_DAY,
            }],
            HolidayCalendar::default(),
            Zone::sao_paulo(),
        )
        .unwrap();
        assert!(hours.allowed(ts("2026-11-24T02:59:59Z"), &sp())); // Mon 23:59:59
        assert!(!hours.allowed(ts("2026-11-24T03:00:00Z"), &sp())); // Tue 00:00
        assert_eq!(
            hours.next_window(ts("2026-11-23T12:00:00Z"), &sp()),
            Some(LegalWindow {
                start: ts("2026-11-23T23:00:00Z"),
                end: ts("2026-11-24T03:00:00Z")
            })
        );
    }

    #[test]
    fn configuration_errors_are_portuguese() {
        assert_eq!(
            LegalHours::new(vec![], HolidayCalendar::default(), Zone::sao_paulo()),
            Err(LegalHoursError::NoIntervals)
        );
        let inverted = WeeklyInterval {
            weekday: Weekday::Monday,
            start: ClockTime::new(18, 0).unwrap(),
            end: ClockTime::new(8, 0).unwrap(),
        };
        let err = LegalHours::new(
            vec![inverted],
            HolidayCalendar::default(),
            Zone::sao_paulo(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "horário permitido vazio ou invertido: 18:00 a 08:00"
        );
        assert!(Zone::get("America/Atlantida").is_err());
        assert!(ClockTime::parse("25:00").is_err());
        assert!(ClockTime::parse("8h").is_err());
        assert!(ClockTime::parse("08:60").is_err());
        assert_eq!(ClockTime::parse("24:00"), Ok(ClockTime::END_OF_DAY));
        assert_eq!(ClockTime::parse("8:05").unwrap().to_string(), "08:05");
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let hours = LegalHours::default();
        let json = serde_json::to_value(&hours).unwrap();
        assert_eq!(json["time_zone"], "America/Sao_Paulo");
        assert_eq!(json["intervals"][0]["weekday"], "monday");
        assert_eq!(json["intervals"][0]["start"], "08:00");
        let back: LegalHours = serde_json::from_value(json).unwrap();
        assert_eq!(back, hours);
        let bad = serde_json::json!({"intervals": [], "time_zone": "America/Manaus"});
        assert!(serde_json::from_value::<LegalHours>(bad).is_err());
        let bad_zone = serde_json::json!({"intervals": [], "time_zone": "Mars/Olympus"});
        let err = serde_json::from_value::<LegalHours>(bad_zone).unwrap_err();
        assert!(
            err.to_string().contains("fuso horário desconhecido"),
            "{err}"
        );
    }

    #[test]
    fn nothing_allowed_gives_none() {
        let mut calendar = HolidayCalendar::default();
        let mut d = date(2026, 11, 23);
        for _ in 0..=MAX_SEARCH_DAYS + 7 {
            calendar.custom.push((d, "Recesso".into()));
            d = d.tomorrow().unwrap();
        }
        let hours = LegalHours::weekdays(
            ClockTime::new(8, 0).unwrap(),
            ClockTime::new(18, 0).unwrap(),
            calendar,
            Zone::sao_paulo(),
        );
        assert_eq!(hours.next_allowed(ts("2026-11-23T12:00:00Z"), &sp()), None);
    }
}
