//! The span a report covers and the delays it measures: what the per-concern counts and the
//! totals share.

use chrono::NaiveDate;
use serde::Serialize;

/// A period, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    pub fn days(&self) -> impl Iterator<Item = NaiveDate> {
        self.from.iter_days().take_while(move |day| *day <= self.to)
    }
}

/// How long a step of admission took, in days, over the accompaniments that went through
/// it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delay {
    pub count: usize,
    pub median_days: Option<f64>,
    pub mean_days: Option<f64>,
    pub max_days: Option<i64>,
}

impl Delay {
    pub(crate) fn of(mut days: Vec<i64>) -> Delay {
        days.sort_unstable();
        let count = days.len();
        let median_days = match count {
            0 => None,
            n if n % 2 == 1 => Some(days[n / 2] as f64),
            n => Some((days[n / 2 - 1] + days[n / 2]) as f64 / 2.0),
        };
        Delay {
            count,
            median_days,
            mean_days: (count > 0).then(|| days.iter().sum::<i64>() as f64 / count as f64),
            max_days: days.last().copied(),
        }
    }
}
