//! Business hours: for each weekday any number of intervals (a lunch break is two intervals), the
//! provider's holidays, all read in the provider's time zone.
//!
//! An interval is half-open, `[start, end)` in local wall-clock time; `24:00` ends it at midnight.
//! A shift that crosses midnight is written as two intervals on two days ("sex 22:00-24:00" and
//! "sab 00:00-06:00"); touching intervals are merged, so the queue stays open across them. A
//! holiday closes the whole local day. A local time is the first instant the wall clock reaches
//! it: a time skipped by a DST gap means the end of the gap, a repeated time its first
//! occurrence. So every answer is a real instant and the open periods of consecutive days join
//! exactly at midnight.
//!
//! `weekly: None` means always open (24/7, holidays included): a provider that wants holidays to
//! close a round-the-clock queue writes `00:00-24:00` for every day instead.

use std::collections::BTreeMap;
use std::fmt;

use balcao_domain::br::HolidayCalendar;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// The time zone of a provider that did not choose one (Brasília time).
pub const DEFAULT_TIME_ZONE: &str = "America/Sao_Paulo";

/// How many days ahead the searches look: a queue with no opening in a year is treated as never
/// opening (instead of looping forever).
pub const SEARCH_DAYS: i32 = 366;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("horário inválido: {0:?} (use HH:MM, por exemplo 08:00)")]
    BadTime(String),
    #[error("intervalo inválido: {0:?} (use início-fim, por exemplo 08:00-12:00)")]
    BadInterval(String),
    #[error("intervalo vazio: {start} a {end} (o fim deve ser depois do início)")]
    EmptyInterval { start: String, end: String },
    #[error("intervalos sobrepostos na {day}: {first} e {second}")]
    Overlap {
        day: &'static str,
        first: String,
        second: String,
    },
    #[error("dia da semana desconhecido: {0:?} (use seg, ter, qua, qui, sex, sab ou dom)")]
    BadDay(String),
    #[error("linha sem horários: {0:?} (por exemplo: seg-sex 08:00-12:00,13:00-18:00)")]
    Malformed(String),
    #[error("fuso horário desconhecido: {0:?} (por exemplo: America/Sao_Paulo)")]
    BadTimeZone(String),
}

/// One open period of a day, `[start, end)` in local time; `end` is [`Time::MAX`] for `24:00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    start: Time,
    end: Time,
}

impl Interval {
    /// `end` must be after `start`; pass [`Time::MAX`] to mean midnight at the end of the day.
    pub fn new(start: Time, end: Time) -> Result<Interval, HoursError> {
        if end <= start {
            return Err(HoursError::EmptyInterval {
                start: format_time(start),
                end: format_time(end),
            });
        }
        Ok(Interval { start, end })
    }

    /// "08:00-12:00" (also "8h-12h", "08h00 - 12h00", "13:00-24:00").
    pub fn parse(text: &str) -> Result<Interval, HoursError> {
        let (start, end) = text
            .split_once(['-', '–', '—'])
            .ok_or_else(|| HoursError::BadInterval(text.trim().to_owned()))?;
        Interval::new(parse_time(start)?, parse_time(end)?)
    }

    pub fn start(&self) -> Time {
        self.start
    }

    /// [`Time::MAX`] when the interval runs to midnight.
    pub fn end(&self) -> Time {
        self.end
    }

    pub fn ends_at_midnight(&self) -> bool {
        self.end == Time::MAX
    }

    /// Whether the local time `t` is inside.
    pub fn contains(&self, t: Time) -> bool {
        self.start <= t && (t < self.end || self.ends_at_midnight())
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", format_time(self.start), format_time(self.end))
    }
}

impl Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (format_time(self.start), format_time(self.end)).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Interval, D::Error> {
        let (start, end) = <(String, String)>::deserialize(d)?;
        let parsed = parse_time(&start).and_then(|s| Interval::new(s, parse_time(&end)?));
        parsed.map_err(serde::de::Error::custom)
    }
}

/// "08:00", "8:00", "08h00", "8h", "8", "08:00:30" (as forms and databases send it), and "24:00"
/// (as [`Time::MAX`], for interval ends).
pub fn parse_time(text: &str) -> Result<Time, HoursError> {
    let bad = || HoursError::BadTime(text.trim().to_owned());
    let t = text.trim().to_lowercase();
    let (h, rest) = match t.split_once([':', 'h']) {
        Some((h, rest)) => (h, if rest.is_empty() { "00" } else { rest }),
        None => (t.as_str(), "00"),
    };
    let (m, sec) = rest.split_once(':').unwrap_or((rest, "00"));
    let two_digits = |s: &str| {
        (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i8>().ok())
            .flatten()
    };
    let hour = two_digits(h).ok_or_else(bad)?;
    let minute = two_digits(m).filter(|_| m.len() == 2).ok_or_else(bad)?;
    let second = two_digits(sec).filter(|_| sec.len() == 2).ok_or_else(bad)?;
    if (hour, minute, second) == (24, 0, 0) {
        return Ok(Time::MAX);
    }
    Time::new(hour, minute, second, 0).map_err(|_| bad())
}

/// "08:00"; "24:00" for [`Time::MAX`]; seconds only when there are some.
pub fn format_time(t: Time) -> String {
    if t == Time::MAX {
        "24:00".to_owned()
    } else if t.second() == 0 && t.subsec_nanosecond() == 0 {
        format!("{:02}:{:02}", t.hour(), t.minute())
    } else {
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    }
}

const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_SHORT_PT: [&str; 7] = ["seg", "ter", "qua", "qui", "sex", "sab", "dom"];
const DAY_NAMES_PT: [&str; 7] = [
    "segunda-feira",
    "terça-feira",
    "quarta-feira",
    "quinta-feira",
    "sexta-feira",
    "sábado",
    "domingo",
];

/// Index (Monday = 0) of a day written as "mon", "seg", "sáb", "Domingo"...
fn day_index(text: &str) -> Option<usize> {
    let folded = crate::text::fold(text);
    let word = folded.split(' ').next().unwrap_or("");
    if let Some(i) = DAY_KEYS.iter().position(|k| *k == word) {
        return Some(i);
    }
    let prefix: String = word.chars().take(3).collect();
    DAY_SHORT_PT
        .iter()
        .position(|k| *k == prefix && word.len() >= 3)
}

/// The Portuguese name of a weekday ("segunda-feira"), for messages and errors.
pub fn weekday_name_pt(day: Weekday) -> &'static str {
    DAY_NAMES_PT[day.to_monday_zero_offset() as usize]
}

/// The open intervals of each weekday, Monday first; each day's intervals are sorted, disjoint
/// and not touching (touching ones are merged). A day without intervals is closed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct WeeklyHours {
    days: [Vec<Interval>; 7],
}

impl WeeklyHours {
    /// Sorts each day, merges touching intervals and refuses overlapping ones.
    pub fn new(days: [Vec<Interval>; 7]) -> Result<WeeklyHours, HoursError> {
        let mut out: [Vec<Interval>; 7] = Default::default();
        for (i, mut intervals) in days.into_iter().enumerate() {
            intervals.sort();
            let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
            for iv in intervals {
                match merged.last_mut() {
                    Some(last) if iv.start < last.end => {
                        return Err(HoursError::Overlap {
                            day: DAY_NAMES_PT[i],
                            first: last.to_string(),
                            second: iv.to_string(),
                        });
                    }
                    Some(last) if iv.start == last.end => last.end = iv.end,
                    _ => merged.push(iv),
                }
            }
            out[i] = merged;
        }
        Ok(WeeklyHours { days: out })
    }

    /// The same intervals on each of the given days (Monday = 0), other days closed.
    pub fn uniform(days: &[Weekday], intervals: &[Interval]) -> Result<WeeklyHours, HoursError> {
        let mut all: [Vec<Interval>; 7] = Default::default();
        for d in days {
            all[d.to_monday_zero_offset() as usize].extend_from_slice(intervals);
        }
        WeeklyHours::new(all)
    }

    pub fn day(&self, day: Weekday) -> &[Interval] {
        &self.days[day.to_monday_zero_offset() as usize]
    }

    pub fn days(&self) -> &[Vec<Interval>; 7] {
        &self.days
    }

    /// Closed every day.
    pub fn is_never_open(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    /// Reads the compact form: one entry per line (or separated by `;`), the days then the
    /// intervals, e.g. "seg-sex 08:00-12:00,13:00-18:00; sab 08:00-12:00". Days are "seg".."dom"
    /// (or "mon".."sun"), a range "seg-sex" or a list "sab,dom"; "fechado" closes them. Days not
    /// mentioned are closed.
    pub fn parse_text(text: &str) -> Result<WeeklyHours, HoursError> {
        let mut all: [Vec<Interval>; 7] = Default::default();
        for entry in text.split(['\n', ';']) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let (days_part, rest) = entry
                .split_once(char::is_whitespace)
                .ok_or_else(|| HoursError::Malformed(entry.to_owned()))?;
            let days = parse_days(days_part)?;
            let rest = rest.trim();
            let intervals: Vec<Interval> = if crate::text::fold(rest) == "fechado" {
                Vec::new()
            } else {
                rest.split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(Interval::parse)
                    .collect::<Result<_, _>>()?
            };
            for d in days {
                all[d].extend_from_slice(&intervals);
            }
        }
        WeeklyHours::new(all)
    }

    /// The compact form [`WeeklyHours::parse_text`] reads, consecutive equal days grouped
    /// ("seg-sex 08:00-12:00,13:00-18:00\nsab 08:00-12:00"); closed days are left out.
    pub fn to_text(&self) -> String {
        let mut lines = Vec::new();
        let mut i = 0;
        while i < 7 {
            let mut j = i;
            while j + 1 < 7 && self.days[j + 1] == self.days[i] {
                j += 1;
            }
            if !self.days[i].is_empty() {
                let days = if i == j {
                    DAY_SHORT_PT[i].to_owned()
                } else {
                    format!("{}-{}", DAY_SHORT_PT[i], DAY_SHORT_PT[j])
                };
                let intervals: Vec<String> = self.days[i].iter().map(|iv| iv.to_string()).collect();
                lines.push(format!("{days} {}", intervals.join(",")));
            }
            i = j + 1;
        }
        lines.join("\n")
    }
}

/// "seg", "seg-sex", "sab,dom" → day indexes (Monday = 0).
fn parse_days(text: &str) -> Result<Vec<usize>, HoursError> {
    let bad = || HoursError::BadDay(text.to_owned());
    let mut out = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        match part.split_once(['-', '–']) {
            Some((a, b)) => {
                let (a, b) = (day_index(a).ok_or_else(bad)?, day_index(b).ok_or_else(bad)?);
                if b < a {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(day_index(part).ok_or_else(bad)?),
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// JSON form: `{"mon":[["08:00","12:00"],["13:00","18:00"]],...,"sun":[]}`. Reading also accepts
/// the Portuguese keys ("seg".."dom") and missing days (closed).
impl Serialize for WeeklyHours {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(7))?;
        for (key, intervals) in DAY_KEYS.iter().zip(&self.days) {
            map.serialize_entry(key, intervals)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for WeeklyHours {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<WeeklyHours, D::Error> {
        use serde::de::Error;
        let raw = BTreeMap::<String, Vec<Interval>>::deserialize(d)?;
        let mut all: [Vec<Interval>; 7] = Default::default();
        for (key, intervals) in raw {
            let i =
                day_index(&key).ok_or_else(|| D::Error::custom(HoursError::BadDay(key.clone())))?;
            all[i].extend(intervals);
        }
        WeeklyHours::new(all).map_err(D::Error::custom)
    }
}

/// When a queue or an agent works: weekly hours in a time zone, minus holidays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusinessHours {
    /// Serialised as its IANA name ("America/Sao_Paulo").
    #[serde(with = "jiff::fmt::serde::tz::required")]
    pub time_zone: TimeZone,
    /// `None`: always open, holidays included.
    #[serde(default)]
    pub weekly: Option<WeeklyHours>,
    #[serde(default)]
    pub holidays: HolidayCalendar,
}

/// An open period as instants, `[start, end)`.
type Span = (Timestamp, Timestamp);

impl BusinessHours {
    /// Hours in the time zone named `time_zone` (IANA, e.g. "America/Manaus").
    pub fn new(
        time_zone: &str,
        weekly: Option<WeeklyHours>,
        holidays: HolidayCalendar,
    ) -> Result<BusinessHours, HoursError> {
        let time_zone =
            TimeZone::get(time_zone).map_err(|_| HoursError::BadTimeZone(time_zone.to_owned()))?;
        Ok(BusinessHours {
            time_zone,
            weekly,
            holidays,
        })
    }

    /// Open at every instant.
    pub fn always_open(time_zone: TimeZone) -> BusinessHours {
        BusinessHours {
            time_zone,
            weekly: None,
            holidays: HolidayCalendar::default(),
        }
    }

    /// The IANA name of the time zone, when it has one.
    pub fn time_zone_name(&self) -> Option<&str> {
        self.time_zone.iana_name()
    }

    fn local_date(&self, at: Timestamp) -> Date {
        self.time_zone.to_datetime(at).date()
    }

    /// The first instant whose local wall-clock time reaches `time` on `date`: the first
    /// occurrence of a repeated time, the end of the gap for a time DST skips.
    fn instant(&self, date: Date, time: Time) -> Option<Timestamp> {
        let ambiguous = self
            .time_zone
            .to_ambiguous_timestamp(date.to_datetime(time));
        match ambiguous.offset() {
            AmbiguousOffset::Gap { .. } => {
                // `earlier` reads the time with the offset after the gap: an instant just
                // before the transition, which is the instant wanted.
                let before = ambiguous.earlier().ok()?;
                let transition = self.time_zone.following(before).next()?;
                Some(transition.timestamp())
            }
            AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Fold { .. } => {
                ambiguous.earlier().ok()
            }
        }
    }

    /// The open periods of one local day, in order (none on a holiday).
    fn spans_on(&self, weekly: &WeeklyHours, date: Date) -> Vec<Span> {
        let intervals = weekly.day(date.weekday());
        if intervals.is_empty() || self.holidays.is_holiday(date) {
            return Vec::new();
        }
        intervals
            .iter()
            .filter_map(|iv| {
                let start = self.instant(date, iv.start)?;
                let end = if iv.ends_at_midnight() {
                    self.instant(date.tomorrow().ok()?, Time::midnight())?
                } else {
                    self.instant(date, iv.end)?
                };
                // A whole interval inside a DST gap has no instants.
                (end > start).then_some((start, end))
            })
            .collect()
    }

    /// Open periods from the local day before `at` (one may still be running) through the
    /// search horizon, in order.
    fn spans_from(&self, weekly: &WeeklyHours, at: Timestamp) -> impl Iterator<Item = Span> {
        let first = self.local_date(at).yesterday().unwrap_or(Date::MIN);
        (0..=SEARCH_DAYS + 1)
            .map_while(move |i| first.checked_add(i.days()).ok())
            .flat_map(move |date| self.spans_on(weekly, date))
    }

    pub fn is_open(&self, at: Timestamp) -> bool {
        let Some(weekly) = &self.weekly else {
            return true;
        };
        let today = self.local_date(at);
        let yesterday = today.yesterday().unwrap_or(today);
        [yesterday, today]
            .into_iter()
            .flat_map(|d| self.spans_on(weekly, d))
            .any(|(start, end)| start <= at && at < end)
    }

    /// The first instant at or after `at` when it is open: `at` itself when open now; `None` when
    /// it does not open within [`SEARCH_DAYS`].
    pub fn next_opening(&self, at: Timestamp) -> Option<Timestamp> {
        let Some(weekly) = &self.weekly else {
            return Some(at);
        };
        self.spans_from(weekly, at)
            .find(|&(_, end)| end > at)
            .map(|(start, _)| start.max(at))
    }

    /// The first instant at or after `at` when it is closed: `at` itself when closed now; `None`
    /// when it stays open through the search horizon (always open: national holidays close any
    /// weekly schedule at least once a year). Periods that touch (a shift to 24:00 followed by
    /// one from 00:00) count as one.
    pub fn next_closing(&self, at: Timestamp) -> Option<Timestamp> {
        let weekly = self.weekly.as_ref()?;
        let mut spans = self
            .spans_from(weekly, at)
            .skip_while(|&(_, end)| end <= at);
        let Some((start, mut end)) = spans.next() else {
            return Some(at);
        };
        if start > at {
            return Some(at);
        }
        for (next_start, next_end) in spans {
            if next_start > end {
                return Some(end);
            }
            end = end.max(next_end);
        }
        None
    }

    /// The name of the holiday that closes the local day of `at`, if any (only when the hours
    /// follow a weekly schedule: always-open hours ignore holidays).
    pub fn holiday_at(&self, at: Timestamp) -> Option<String> {
        self.weekly.as_ref()?;
        self.holidays.holiday(self.local_date(at))
    }

    /// When `opening` is, in words, relative to `now` in this time zone: "agora", "hoje às 13:00",
    /// "amanhã às 08:00", "segunda-feira às 08:00" (within a week) or "em 16/02 às 08:00". For
    /// the `{{horario}}` variable of the out-of-hours message.
    pub fn describe_opening(&self, opening: Timestamp, now: Timestamp) -> String {
        if opening <= now {
            return "agora".to_owned();
        }
        let local = self.time_zone.to_datetime(opening);
        let (date, time) = (local.date(), local.time());
        let hour = format_time(
            Time::new(time.hour(), time.minute(), 0, 0).unwrap_or_else(|_| Time::midnight()),
        );
        let today = self.local_date(now);
        let days_ahead = (date - today).get_days();
        match days_ahead {
            0 => format!("hoje às {hour}"),
            1 => format!("amanhã às {hour}"),
            2..=6 => format!("{} às {hour}", weekday_name_pt(date.weekday())),
            _ => format!("em {:02}/{:02} às {hour}", date.day(), date.month()),
        }
    }
}

/// Open for both at `at`: a conversation goes to an agent only when the queue and the agent are
/// both working.
pub fn both_open(a: &BusinessHours, b: &BusinessHours, at: Timestamp) -> bool {
    a.is_open(at) && b.is_open(at)
}

/// The first instant at or after `at` when both are open, within [`SEARCH_DAYS`].
pub fn next_common_opening(
    a: &BusinessHours,
    b: &BusinessHours,
    at: Timestamp,
) -> Option<Timestamp> {
    let horizon = at
        .checked_add(jiff::SignedDuration::from_hours(
            24 * i64::from(SEARCH_DAYS),
        ))
        .ok()?;
    let mut t = at;
    while t <= horizon {
        t = a.next_opening(t)?;
        if b.is_open(t) {
            return Some(t);
        }
        t = b.next_opening(t)?;
        if a.is_open(t) {
            return Some(t);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};
    use proptest::prelude::*;

    fn iv(text: &str) -> Interval {
        Interval::parse(text).unwrap()
    }

    fn weekly(text: &str) -> WeeklyHours {
        WeeklyHours::parse_text(text).unwrap()
    }

    fn hours(text: &str) -> BusinessHours {
        BusinessHours::new(
            DEFAULT_TIME_ZONE,
            Some(weekly(text)),
            HolidayCalendar::default(),
        )
        .unwrap()
    }

    /// An instant given as São Paulo local time (no DST there since 2019).
    fn sp(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
        date(y, m, d)
            .at(h, min, 0, 0)
            .in_tz(DEFAULT_TIME_ZONE)
            .unwrap()
            .timestamp()
    }

    #[test]
    fn parses_times_in_the_forms_people_write() {
        assert_eq!(parse_time("08:00").unwrap(), time(8, 0, 0, 0));
        assert_eq!(parse_time(" 8:30 ").unwrap(), time(8, 30, 0, 0));
        assert_eq!(parse_time("08h00").unwrap(), time(8, 0, 0, 0));
        assert_eq!(parse_time("18h").unwrap(), time(18, 0, 0, 0));
        assert_eq!(parse_time("7").unwrap(), time(7, 0, 0, 0));
        assert_eq!(parse_time("24:00").unwrap(), Time::MAX);
        assert_eq!(parse_time("24:00:00").unwrap(), Time::MAX);
        assert_eq!(parse_time("08:15:30").unwrap(), time(8, 15, 30, 0));
        assert_eq!(format_time(time(8, 15, 30, 0)), "08:15:30");
        for bad in [
            "",
            "25:00",
            "08:60",
            "8:5",
            "24:01",
            "ab:cd",
            "08:00:0",
            "08:00:60",
            "-1",
            "8h30:00:00",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn intervals_must_end_after_they_start() {
        assert!(Interval::parse("12:00-08:00").is_err());
        assert!(Interval::parse("08:00-08:00").is_err());
        assert!(Interval::parse("0800").is_err());
        let night = iv("22:00-24:00");
        assert!(night.ends_at_midnight());
        assert!(night.contains(time(23, 59, 59, 999_999_999)));
        assert_eq!(night.to_string(), "22:00-24:00");
        let err = Interval::parse("12:00-08:00").unwrap_err().to_string();
        assert!(err.contains("o fim deve ser depois do início"), "{err}");
    }

    #[test]
    fn weekly_text_round_trip_and_grouping() {
        let w = weekly("seg-sex 08:00-12:00,13:00-18:00; sáb 08:00-12:00");
        assert_eq!(
            w.day(Weekday::Wednesday),
            &[iv("08:00-12:00"), iv("13:00-18:00")]
        );
        assert_eq!(w.day(Weekday::Saturday), &[iv("08:00-12:00")]);
        assert!(w.day(Weekday::Sunday).is_empty());
        assert_eq!(
            w.to_text(),
            "seg-sex 08:00-12:00,13:00-18:00\nsab 08:00-12:00"
        );
        let listed = weekly("sab,dom 09:00-13:00\nseg fechado");
        assert_eq!(listed.day(Weekday::Sunday), &[iv("09:00-13:00")]);
        assert!(listed.day(Weekday::Monday).is_empty());
    }

    #[test]
    fn weekly_refuses_overlaps_and_merges_touching_intervals() {
        let err = WeeklyHours::parse_text("seg 08:00-12:00,11:00-13:00").unwrap_err();
        assert_eq!(
            err,
            HoursError::Overlap {
                day: "segunda-feira",
                first: "08:00-12:00".into(),
                second: "11:00-13:00".into()
            }
        );
        let merged = weekly("ter 12:00-18:00,08:00-12:00");
        assert_eq!(merged.day(Weekday::Tuesday), &[iv("08:00-18:00")]);
        assert!(matches!(
            WeeklyHours::parse_text("xyz 08:00-12:00"),
            Err(HoursError::BadDay(_))
        ));
        assert!(matches!(
            WeeklyHours::parse_text("sex-seg 08:00-12:00"),
            Err(HoursError::BadDay(_))
        ));
        assert!(matches!(
            WeeklyHours::parse_text("seg"),
            Err(HoursError::Malformed(_))
        ));
    }

    #[test]
    fn weekly_json_form() {
        let w = weekly("seg 08:00-12:00,13:00-18:00; dom 10:00-24:00");
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(
            json,
            r#"{"mon":[["08:00","12:00"],["13:00","18:00"]],"tue":[],"wed":[],"thu":[],"fri":[],"sat":[],"sun":[["10:00","24:00"]]}"#
        );
        assert_eq!(serde_json::from_str::<WeeklyHours>(&json).unwrap(), w);
        let pt: WeeklyHours = serde_json::from_str(
            r#"{"seg":[["08:00","12:00"],["13:00","18:00"]],"dom":[["10:00","24:00"]]}"#,
        )
        .unwrap();
        assert_eq!(pt, w);
        assert!(serde_json::from_str::<WeeklyHours>(r#"{"mon":[["12:00","08:00"]]}"#).is_err());
        assert!(serde_json::from_str::<WeeklyHours>(r#"{"xyz":[]}"#).is_err());
    }

    #[test]
    fn business_hours_json_keeps_the_iana_name() {
        let h = hours("seg-sex 08:00-18:00");
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(json["time_zone"], "America/Sao_Paulo");
        let back: BusinessHours = serde_json::from_value(json).unwrap();
        assert_eq!(back, h);
        let always: BusinessHours =
            serde_json::from_str(r#"{"time_zone":"America/Manaus"}"#).unwrap();
        assert_eq!(always.weekly, None);
        assert_eq!(always.time_zone_name(), Some("America/Manaus"));
        assert!(matches!(
            BusinessHours::new("Brasil/Nowhere", None, HolidayCalendar::default()),
            Err(HoursError::BadTimeZone(_))
        ));
    }

    #[test]
    fn lunch_break_closes_the_queue() {
        // 2026-03-02 is a Monday.
        let h = hours("seg-sex 08:00-12:00,13:00-18:00");
        assert!(!h.is_open(sp(2026, 3, 2, 7, 59)));
        assert!(h.is_open(sp(2026, 3, 2, 8, 0)));
        assert!(h.is_open(sp(2026, 3, 2, 11, 59)));
        assert!(!h.is_open(sp(2026, 3, 2, 12, 0)));
        assert!(!h.is_open(sp(2026, 3, 2, 12, 30)));
        assert!(h.is_open(sp(2026, 3, 2, 13, 0)));
        assert!(!h.is_open(sp(2026, 3, 2, 18, 0)));
        assert_eq!(
            h.next_opening(sp(2026, 3, 2, 12, 30)),
            Some(sp(2026, 3, 2, 13, 0))
        );
        assert_eq!(
            h.next_opening(sp(2026, 3, 2, 9, 0)),
            Some(sp(2026, 3, 2, 9, 0))
        );
        assert_eq!(
            h.next_closing(sp(2026, 3, 2, 9, 0)),
            Some(sp(2026, 3, 2, 12, 0))
        );
        assert_eq!(
            h.next_closing(sp(2026, 3, 2, 12, 30)),
            Some(sp(2026, 3, 2, 12, 30))
        );
        // Friday evening → Monday morning.
        assert_eq!(
            h.next_opening(sp(2026, 3, 6, 18, 0)),
            Some(sp(2026, 3, 9, 8, 0))
        );
    }

    #[test]
    fn holidays_close_the_whole_day() {
        let mut h = hours("seg-dom 08:00-18:00");
        // Natal 2026 is a Friday.
        assert!(!h.is_open(sp(2026, 12, 25, 10, 0)));
        assert_eq!(
            h.holiday_at(sp(2026, 12, 25, 10, 0)).as_deref(),
            Some("Natal")
        );
        assert_eq!(
            h.next_opening(sp(2026, 12, 24, 18, 0)),
            Some(sp(2026, 12, 26, 8, 0))
        );
        // Carnaval only when the provider closes on pontos facultativos.
        assert!(h.is_open(sp(2026, 2, 16, 10, 0)));
        h.holidays.include_optional = true;
        assert!(!h.is_open(sp(2026, 2, 16, 10, 0)));
        assert_eq!(
            h.next_opening(sp(2026, 2, 16, 10, 0)),
            Some(sp(2026, 2, 18, 8, 0))
        );
        h.holidays
            .custom
            .push((date(2026, 3, 19), "São José".into()));
        assert!(!h.is_open(sp(2026, 3, 19, 10, 0)));
    }

    #[test]
    fn always_open_ignores_holidays() {
        let h = BusinessHours::new(DEFAULT_TIME_ZONE, None, HolidayCalendar::default()).unwrap();
        let t = sp(2026, 12, 25, 3, 0);
        assert!(h.is_open(t));
        assert_eq!(h.next_opening(t), Some(t));
        assert_eq!(h.next_closing(t), None);
        assert_eq!(h.holiday_at(t), None);
    }

    #[test]
    fn never_open_has_no_opening() {
        let h = BusinessHours::new(
            DEFAULT_TIME_ZONE,
            Some(WeeklyHours::default()),
            HolidayCalendar::default(),
        )
        .unwrap();
        let t = sp(2026, 3, 2, 10, 0);
        assert!(!h.is_open(t));
        assert_eq!(h.next_opening(t), None);
        assert_eq!(h.next_closing(t), Some(t));
    }

    #[test]
    fn shifts_across_midnight_join() {
        let h = hours("sex 22:00-24:00; sab 00:00-06:00");
        assert!(h.is_open(sp(2026, 3, 6, 23, 0)));
        assert!(h.is_open(sp(2026, 3, 7, 0, 0)));
        assert!(h.is_open(sp(2026, 3, 7, 5, 59)));
        assert_eq!(
            h.next_closing(sp(2026, 3, 6, 23, 0)),
            Some(sp(2026, 3, 7, 6, 0))
        );
        // 24/7 written out closes on holidays only: Sexta-feira Santa, then Natal.
        let all = hours("seg-dom 00:00-24:00");
        assert_eq!(
            all.next_closing(sp(2026, 3, 6, 23, 0)),
            Some(sp(2026, 4, 3, 0, 0))
        );
        assert_eq!(
            all.next_closing(sp(2026, 12, 24, 10, 0)),
            Some(sp(2026, 12, 25, 0, 0))
        );
    }

    #[test]
    fn time_zone_matters() {
        // 08:00 in Manaus is 09:00 in São Paulo.
        let manaus = BusinessHours::new(
            "America/Manaus",
            Some(weekly("seg-sex 08:00-18:00")),
            HolidayCalendar::default(),
        )
        .unwrap();
        assert!(!manaus.is_open(sp(2026, 3, 2, 8, 30)));
        assert!(manaus.is_open(sp(2026, 3, 2, 9, 0)));
        assert_eq!(
            manaus.next_opening(sp(2026, 3, 2, 8, 30)),
            Some(sp(2026, 3, 2, 9, 0))
        );
    }

    #[test]
    fn dst_gap_and_fold() {
        let ny = |text: &str| {
            BusinessHours::new(
                "America/New_York",
                Some(weekly(text)),
                HolidayCalendar::default(),
            )
            .unwrap()
        };
        let local = |y, m, d, h, min| {
            date(y, m, d)
                .at(h, min, 0, 0)
                .in_tz("America/New_York")
                .unwrap()
                .timestamp()
        };
        // 2026-03-08 (Sunday): 02:00–03:00 does not exist. An interval starting at 02:30 opens
        // at 03:00 EDT.
        let h = ny("dom 02:30-05:00");
        let before = local(2026, 3, 8, 1, 0);
        let opening = h.next_opening(before).unwrap();
        assert_eq!(opening, local(2026, 3, 8, 3, 0));
        assert_eq!(opening.duration_since(before).as_hours(), 1);
        // 2026-11-01 (Sunday): 01:00–02:00 happens twice; 00:00-01:30 closes at the first 01:30.
        let h = ny("dom 00:00-01:30");
        let start = local(2026, 11, 1, 0, 0);
        let close = h.next_closing(start).unwrap();
        assert_eq!(close.duration_since(start).as_mins(), 90);
        assert!(!h.is_open(close));
        // Whole days join across the DST change.
        let h = ny("sab,dom,seg 00:00-24:00");
        let sat = local(2026, 3, 7, 12, 0);
        let close = h.next_closing(sat).unwrap();
        assert_eq!(close, local(2026, 3, 10, 0, 0));
        // Sat 12:00 → Tue 00:00 is 60 hours minus the hour skipped.
        assert_eq!(close.duration_since(sat).as_hours(), 59);
    }

    #[test]
    fn both_open_needs_queue_and_agent() {
        let queue = hours("seg-sex 08:00-18:00");
        let agent = hours("seg-sex 13:00-22:00");
        assert!(!both_open(&queue, &agent, sp(2026, 3, 2, 10, 0)));
        assert!(both_open(&queue, &agent, sp(2026, 3, 2, 14, 0)));
        assert!(!both_open(&queue, &agent, sp(2026, 3, 2, 19, 0)));
        assert_eq!(
            next_common_opening(&queue, &agent, sp(2026, 3, 2, 9, 0)),
            Some(sp(2026, 3, 2, 13, 0))
        );
        assert_eq!(
            next_common_opening(&queue, &agent, sp(2026, 3, 2, 19, 0)),
            Some(sp(2026, 3, 3, 13, 0))
        );
        let weekend = hours("sab-dom 08:00-18:00");
        assert_eq!(
            next_common_opening(&queue, &weekend, sp(2026, 3, 2, 9, 0)),
            None
        );
    }

    #[test]
    fn describes_the_next_opening_in_portuguese() {
        let h = hours("seg-sex 08:00-18:00");
        let now = sp(2026, 3, 2, 12, 0); // Monday
        assert_eq!(h.describe_opening(now, now), "agora");
        assert_eq!(
            h.describe_opening(sp(2026, 3, 2, 13, 0), now),
            "hoje às 13:00"
        );
        assert_eq!(
            h.describe_opening(sp(2026, 3, 3, 8, 0), now),
            "amanhã às 08:00"
        );
        assert_eq!(
            h.describe_opening(sp(2026, 3, 6, 8, 0), now),
            "sexta-feira às 08:00"
        );
        assert_eq!(
            h.describe_opening(sp(2026, 3, 16, 8, 0), now),
            "em 16/03 às 08:00"
        );
    }

    fn arb_interval() -> impl Strategy<Value = Interval> {
        (0i32..24 * 4, 1i32..=24 * 4).prop_filter_map("non-empty", |(a, len)| {
            let start = a * 15;
            let end = start + len * 15;
            if end > 24 * 60 {
                return None;
            }
            let to_time = |m: i32| {
                if m == 24 * 60 {
                    Time::MAX
                } else {
                    Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).unwrap()
                }
            };
            Interval::new(to_time(start), to_time(end)).ok()
        })
    }

    /// Weekly hours built from random intervals, overlapping ones dropped.
    fn arb_weekly() -> impl Strategy<Value = WeeklyHours> {
        proptest::collection::vec(proptest::collection::vec(arb_interval(), 0..4), 7).prop_map(
            |days| {
                let mut all: [Vec<Interval>; 7] = Default::default();
                for (i, mut intervals) in days.into_iter().enumerate() {
                    intervals.sort();
                    for iv in intervals {
                        if all[i]
                            .last()
                            .is_none_or(|last: &Interval| iv.start >= last.end)
                        {
                            all[i].push(iv);
                        }
                    }
                }
                WeeklyHours::new(all).unwrap()
            },
        )
    }

    fn arb_zone() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("America/Sao_Paulo"),
            Just("America/Manaus"),
            Just("America/Noronha"),
            Just("America/New_York"),
            Just("Europe/Lisbon"),
        ]
    }

    /// Instants from 2017 to 2030 (São Paulo still had DST until 2019), half of them within a
    /// day and a half of a DST change (São Paulo's happened at midnight, New York's at 02:00).
    fn arb_instant() -> impl Strategy<Value = Timestamp> {
        let transitions = [
            1_541_300_400i64, // 2018-11-04 00:00 BRT → 01:00 BRST
            1_550_368_800,    // 2019-02-17 00:00 BRST → 2019-02-16 23:00 BRT
            1_772_953_200,    // 2026-03-08 02:00 EST → 03:00 EDT
            1_793_512_800,    // 2026-11-01 02:00 EDT → 01:00 EST
        ];
        prop_oneof![
            (1_483_228_800i64..1_893_456_000).prop_map(|s| Timestamp::from_second(s).unwrap()),
            (0usize..4, -36 * 3600i64..36 * 3600).prop_map(move |(i, offset)| {
                Timestamp::from_second(transitions[i] + offset).unwrap()
            }),
        ]
    }

    proptest! {
        #[test]
        fn weekly_text_and_json_round_trip(w in arb_weekly()) {
            prop_assert_eq!(&WeeklyHours::parse_text(&w.to_text()).unwrap(), &w);
            let json = serde_json::to_string(&w).unwrap();
            prop_assert_eq!(&serde_json::from_str::<WeeklyHours>(&json).unwrap(), &w);
        }

        #[test]
        fn opening_and_closing_agree_with_is_open(
            w in arb_weekly(), zone in arb_zone(), at in arb_instant(), optional in any::<bool>()
        ) {
            let holidays = HolidayCalendar {
                include_optional: optional,
                custom: vec![(date(2019, 6, 3), "Aniversário da cidade".into())],
            };
            let h = BusinessHours::new(zone, Some(w), holidays).unwrap();
            let open = h.is_open(at);
            match h.next_opening(at) {
                Some(t) => {
                    prop_assert!(t >= at);
                    prop_assert!(h.is_open(t));
                    prop_assert_eq!(t == at, open);
                    // Closed just before the opening (unless open at `at` already).
                    if t > at {
                        let just_before = t - jiff::SignedDuration::from_nanos(1);
                        prop_assert!(!h.is_open(just_before));
                    }
                }
                None => prop_assert!(!open),
            }
            if let Some(t) = h.next_closing(at) {
                prop_assert!(t >= at);
                prop_assert!(!h.is_open(t));
                prop_assert_eq!(t == at, !open);
                if t > at {
                    let just_before = t - jiff::SignedDuration::from_nanos(1);
                    prop_assert!(h.is_open(just_before));
                }
            }
        }

        #[test]
        fn is_open_matches_the_local_clock_outside_dst_changes(
            w in arb_weekly(), at in arb_instant()
        ) {
            // Manaus has no DST: open exactly when the local weekday's intervals contain the time.
            let h = BusinessHours::new("America/Manaus", Some(w.clone()), HolidayCalendar::default())
                .unwrap();
            let local = h.time_zone.to_datetime(at);
            let expected = !h.holidays.is_holiday(local.date())
                && w.day(local.date().weekday()).iter().any(|iv| iv.contains(local.time()));
            prop_assert_eq!(h.is_open(at), expected);
        }
    }
}
