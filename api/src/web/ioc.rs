//! The IOC dashboard: `GET /web/ioc`, for leaders, auditors and administrators only. On-time
//! rates and overdue counts by agency and by procedure over the last 30 days (the engine's
//! `statistics`, the same figures as `GET /statistics`) and the directives' statistics by
//! agency (`directive_statistics`), as horizontal bar charts drawn as SVG on the server.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use motcua_engine::directive::engine::AssignmentQuery;
use motcua_engine::StatsRow;

use super::svg::{bar_chart, Bar};
use super::{vn_date, LoggedIn, WebError};
use crate::http::stats::filter_of;
use crate::http::AppState;

/// The routes of this page group.
pub fn router() -> Router<AppState> {
    Router::new().route("/web/ioc", get(dashboard))
}

const GREEN: &str = "#1a7f37";
const AMBER: &str = "#9a6700";
const RED: &str = "#c0392b";

fn rate_text(r: &StatsRow) -> String {
    match r.on_time_rate() {
        Some(rate) => format!("{:.0} %", rate * 100.0),
        None => "chưa có hồ sơ xong".to_owned(),
    }
}

fn rate_bar(label: String, r: &StatsRow) -> Bar {
    let rate = r.on_time_rate().unwrap_or(0.0) * 100.0;
    Bar {
        label,
        value: rate,
        text: rate_text(r),
        colour: if rate >= 90.0 {
            GREEN
        } else if rate >= 70.0 {
            AMBER
        } else {
            RED
        },
    }
}

fn overdue_bar(label: String, r: &StatsRow) -> Bar {
    Bar {
        label,
        value: r.overdue as f64,
        text: r.overdue.to_string(),
        colour: RED,
    }
}

async fn dashboard(State(state): State<AppState>, user: LoggedIn) -> Result<Response, WebError> {
    if !user.sees_ioc() {
        return Err(WebError::forbidden());
    }
    let now = state.engine.now();
    let filter = filter_of(now, None, None, None, None)?;
    let stats = state.engine.statistics(&filter).await?;
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for d in state.engine.definitions().await? {
        names.insert(d.key.clone(), d.name.unwrap_or(d.key));
    }
    let directory = state.engine.agencies();
    let agency_name = |code: &str| {
        directory
            .get(code)
            .map(|a| a.name.clone())
            .unwrap_or_else(|| code.to_owned())
    };
    let agency = |r: &StatsRow| match &r.agency {
        Some(code) => agency_name(code),
        None => "(không rõ)".into(),
    };
    // Directive assignments run as instances too; they have their own chart below.
    let dossier_rows = |rows: &[StatsRow]| -> Vec<StatsRow> {
        rows.iter()
            .filter(|r| {
                r.definition_key.as_deref() != Some(motcua_engine::directive::PROCESS_KEY)
                    && r.agency.is_some()
            })
            .cloned()
            .collect()
    };
    let by_agency = dossier_rows(&stats.agencies);
    let by_procedure = dossier_rows(&stats.rows);
    let procedure = |r: &StatsRow| {
        let key = r.definition_key.clone().unwrap_or_default();
        names.get(&key).cloned().unwrap_or(key)
    };
    let max_overdue = |rows: &[StatsRow]| rows.iter().map(|r| r.overdue).max().unwrap_or(0).max(1);
    let agency_rate = bar_chart(
        "Tỷ lệ giải quyết đúng hạn theo cơ quan",
        &by_agency
            .iter()
            .map(|r| rate_bar(agency(r), r))
            .collect::<Vec<_>>(),
        100.0,
    );
    let agency_overdue = bar_chart(
        "Hồ sơ quá hạn theo cơ quan",
        &by_agency
            .iter()
            .map(|r| overdue_bar(agency(r), r))
            .collect::<Vec<_>>(),
        max_overdue(&by_agency) as f64,
    );
    let procedure_rate = bar_chart(
        "Tỷ lệ giải quyết đúng hạn theo thủ tục",
        &by_procedure
            .iter()
            .map(|r| rate_bar(procedure(r), r))
            .collect::<Vec<_>>(),
        100.0,
    );
    let procedure_overdue = bar_chart(
        "Hồ sơ quá hạn theo thủ tục",
        &by_procedure
            .iter()
            .map(|r| overdue_bar(procedure(r), r))
            .collect::<Vec<_>>(),
        max_overdue(&by_procedure) as f64,
    );
    let directives = state
        .engine
        .directive_statistics(&AssignmentQuery::default(), now)
        .await?;
    let directive_bars: Vec<Bar> = directives
        .by_agency
        .iter()
        .map(|(agency, c)| {
            let rate = c.on_time_rate();
            Bar {
                label: agency_name(agency),
                value: rate.unwrap_or(0.0) * 100.0,
                text: format!(
                    "{} · {} quá hạn",
                    rate.map(|r| format!("{:.0} % đúng hạn", r * 100.0))
                        .unwrap_or_else(|| "chưa hoàn thành".into()),
                    c.overdue
                ),
                colour: if c.overdue > 0 { RED } else { GREEN },
            }
        })
        .collect();
    let directive_chart = bar_chart(
        "Ý kiến chỉ đạo: tỷ lệ hoàn thành đúng hạn theo cơ quan",
        &directive_bars,
        100.0,
    );
    let t = &stats.total;
    let safe = minijinja::Value::from_safe_string;
    state.web.render(
        "ioc.html",
        minijinja::context! {
            title => "Điều hành (IOC)",
            user => user.header(),
            from => vn_date(stats.from),
            to => vn_date(stats.to),
            total => minijinja::context! {
                received => t.received,
                done => t.done_on_time + t.done_late,
                rate => rate_text(t),
                overdue => t.overdue,
            },
            agency_rate => safe(agency_rate),
            agency_overdue => safe(agency_overdue),
            procedure_rate => safe(procedure_rate),
            procedure_overdue => safe(procedure_overdue),
            directives => minijinja::context! {
                in_progress => directives.total.in_progress,
                due_soon => directives.total.due_soon,
                overdue => directives.total.overdue,
                done_on_time => directives.total.done_on_time,
                done_late => directives.total.done_late,
            },
            directive_chart => safe(directive_chart),
        },
    )
}
