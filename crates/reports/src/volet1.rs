//! The volet 1 indicators: the actions a CRT held in a period, by field and theme, and who
//! took part.

use std::collections::BTreeMap;

use crt_core::volet1::{Participants, Volet1Action, Volet1Field, Volet1Status, Volet1Theme};
use serde::Serialize;

use super::period::Period;

/// Actions and their participants, for one field or one theme.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Held {
    /// Actions held.
    pub actions: usize,
    /// Sessions over those actions (a cycle counts each session).
    pub sessions: usize,
    pub participants: Participants,
}

impl Held {
    fn add(&mut self, action: &Volet1Action) {
        self.actions += 1;
        self.sessions += action.sessions.unwrap_or(1) as usize;
        let (sum, one) = (&mut self.participants, &action.participants);
        sum.older_people_at_home += one.older_people_at_home;
        sum.ehpad_residents += one.ehpad_residents;
        sum.caregivers += one.caregivers;
        sum.professionals += one.professionals;
        sum.volet2_beneficiaries += one.volet2_beneficiaries;
    }
}

/// The volet 1 actions whose day is in the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Volet1 {
    /// Every action held, all fields together.
    pub held: Held,
    pub planned: usize,
    pub cancelled: usize,
    /// Hours of action held, where the DUI gave a length.
    pub hours: f64,
    /// Held actions that offered free transport to the older people living at home.
    pub transport_offered: usize,
    /// The three fields, always listed, with what was held in each.
    pub by_field: BTreeMap<Volet1Field, Held>,
    /// The themes of the actions held.
    pub by_theme: BTreeMap<Volet1Theme, Held>,
    /// How many of the three fields had at least one action held (the calls ask for all
    /// three).
    pub fields_covered: usize,
}

pub fn volet1(actions: &[Volet1Action], period: Period) -> Volet1 {
    let mut figures = Volet1 {
        held: Held::default(),
        planned: 0,
        cancelled: 0,
        hours: 0.0,
        transport_offered: 0,
        by_field: Volet1Field::ALL
            .iter()
            .map(|f| (*f, Held::default()))
            .collect(),
        by_theme: BTreeMap::new(),
        fields_covered: 0,
    };
    let mut minutes = 0u64;
    for action in actions.iter().filter(|a| period.contains(a.held_on)) {
        match action.status {
            Volet1Status::Planned => figures.planned += 1,
            Volet1Status::Cancelled => figures.cancelled += 1,
            Volet1Status::Held => {
                figures.held.add(action);
                figures
                    .by_field
                    .entry(action.field)
                    .or_default()
                    .add(action);
                figures
                    .by_theme
                    .entry(action.theme)
                    .or_default()
                    .add(action);
                minutes += u64::from(action.duration_minutes.unwrap_or(0));
                if action.transport_offered == Some(true) {
                    figures.transport_offered += 1;
                }
            }
        }
    }
    figures.hours = minutes as f64 / 60.0;
    figures.fields_covered = figures.by_field.values().filter(|h| h.actions > 0).count();
    figures
}
