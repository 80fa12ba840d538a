//! The personalised support plan as a CDA document. No CI-SIS model exists for the PPCS:
//! the plan follows the CI-SIS minimal structuring (sections with titles, codes and
//! narrative), with the medico-social typeCode 80788-3 "projet personnalisé
//! d'accompagnement". Problems, goals and actions are three narrative sections that name
//! each other, so a reader can follow an action to the goal and the problem it serves.

use chrono::{NaiveTime, TimeZone};
use crt_core::CrtRecord;
use crt_core::identity::QualifiedIdentity;
use crt_core::record::{DocumentKind, PlanActionStatus, PlanDomain, Timestamp};

use super::write::{Cda, Header};
use super::{
    CdaModel, DocumentSet, RenderContext, RenderError, RenderedDocument, author, facility_type,
    practice_setting,
};

pub(super) fn render(
    record: &CrtRecord,
    identity: &QualifiedIdentity,
    context: &RenderContext,
) -> Result<RenderedDocument, RenderError> {
    let plan = record.plan.as_ref().ok_or(RenderError::Missing("plan"))?;
    let author = author(record, &plan.author)?;
    let local = &record.beneficiary.local_id;
    let versions = DocumentSet::of(record, DocumentKind::Plan)?;
    let set_id = versions.set_id(context);
    let id = versions.version_id(context, plan.version);
    let replaces = (plan.version > 1).then(|| versions.version_id(context, plan.version - 1));
    let local_patient_id = context.patient_id(local);
    let start = at_noon(plan.drawn_up_on, &record.source.updated_at);
    let review = plan
        .review_on
        .map(|d| at_noon(d, &record.source.updated_at));
    // The plan's date is when it was drawn up; its document time is the record's.
    let effective = record.source.updated_at;
    let mut cda = Cda::new(&id);
    cda.header(&Header {
        model: CdaModel::Plan,
        record,
        identity,
        id: &id,
        set_id: &set_id,
        local_patient_id: &local_patient_id,
        version: plan.version,
        effective_time: &effective,
        author,
        service_start: &start,
        service_stop: review.as_ref(),
        service_event: ("18776-5", "Plan de soins"),
        general_practitioner: record.general_practitioner(),
        replaces: replaces.as_ref(),
    });

    let name_of = |id: &str| {
        record
            .professional(id)
            .map(|p| format!("{} {}", p.given_name, p.family_name))
            .unwrap_or_else(|| id.to_string())
    };
    cda.open_section(
        &["1.2.250.1.213.1.1.2.132"],
        ("11450-4", "Liste des problèmes actifs"),
        "Besoins et problèmes",
    );
    let rows: Vec<(Option<String>, Vec<String>)> = plan
        .problems
        .iter()
        .map(|p| {
            (
                Some(format!("probleme-{}", p.id)),
                vec![p.label.clone(), domain_label(p.domain).into(), p.id.clone()],
            )
        })
        .collect();
    cda.table(&["Besoin ou problème", "Domaine", "Référence"], &rows);
    cda.close_section();

    cda.open_section(&[], ("61146-7", "Objectifs"), "Objectifs");
    let rows: Vec<(Option<String>, Vec<String>)> = plan
        .goals
        .iter()
        .map(|g| {
            (
                Some(format!("objectif-{}", g.id)),
                vec![
                    g.label.clone(),
                    g.problems.join(", "),
                    g.target_on
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_default(),
                    g.id.clone(),
                ],
            )
        })
        .collect();
    cda.table(&["Objectif", "Problèmes", "Échéance", "Référence"], &rows);
    cda.close_section();

    cda.open_section(&[], ("18776-5", "Plan de soins"), "Actions");
    let rows: Vec<(Option<String>, Vec<String>)> = plan
        .actions
        .iter()
        .map(|a| {
            (
                Some(format!("action-{}", a.id)),
                vec![
                    a.label.clone(),
                    a.goals.join(", "),
                    name_of(&a.responsible),
                    a.frequency.clone().unwrap_or_default(),
                    a.start_on.format("%d/%m/%Y").to_string(),
                    a.end_on
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_default(),
                    status_label(a.status).into(),
                ],
            )
        })
        .collect();
    cda.table(
        &[
            "Action",
            "Objectifs",
            "Responsable",
            "Fréquence",
            "Début",
            "Fin",
            "État",
        ],
        &rows,
    );
    cda.close_section();

    if !record.care_circle.is_empty() {
        cda.open_section(
            &[],
            ("85847-2", "Équipe de soins"),
            "Professionnels du cercle de soins",
        );
        let rows: Vec<(Option<String>, Vec<String>)> = record
            .care_circle
            .iter()
            .map(|p| {
                (
                    None,
                    vec![
                        format!("{} {}", p.given_name, p.family_name),
                        p.profession.author_specialty().display.to_string(),
                        p.mssante_address.clone().unwrap_or_default(),
                    ],
                )
            })
            .collect();
        cda.table(
            &["Professionnel", "Profession", "Messagerie sécurisée"],
            &rows,
        );
        cda.close_section();
    }
    cda.w.close("structuredBody").close("component");

    Ok(RenderedDocument {
        model: CdaModel::Plan,
        id,
        set_id,
        version: plan.version,
        replaces,
        effective_time: effective,
        service_start: start,
        service_stop: review,
        title: CdaModel::Plan.title().to_string(),
        author: author.clone(),
        structure_name: record.crt.name.clone(),
        structure_id_nat: record.crt.id_nat_struct(),
        practice_setting: practice_setting(),
        facility_type: facility_type(record.crt.porteur),
        ins: identity.ins.clone(),
        local_patient_id,
        patient: super::PatientInfo::of(identity),
        xml: cda.finish(),
    })
}

/// A calendar date as an instant, in the record's time zone.
fn at_noon(day: chrono::NaiveDate, zone_of: &Timestamp) -> Timestamp {
    zone_of
        .timezone()
        .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default()))
        .single()
        .unwrap_or(*zone_of)
}

fn domain_label(domain: PlanDomain) -> &'static str {
    match domain {
        PlanDomain::Health => "Santé",
        PlanDomain::Autonomy => "Autonomie",
        PlanDomain::Nutrition => "Nutrition",
        PlanDomain::Mobility => "Mobilité",
        PlanDomain::Cognition => "Cognition",
        PlanDomain::Mood => "Humeur",
        PlanDomain::SocialLife => "Vie sociale",
        PlanDomain::Housing => "Logement",
        PlanDomain::Caregiver => "Aidant",
        PlanDomain::Safety => "Sécurité",
        PlanDomain::Administrative => "Administratif",
    }
}

fn status_label(status: PlanActionStatus) -> &'static str {
    match status {
        PlanActionStatus::Planned => "prévue",
        PlanActionStatus::InProgress => "en cours",
        PlanActionStatus::Done => "réalisée",
        PlanActionStatus::Cancelled => "annulée",
    }
}
