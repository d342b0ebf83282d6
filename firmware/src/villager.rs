//! The villager's side of the screen: the service guide and the county's notices for the
//! idle screen, and, after a card tap, that person's applications in plain words.
//!
//! Pure conversions from the domain and the outbox to `kiosk-ui`'s view structs (the UI
//! does not know the domain); the lookup itself is one outbox query by keyed hash
//! (`people`), so nobody else's application can appear.

use kiosk_domain::definition::{Rule, ServiceDefinition};
use kiosk_ui::{BoardState, GuideView, NoticeView, PersonRow};
use store_and_forward::AppState;
use store_and_forward::outbox::Summary;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::catalog::Catalog;

/// The guide of every service offered: what it is, who may apply, which papers to bring.
pub fn guide(catalog: &Catalog) -> Vec<GuideView> {
    catalog
        .services
        .iter()
        .map(|def| guide_entry(catalog, def))
        .collect()
}

fn guide_entry(catalog: &Catalog, def: &ServiceDefinition) -> GuideView {
    let (who_zh, who_en) = who_may_apply(catalog, def);
    GuideView {
        id: def.id.clone(),
        title_zh: def.title.zh.clone(),
        title_en: def.title.en.clone(),
        what_zh: def.summary.zh.clone(),
        what_en: def.summary.en.clone(),
        who_zh,
        who_en,
        papers: def
            .scans
            .iter()
            .map(|s| {
                let with_help = |label: &str, help: &str, open: &str, close: &str| {
                    let help = help.trim().trim_end_matches(['.', '。']);
                    if help.is_empty() {
                        label.to_owned()
                    } else {
                        format!("{label}{open}{help}{close}")
                    }
                };
                let optional = !s.required;
                (
                    with_help(&s.label.zh, &s.help.zh, "（", "）")
                        + if optional { "（如有）" } else { "" },
                    with_help(&s.label.en, &s.help.en, " (", ")")
                        + if optional { " (if any)" } else { "" },
                )
            })
            .collect(),
    }
}

/// The age limits of the definition's rules, with the county's values, one line each.
fn who_may_apply(catalog: &Catalog, def: &ServiceDefinition) -> (String, String) {
    let mut zh = Vec::new();
    let mut en = Vec::new();
    for rule in &def.rules {
        if let Rule::MinAge {
            min_years_param, ..
        } = rule
            && let Some(param) = def.params.get(min_years_param)
        {
            let value = catalog
                .params
                .get(min_years_param)
                .copied()
                .unwrap_or(param.default);
            let label_zh = param.label.zh.replace("（周岁）", "");
            let label_en = param.label.en.replace(" (years)", "");
            zh.push(format!("{label_zh}：{value} 周岁"));
            en.push(format!("{label_en}: {value} years"));
        }
    }
    if zh.is_empty() {
        return (
            "本县居民都可以办理".into(),
            "Any resident of the county".into(),
        );
    }
    (zh.join("\n"), en.join("\n"))
}

/// The notices in force, from the JSON bodies the outbox keeps (`county_api::Notice`). An
/// unreadable one is skipped (and logged), never shown raw.
pub fn notices(bodies: &[String]) -> Vec<NoticeView> {
    bodies
        .iter()
        .filter_map(
            |body| match serde_json::from_str::<county_api::Notice>(body) {
                Ok(n) => Some(NoticeView {
                    title_zh: n.title.zh,
                    title_en: n.title.en,
                    body_zh: n.body.zh,
                    body_en: n.body.en,
                    published: OffsetDateTime::parse(&n.published_at, &Rfc3339)
                        .map(|t| format!("{}月{}日", u8::from(t.month()), t.day()))
                        .unwrap_or_default(),
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "a stored notice is not readable; not shown");
                    None
                }
            },
        )
        .collect()
}

/// One card holder's applications, newest first, each in plain words; dates in `now`'s
/// offset (the station's local time).
pub fn person_rows(catalog: &Catalog, apps: &[Summary], now: OffsetDateTime) -> Vec<PersonRow> {
    apps.iter()
        .map(|a| {
            let (state, zh, en) = plain_words(a);
            let updated = a.updated_at.to_offset(now.offset());
            let service = catalog.service(&a.service);
            PersonRow {
                tracking_number: a.tracking_number.clone(),
                service_zh: service.map_or(a.service.clone(), |d| d.title.zh.clone()),
                service_en: service.map_or(a.service.clone(), |d| d.title.en.clone()),
                state,
                words_zh: zh,
                words_en: en,
                updated_zh: format!("{}月{}日", u8::from(updated.month()), updated.day()),
                updated_en: format!("{:02}-{:02}", u8::from(updated.month()), updated.day()),
            }
        })
        .collect()
}

/// Where an application stands, as a villager would say it.
fn plain_words(a: &Summary) -> (BoardState, String, String) {
    let (state, zh, en) = match (a.state, a.outcome.as_deref()) {
        (AppState::Queued | AppState::Sending, _) => (
            BoardState::Waiting,
            "已保存在服务站，联网后会发到县里",
            "Saved at the station; it goes to the county when the link is up",
        ),
        (AppState::Delivered, _) => (
            BoardState::Delivered,
            "县里已收到，正在审核",
            "The county has it and is checking it",
        ),
        (AppState::Decided, Some("rejected")) => {
            let reason = a.reason.as_deref().unwrap_or("").trim();
            let (zh, en) = if reason.is_empty() {
                (
                    "没有通过，请到服务站问原因".to_owned(),
                    "Not approved; ask at the station why".to_owned(),
                )
            } else {
                (
                    format!("没有通过：{reason}"),
                    format!("Not approved: {reason}"),
                )
            };
            return (BoardState::Rejected, zh, en);
        }
        (AppState::Decided, Some("more_papers")) => (
            BoardState::Problem,
            "还要补交材料，请到服务站问工作人员",
            "More papers are needed; please ask at the station",
        ),
        (AppState::Decided, _) => (
            BoardState::Decided,
            "已批准，证件正在办理，好了会通知您",
            "Approved; you will be told when it is ready",
        ),
        (AppState::Ready, _) => (
            BoardState::Ready,
            "已批准，请到服务站领取",
            "Approved, ready for pick-up at the station",
        ),
        (AppState::HandedOver, _) => (BoardState::HandedOver, "已领取", "Picked up"),
        (AppState::Returned, _) => (
            BoardState::Problem,
            "需要重新办理，请到服务站问工作人员",
            "It needs redoing; please ask at the station",
        ),
    };
    (state, zh.to_owned(), en.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn summary(state: AppState, outcome: Option<&str>, reason: Option<&str>) -> Summary {
        Summary {
            id: uuid::Uuid::nil(),
            tracking_number: "MZ-1".into(),
            service: "elderly-card".into(),
            masked_name: "玉*".into(),
            state,
            outcome: outcome.map(Into::into),
            reason: reason.map(Into::into),
            updated_at: datetime!(2026-06-09 10:00 +8),
        }
    }

    #[test]
    fn every_state_reads_as_plain_words() {
        let check = |s: Summary, zh: &str, en: &str| {
            let (_, z, e) = plain_words(&s);
            assert_eq!((z.as_str(), e.as_str()), (zh, en));
        };
        check(
            summary(AppState::Ready, Some("approved"), None),
            "已批准，请到服务站领取",
            "Approved, ready for pick-up at the station",
        );
        check(
            summary(AppState::Decided, Some("rejected"), Some("照片不清楚")),
            "没有通过：照片不清楚",
            "Not approved: 照片不清楚",
        );
        check(
            summary(AppState::Decided, Some("approved"), None),
            "已批准，证件正在办理，好了会通知您",
            "Approved; you will be told when it is ready",
        );
        check(
            summary(AppState::Queued, None, None),
            "已保存在服务站，联网后会发到县里",
            "Saved at the station; it goes to the county when the link is up",
        );
    }

    #[test]
    fn person_rows_name_the_service_and_keep_the_order() {
        let rows = person_rows(
            &Catalog::builtin(),
            &[
                summary(AppState::Ready, Some("approved"), None),
                summary(AppState::HandedOver, Some("approved"), None),
            ],
            datetime!(2026-06-10 08:00 +8),
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].service_zh, "老年人优待证");
        assert_eq!(rows[0].state, BoardState::Ready);
        assert_eq!(rows[1].words_zh, "已领取");
        assert_eq!(rows[0].updated_zh, "6月9日");
        assert_eq!(rows[0].updated_en, "06-09");
        // 2026-06-09 20:00 UTC is already the 10th at the station (UTC+8).
        let mut late = summary(AppState::Ready, Some("approved"), None);
        late.updated_at = datetime!(2026-06-09 20:00 UTC);
        let rows = person_rows(&Catalog::builtin(), &[late], datetime!(2026-06-10 08:00 +8));
        assert_eq!(rows[0].updated_zh, "6月10日");
    }

    #[test]
    fn the_guide_says_who_and_what_to_bring_with_county_values() {
        let mut catalog = Catalog::builtin();
        catalog.params.insert("min_age".into(), 65);
        let guide = guide(&catalog);
        let elderly = guide
            .iter()
            .find(|g| g.id == "elderly-card")
            .expect("the elderly card");
        assert!(elderly.who_zh.contains("65 周岁"), "{}", elderly.who_zh);
        assert!(elderly.who_en.contains("65 years"), "{}", elderly.who_en);
        assert!(
            elderly
                .papers
                .iter()
                .any(|(zh, _)| zh.starts_with("户口簿"))
        );
        assert!(elderly.what_zh.contains("请带齐"));
        let birth = guide
            .iter()
            .find(|g| g.id == "birth-permit")
            .expect("the birth permit");
        assert!(birth.who_zh.contains("20 周岁") && birth.who_zh.contains("22 周岁"));
    }

    /// The lookup a card tap makes: a real outbox with two people's applications, found by
    /// the station's keyed hash; each card sees its own only.
    #[test]
    fn a_card_finds_its_own_applications_only() {
        use store_and_forward::{NewApplication, Outbox};
        let dir = tempfile::tempdir().expect("a temporary directory");
        let keys = crate::people::PersonKeys::load_or_create(dir.path()).expect("person keys");
        let mut outbox = Outbox::open(&dir.path().join("outbox")).expect("the outbox opens");
        let now = datetime!(2026-06-09 10:00 +8);
        let county = sealing::PrivateKey::generate().public_key();
        for (id_number, service) in [
            ("532627195003120034", "elderly-card"),
            ("53262719950214002X", "birth-permit"),
        ] {
            outbox
                .submit(
                    NewApplication {
                        id: uuid::Uuid::now_v7(),
                        service: service.into(),
                        service_version: 1,
                        fields: Default::default(),
                        masked_name: "某*".into(),
                        person_keys: vec![keys.key(id_number)],
                        scans: Vec::new(),
                        clock: None,
                    },
                    &county,
                    now,
                )
                .expect("stored");
        }
        let catalog = Catalog::builtin();
        let mine = outbox
            .for_person(&keys.key("532627195003120034"))
            .expect("the lookup");
        let rows = person_rows(&catalog, &mine, now);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].service_zh, "老年人优待证");
        assert_eq!(rows[0].words_zh, "已保存在服务站，联网后会发到县里");
        let nobody = outbox
            .for_person(&keys.key("110101199003070011"))
            .expect("the lookup");
        assert!(nobody.is_empty());
    }

    #[test]
    fn notices_are_read_and_bad_ones_skipped() {
        let good = serde_json::to_string(&county_api::Notice {
            id: 1,
            version: 1,
            title: county_api::I18nText {
                zh: "停电".into(),
                en: "Power cut".into(),
            },
            body: county_api::I18nText {
                zh: "周六停电".into(),
                en: "No power on Saturday".into(),
            },
            published_at: "2026-06-09T08:00:00+08:00".into(),
            expires_at: None,
        })
        .expect("a notice serialises");
        let shown = notices(&[good, "{not json".into()]);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].title_en, "Power cut");
        assert_eq!(shown[0].published, "6月9日");
    }
}
