//! Brazil's national holiday calendar, computed (not stored): the fixed dates of Lei 662/1949 and
//! its amendments, Tiradentes, Nossa Senhora Aparecida (Lei 6.802/1980), Consciência Negra
//! (national from 2024, Lei 14.759/2023), and the dates that follow Easter. Carnaval and Corpus
//! Christi are not holidays by law but "pontos facultativos" most providers close on, so they are
//! [`HolidayKind::Optional`] and a [`HolidayCalendar`] includes them only when asked to.
//! Quarta-feira de Cinzas (a half day) is left out on purpose: closing the whole day would be wrong.

use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The first year Consciência Negra (11-20) is a national holiday (Lei 14.759/2023).
pub const CONSCIENCIA_NEGRA_SINCE: i16 = 2024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidayKind {
    /// A national holiday by law.
    National,
    /// A "ponto facultativo" (Carnaval, Corpus Christi): closing is the provider's choice.
    Optional,
}

/// One day of the national calendar. `name` is what subscribers and agents read (pt-BR).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Holiday {
    pub date: Date,
    pub name: &'static str,
    pub kind: HolidayKind,
}

const FIXED: [(i8, i8, &str); 8] = [
    (1, 1, "Confraternização Universal"),
    (4, 21, "Tiradentes"),
    (5, 1, "Dia do Trabalho"),
    (9, 7, "Independência do Brasil"),
    (10, 12, "Nossa Senhora Aparecida"),
    (11, 2, "Finados"),
    (11, 15, "Proclamação da República"),
    (12, 25, "Natal"),
];

const CONSCIENCIA_NEGRA: &str = "Dia Nacional de Zumbi e da Consciência Negra";

/// Days after Easter Sunday (negative: before), name and kind of the movable dates.
const MOVABLE: [(i32, &str, HolidayKind); 4] = [
    (-48, "Carnaval", HolidayKind::Optional),
    (-47, "Carnaval", HolidayKind::Optional),
    (-2, "Sexta-feira Santa", HolidayKind::National),
    (60, "Corpus Christi", HolidayKind::Optional),
];

/// Easter Sunday of a Gregorian year (the anonymous "Meeus/Jones/Butcher" algorithm). `None` only
/// for years jiff cannot represent.
pub fn easter_sunday(year: i16) -> Option<Date> {
    // Euclidean division keeps the algorithm right for the proleptic calendar's negative years.
    let y = i32::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::new(year, month as i8, day as i8).ok()
}

/// Every national holiday and optional day of `year`, sorted by date (Carnaval's two days are two
/// entries; when Sexta-feira Santa falls on Tiradentes both are listed, Tiradentes first). Empty
/// for years jiff cannot represent.
pub fn national_holidays(year: i16) -> Vec<Holiday> {
    let mut out: Vec<Holiday> = FIXED
        .iter()
        .filter_map(|&(month, day, name)| {
            Some(Holiday {
                date: Date::new(year, month, day).ok()?,
                name,
                kind: HolidayKind::National,
            })
        })
        .collect();
    if year >= CONSCIENCIA_NEGRA_SINCE
        && let Ok(date) = Date::new(year, 11, 20)
    {
        out.push(Holiday {
            date,
            name: CONSCIENCIA_NEGRA,
            kind: HolidayKind::National,
        });
    }
    if let Some(easter) = easter_sunday(year) {
        for &(offset, name, kind) in &MOVABLE {
            if let Ok(date) = easter.checked_add(offset.days()) {
                out.push(Holiday { date, name, kind });
            }
        }
    }
    out.sort_by_key(|h| h.date);
    out
}

/// The national holiday or optional day on `date`, if any.
pub fn national_holiday_on(date: Date) -> Option<Holiday> {
    national_holidays(date.year())
        .into_iter()
        .find(|h| h.date == date)
}

/// A provider's calendar: the national holidays, optionally the pontos facultativos, and the
/// provider's own dates (municipal holidays, the company's anniversary...).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidayCalendar {
    /// Close on Carnaval and Corpus Christi too.
    #[serde(default)]
    pub include_optional: bool,
    /// The provider's own dates and their names.
    #[serde(default)]
    pub custom: Vec<(Date, String)>,
}

impl HolidayCalendar {
    /// The name of the holiday on `date`, if the provider is closed that day. A national name wins
    /// over a custom one on the same day (both close it; the law's name is the one people expect).
    pub fn holiday(&self, date: Date) -> Option<String> {
        if let Some(h) = national_holiday_on(date)
            && (h.kind == HolidayKind::National || self.include_optional)
        {
            return Some(h.name.to_owned());
        }
        self.custom
            .iter()
            .find(|(d, _)| *d == date)
            .map(|(_, name)| name.clone())
    }

    pub fn is_holiday(&self, date: Date) -> bool {
        self.holiday(date).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{Weekday, date};
    use proptest::prelude::*;

    #[test]
    fn known_easter_dates() {
        assert_eq!(easter_sunday(2024), Some(date(2024, 3, 31)));
        assert_eq!(easter_sunday(2025), Some(date(2025, 4, 20)));
        assert_eq!(easter_sunday(2026), Some(date(2026, 4, 5)));
        assert_eq!(easter_sunday(2027), Some(date(2027, 3, 28)));
        // Extremes of the Gregorian range: earliest and latest possible Easter.
        assert_eq!(easter_sunday(1818), Some(date(1818, 3, 22)));
        assert_eq!(easter_sunday(2038), Some(date(2038, 4, 25)));
        assert_eq!(easter_sunday(2000), Some(date(2000, 4, 23)));
    }

    #[test]
    fn movable_dates_of_2026() {
        let all = national_holidays(2026);
        let on = |d: Date| all.iter().find(|h| h.date == d).copied();
        let carnaval_mon = on(date(2026, 2, 16)).unwrap();
        let carnaval_tue = on(date(2026, 2, 17)).unwrap();
        assert_eq!(carnaval_mon.name, "Carnaval");
        assert_eq!(carnaval_tue.kind, HolidayKind::Optional);
        assert_eq!(
            on(date(2026, 2, 18)),
            None,
            "Quarta-feira de Cinzas is not closed"
        );
        let good_friday = on(date(2026, 4, 3)).unwrap();
        assert_eq!(
            (good_friday.name, good_friday.kind),
            ("Sexta-feira Santa", HolidayKind::National)
        );
        let corpus = on(date(2026, 6, 4)).unwrap();
        assert_eq!(
            (corpus.name, corpus.kind),
            ("Corpus Christi", HolidayKind::Optional)
        );
    }

    #[test]
    fn fixed_dates_and_count() {
        let all = national_holidays(2025);
        let names: Vec<(Date, &str)> = all.iter().map(|h| (h.date, h.name)).collect();
        assert!(names.contains(&(date(2025, 1, 1), "Confraternização Universal")));
        assert!(names.contains(&(date(2025, 4, 21), "Tiradentes")));
        assert!(names.contains(&(date(2025, 9, 7), "Independência do Brasil")));
        assert!(names.contains(&(date(2025, 12, 25), "Natal")));
        // 8 fixed + Consciência Negra + Carnaval ×2 + Sexta-feira Santa + Corpus Christi.
        assert_eq!(all.len(), 13);
        assert_eq!(national_holidays(2023).len(), 12);
    }

    #[test]
    fn consciencia_negra_only_from_2024() {
        assert_eq!(national_holiday_on(date(2023, 11, 20)), None);
        let h = national_holiday_on(date(2024, 11, 20)).unwrap();
        assert_eq!(h.name, CONSCIENCIA_NEGRA);
        assert_eq!(h.kind, HolidayKind::National);
        assert!(national_holiday_on(date(2030, 11, 20)).is_some());
    }

    #[test]
    fn calendar_includes_optional_days_only_when_asked() {
        let mut cal = HolidayCalendar::default();
        assert_eq!(cal.holiday(date(2026, 2, 16)), None);
        assert_eq!(
            cal.holiday(date(2026, 4, 3)).as_deref(),
            Some("Sexta-feira Santa")
        );
        assert!(!cal.is_holiday(date(2026, 6, 4)));
        cal.include_optional = true;
        assert_eq!(cal.holiday(date(2026, 2, 16)).as_deref(), Some("Carnaval"));
        assert!(cal.is_holiday(date(2026, 6, 4)));
        assert!(!cal.is_holiday(date(2026, 6, 5)));
    }

    #[test]
    fn calendar_custom_dates() {
        let cal = HolidayCalendar {
            include_optional: false,
            custom: vec![
                (date(2026, 1, 25), "Aniversário de São Paulo".into()),
                (date(2026, 12, 25), "Confraternização da empresa".into()),
            ],
        };
        assert_eq!(
            cal.holiday(date(2026, 1, 25)).as_deref(),
            Some("Aniversário de São Paulo")
        );
        assert!(
            !cal.is_holiday(date(2027, 1, 25)),
            "custom dates are not yearly"
        );
        assert_eq!(cal.holiday(date(2026, 12, 25)).as_deref(), Some("Natal"));
    }

    #[test]
    fn calendar_serde_round_trip() {
        let cal = HolidayCalendar {
            include_optional: true,
            custom: vec![(date(2026, 3, 19), "São José".into())],
        };
        let json = serde_json::to_string(&cal).unwrap();
        assert_eq!(
            json,
            r#"{"include_optional":true,"custom":[["2026-03-19","São José"]]}"#
        );
        let back: HolidayCalendar = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cal);
        let empty: HolidayCalendar = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, HolidayCalendar::default());
    }

    proptest! {
        #[test]
        fn easter_is_a_sunday_between_march_22_and_april_25(year in 1583i16..=9999) {
            let easter = easter_sunday(year).unwrap();
            prop_assert_eq!(easter.weekday(), Weekday::Sunday);
            prop_assert_eq!(easter.year(), year);
            prop_assert!(easter >= date(year, 3, 22) && easter <= date(year, 4, 25));
        }

        #[test]
        fn holidays_are_sorted_and_in_their_year(year in 1900i16..=2200) {
            let all = national_holidays(year);
            // `<=`: Sexta-feira Santa falls on Tiradentes some years (2000, 2079); both are listed.
            prop_assert!(all.windows(2).all(|w| w[0].date <= w[1].date));
            prop_assert!(all.iter().all(|h| h.date.year() == year));
            let good_friday = all.iter().find(|h| h.name == "Sexta-feira Santa").unwrap();
            prop_assert_eq!(good_friday.date.weekday(), Weekday::Friday);
            let carnaval: Vec<_> = all.iter().filter(|h| h.name == "Carnaval").collect();
            prop_assert_eq!(carnaval[0].date.weekday(), Weekday::Monday);
            prop_assert_eq!(carnaval[1].date.weekday(), Weekday::Tuesday);
            let corpus = all.iter().find(|h| h.name == "Corpus Christi").unwrap();
            prop_assert_eq!(corpus.date.weekday(), Weekday::Thursday);
        }
    }
}
